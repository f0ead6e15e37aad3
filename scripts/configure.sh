#!/usr/bin/env bash
# Configures a build directory with the project's toolchain (clang-22, lld-22,
# Debian's LLVM/MLIR 22): scripts/configure.sh BUILD_DIR [CMAKE_ARGS...].
# Release by default; ATTN_CMAKE_ARGS adds arguments after the given ones.
# Used by scripts/setup.sh (development build) and scripts/build-static.sh.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$1
shift
llvm=/usr/lib/llvm-22
cmake -G Ninja -S "$root" -B "$build" \
  -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 \
  -DLLVM_USE_LINKER=lld \
  "-DCMAKE_EXE_LINKER_FLAGS=-fuse-ld=lld -B$llvm/bin" \
  "-DCMAKE_SHARED_LINKER_FLAGS=-fuse-ld=lld -B$llvm/bin" \
  -DMLIR_DIR=$llvm/lib/cmake/mlir \
  -DLLVM_EXTERNAL_LIT=$llvm/bin/lit \
  "$@" ${ATTN_CMAKE_ARGS:-} >/dev/null
