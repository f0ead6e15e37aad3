#!/bin/sh
# Profiles attnc's kernels of the bench cases with Nsight Compute (on the GPU
# machine): per case, one launch with the speed-of-light, warp-state,
# scheduler, occupancy and instruction sections, then the 40 SASS lines with
# the most stall samples. Only attnc runs (ATTNC_ONLY=1, no Flex compile).
# Usage: sh bench/gpu/profile.sh BUNDLE_DIR OUT_DIR CASE...
set -e
bundles=$1 out=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
for case in "$@"; do
  rep=/tmp/prof_$case
  NO_CHECKS=1 ATTNC_ONLY=1 CASES=$case ncu --target-processes all \
    -k "regex:^$case\$" --launch-count 1 \
    --section SpeedOfLight --section WarpStateStats --section SchedulerStats \
    --section Occupancy --section LaunchStats --section InstructionStats \
    --section SourceCounters --section MemoryWorkloadAnalysis \
    -f -o "$rep" python3 "$here/run.py" "$bundles" >/dev/null 2>&1 || true
  {
    ncu -i "$rep.ncu-rep" --print-details all 2>&1 | grep -v '^    ---' | head -400
    ncu -i "$rep.ncu-rep" --page source --csv --print-source sass 2>/dev/null |
      python3 "$here/top_stalls.py" 40
  } > "$out/profile_$case.txt" 2>&1
done
