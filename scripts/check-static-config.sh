#!/usr/bin/env bash
# The cheap guard of the static configuration (ctest 'static-config'):
# configures ATTN_LINK_MLIR_DYLIB=OFF into DIR (default: a temporary folder)
# without building anything, and checks the link lines that
# scripts/build-static.sh relies on: attnc is linked from static libraries
# only (no libLLVM.so, libMLIR.so, libz3, libffi, Interpreter or any other
# shared library but glibc's; libstdc++ and libgcc static), and
# libattnc_runtime.so does not link libLLVM/libMLIR.
# Environment: CC, CXX (default clang-22, clang++-22).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-}
if [ -z "$dir" ]; then
  dir=$(mktemp -d)
  trap 'rm -rf "$dir"' EXIT
fi

ATTN_CMAKE_ARGS= "$root/scripts/configure.sh" "$dir" -DATTN_LINK_MLIR_DYLIB=OFF \
  -DCMAKE_C_COMPILER="${CC:-clang-22}" -DCMAKE_CXX_COMPILER="${CXX:-clang++-22}"

fail=0
check() {  # check TARGET: the link line of TARGET in the generated build
  ninja -C "$dir" -t commands "$1" | tail -1 | tr ' ' '\n'
}
attnc=$(check bin/attnc)
runtime=$(check lib/libattnc_runtime.so)
for bad in 'libLLVM[.-].*so' 'libMLIR[.-].*so' 'libz3' 'libffi' \
           'LLVMInterpreter' '\.so$'; do
  if grep -E -- "$bad" <<<"$attnc"; then
    echo "static-config: attnc links $bad" >&2; fail=1
  fi
done
for flag in -static-libstdc++ -static-libgcc -Wl,--gc-sections; do
  grep -qx -- "$flag" <<<"$attnc" ||
    { echo "static-config: attnc is not linked with $flag" >&2; fail=1; }
done
for lib in LLVMNVPTXCodeGen LLVMX86CodeGen MLIRExecutionEngine; do
  grep -q "lib$lib\.a" <<<"$attnc" ||
    { echo "static-config: attnc does not link lib$lib.a" >&2; fail=1; }
done
if grep -E 'libLLVM[.-].*so|libMLIR[.-].*so' <<<"$runtime"; then
  echo "static-config: libattnc_runtime.so links libLLVM/libMLIR" >&2; fail=1
fi
[ $fail = 0 ] && echo "static-config: attnc and libattnc_runtime.so link lines OK"
exit $fail
