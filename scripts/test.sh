#!/usr/bin/env bash
# Runs the whole test suite with ctest (build first with scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${BUILD_DIR:-build}"
if [ ! -d ../shared ] && [ -z "${ANGELSLIM_SHARED:-}" ]; then
  echo "[test] the fixtures folder ../shared (next to the project root) is missing" >&2
  exit 1
fi
cmake --build "$BUILD_DIR" -j"$(nproc)"
cd "$BUILD_DIR"
ctest --output-on-failure -j"${CTEST_JOBS:-2}" "$@"
