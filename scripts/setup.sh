#!/usr/bin/env bash
# Installs what attnc's build needs (Debian 12 packages; quick when all is
# there), then configures and builds. Environment:
#   BUILD_DIR   build directory (default: build)
#   ATTN_CMAKE_ARGS  extra CMake arguments
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}

packages=(cmake ninja-build clang-22 lld-22 libclang-rt-22-dev llvm-22-dev
          llvm-22-tools libmlir-22-dev mlir-22-tools libzstd-dev libgtest-dev
          python3-numpy)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ ! -f "$build/build.ninja" ]; then
  "$root/scripts/configure.sh" "$build"
fi
cmake --build "$build"
