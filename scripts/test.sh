#!/usr/bin/env bash
# Sets up, builds and runs every test suite through ctest: first in an
# AddressSanitizer + UndefinedBehaviorSanitizer build (build-asan), then in the
# release build, whose ctest summary is the last thing printed.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
jobs=$(nproc)

BUILD_DIR=$root/build-asan ATTN_CMAKE_ARGS="-DATTN_ENABLE_SANITIZERS=ON" \
  "$root/scripts/setup.sh"
"$root/scripts/setup.sh"

echo "== sanitizer build (ASan + UBSan) =="
# Only the project's code is instrumented; libMLIR/libLLVM and JIT-compiled
# kernels are not. Three checks therefore report the mixing, not bugs:
# container annotations of std::vector crossing into uninstrumented code,
# LLVM's BumpPtrAllocator poisoning (inlined into our code, instrumented) of
# slabs that uninstrumented MLIR code then fills (allow_user_poisoning=0), and
# use-after-return fake stacks, which JIT-compiled kernels called from thread
# pool workers do not follow (detect_stack_use_after_return=0). Tests that run
# JIT-compiled kernels run here too: launchCpuGrid calls kernels outside
# UBSan's function-type check, which read before the first byte of
# signature-less JIT code (lib/Runtime/CpuLaunch.cpp).
export ASAN_OPTIONS=detect_leaks=1:detect_container_overflow=0:allow_user_poisoning=0:detect_stack_use_after_return=0
export UBSAN_OPTIONS=print_stacktrace=1
ctest --test-dir "$root/build-asan" --output-on-failure -j"$jobs"
unset ASAN_OPTIONS UBSAN_OPTIONS

echo "== release build =="
ctest --test-dir "$root/build" --output-on-failure -j"$jobs"
