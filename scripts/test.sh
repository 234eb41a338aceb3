#!/usr/bin/env bash
# Runs the whole test suite with ctest (build first with scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${BUILD_DIR:-build}"
export CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime
export CCACHE_BASEDIR="$PWD"
export CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/ccache}"
if [ ! -d ../shared ] && [ -z "${ANGELSLIM_SHARED:-}" ]; then
  echo "[test] the fixtures folder ../shared (next to the project root) is missing" >&2
  exit 1
fi
cmake --build "$BUILD_DIR" -j"$(nproc)"
cd "$BUILD_DIR"
ctest --output-on-failure -j"${CTEST_JOBS:-2}" "$@"
