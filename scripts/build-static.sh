#!/usr/bin/env bash
# Builds attnc for a machine without LLVM/MLIR (the GPU machine): an attnc
# with MLIR, LLVM (NVPTX and X86 back ends), libstdc++ and libgcc linked
# statically, needing only glibc (libc.so.6, libm.so.6; glibc 2.36 or newer),
# so that it can dlopen libcuda.so.1 (ATTN_CMAKE_ARGS=-DATTN_STATIC_LIBC=ON
# links glibc too, but such a binary cannot use CUDA), and the runtime-only C
# library libattnc_runtime.so (no libLLVM/libMLIR needed), in BUILD_DIR
# (default: build-static; Release, clang-22 + lld-22 as scripts/setup.sh;
# docs/running.md, "On a machine without LLVM"), then writes to OUT (default:
# build-static/carry):
#   attnc.xz                 stripped, xz -9 (unpack: xz -dk attnc.xz)
#   libattnc_runtime.so      stripped; attnc.load() through ATTNC_LIBRARY
# Environment: BUILD_DIR, JOBS (ninja -j, default: nproc), ATTN_CMAKE_ARGS,
# ATTN_STATIC_OPT=1 to add attn-opt.xz.
# Usage: scripts/build-static.sh [OUT]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build-static}
out=${1:-$build/carry}
jobs=${JOBS:-$(nproc)}
llvm=/usr/lib/llvm-22

for tool in cmake ninja clang++-22 "$llvm/bin/ld.lld" xz; do
  command -v "$tool" >/dev/null ||
    { echo "build-static: $tool missing; run scripts/setup.sh first" >&2; exit 1; }
done

# Configured every time (a few seconds once done), so that ATTN_CMAKE_ARGS
# always applies.
"$root/scripts/configure.sh" "$build" -DATTN_LINK_MLIR_DYLIB=OFF

targets=(attnc AttnRuntimeCAPI)
[ "${ATTN_STATIC_OPT:-0}" = 1 ] && targets+=(attn-opt)
cmake --build "$build" --target "${targets[@]}" -- -j"$jobs"

# The tool may need glibc only (nothing with ATTN_STATIC_LIBC=ON), the
# runtime library neither libLLVM nor libMLIR.
needed=$(readelf -d "$build/bin/attnc" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
extra=$(grep -v -x -E 'libc\.so\.6|libm\.so\.6|ld-linux-x86-64\.so\.2|libdl\.so\.2|librt\.so\.1|libpthread\.so\.0' \
        <<<"$needed" || true)
if [ -n "$extra" ]; then
  echo "build-static: bin/attnc needs more than glibc:" $extra >&2
  exit 1
fi
if readelf -d "$build/lib/libattnc_runtime.so" | grep NEEDED |
     grep -E 'libLLVM|libMLIR'; then
  echo "build-static: libattnc_runtime.so needs LLVM/MLIR" >&2
  exit 1
fi

mkdir -p "$out"
strip=$llvm/bin/llvm-strip
[ -x "$strip" ] || strip=strip
pack() {  # pack BINARY NAME: stripped, xz -9
  "$strip" -o "$out/$2" "$1"
  xz -9 -f -T1 "$out/$2"
}
pack "$build/bin/attnc" attnc
[ "${ATTN_STATIC_OPT:-0}" = 1 ] && pack "$build/bin/attn-opt" attn-opt
"$strip" --strip-unneeded -o "$out/libattnc_runtime.so" \
  "$build/lib/libattnc_runtime.so"

ls -l "$out"
du -ch "$out"/* | tail -1
