#!/usr/bin/env bash
# Installs every build dependency from Debian packages (idempotent), then configures and builds.
#   scripts/setup.sh            install + Release build into build/
#   SKIP_BUILD=1 scripts/setup.sh   install only
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS=(build-essential cmake ccache pkg-config
      libtorch-dev libopenblas0-pthread libopenblas-pthread-dev
      libyaml-cpp-dev nlohmann-json3-dev libcli11-dev
      libgtest-dev libgmock-dev googletest libbenchmark-dev
      libicu-dev libbz2-dev libsimde-dev libpng-dev bzip2)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "[setup] installing: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "[setup] all Debian packages present"
fi

# Node.js + npm run the llama.cpp interop test (node-llama-cpp). Machines that already have a
# Node.js with npm (e.g. from NodeSource) keep it: Debian's npm package would conflict with it.
if ! command -v npm >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "[setup] installing: nodejs npm"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends nodejs npm || \
    echo "[setup] warning: could not install nodejs/npm; the llama.cpp interop test will be skipped"
fi
# node-llama-cpp (pinned in tests/interop/package-lock.json) with its prebuilt CPU llama.cpp: the
# interop test and bench/lowbit run it. --ignore-scripts: the prebuilt binaries need no build step.
if command -v npm >/dev/null 2>&1 && [ "${SKIP_NPM:-0}" != "1" ] && \
   [ ! -f tests/interop/node_modules/node-llama-cpp/package.json ]; then
  echo "[setup] installing node-llama-cpp for the llama.cpp interop test"
  (cd tests/interop && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) || \
    echo "[setup] warning: npm ci failed; the llama.cpp interop test will be skipped"
fi

# libtorch must use the threaded OpenBLAS, not the reference BLAS (about 30x slower matmul).
if command -v update-alternatives >/dev/null; then
  alt=$(update-alternatives --list libblas.so.3-x86_64-linux-gnu 2>/dev/null | grep openblas-pthread | head -1 || true)
  if [ -n "$alt" ]; then
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO update-alternatives --set libblas.so.3-x86_64-linux-gnu "$alt" >/dev/null || true
    alt=$(update-alternatives --list liblapack.so.3-x86_64-linux-gnu 2>/dev/null | grep openblas-pthread | head -1 || true)
    [ -n "$alt" ] && $SUDO update-alternatives --set liblapack.so.3-x86_64-linux-gnu "$alt" >/dev/null || true
  fi
fi

[ "${SKIP_BUILD:-0}" = "1" ] && exit 0

export CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime
# paths relative to the checkout, so a fresh clone elsewhere reuses the compile cache
export CCACHE_BASEDIR="$PWD"
export CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/ccache}"
BUILD_DIR="${BUILD_DIR:-build}"
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-Release}" ${CMAKE_ARGS:-}
cmake --build "$BUILD_DIR" -j"$(nproc)"
