#!/bin/sh
# Everything one device call of the GPU machine checks and times, in one go
# (issue 5's harness), writing logs to $OUT (default /tmp):
#   run.log             run.py: PyTorch-float64 checks of every bundle, then
#                       the ANCHORS.md cases against SDPA (flash, cuDNN) and
#                       FlexAttention, ratios printed (ALT_BUNDLES=DIR,...
#                       times other bundle directories in the same rounds)
#   check_examples.txt  every example against attnc's own float64 reference
#                       (the static attnc of scripts/build-static.sh)
#   check_runtime.txt   libattnc_runtime.so through the Python package
#   memcheck.txt        compute-sanitizer memcheck over run.py's checks
# Usage (repository root, on the GPU machine):
#   ATTNC=path/to/attnc ATTNC_LIBRARY=path/to/libattnc_runtime.so \
#     sh bench/gpu/full_run.sh
# Bundles: bench/gpu/bundles (build_bundles.sh), bench/gpu/bundles-cpu (a
# CPU bundle of examples/causal.attn, written where ld.lld exists).
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${OUT:-/tmp}
export PYTHONUNBUFFERED=1
status=0
python3 "$here/run.py" "$here/bundles" > "$out/run.log" 2>&1 || status=1
sh "$here/check_examples.sh" "${ATTNC:-attnc}" > "$out/check_examples.txt" 2>&1 || status=1
PYTHONPATH="$root/python" python3 "$here/check_runtime.py" "$here/bundles" \
  "$here/bundles-cpu" > "$out/check_runtime.txt" 2>&1 || status=1
NO_BENCH=1 compute-sanitizer --tool memcheck --leak-check no \
  python3 "$here/run.py" "$here/bundles" > "$out/memcheck.txt" 2>&1 || status=1
sed -n '/== TFLOP/,$p' "$out/run.log"
tail -1 "$out/check_examples.txt"; grep FAIL "$out/check_examples.txt"
tail -2 "$out/check_runtime.txt"
grep -E "ERROR SUMMARY|checks:" "$out/memcheck.txt"
exit $status
