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
ASAN_OPTIONS=detect_leaks=1:detect_container_overflow=0 \
UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir "$root/build-asan" --output-on-failure -j"$jobs"

echo "== release build =="
ctest --test-dir "$root/build" --output-on-failure -j"$jobs"
