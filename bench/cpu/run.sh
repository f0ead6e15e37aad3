#!/usr/bin/env bash
# The CPU benchmark of issue 4, in one run: the core's fp32 FMA peak measured
# by a microbenchmark, then attnc kernels, printing ratios against the peak and
# against each other (never asserting: this is a benchmark, not a test).
#   bench/cpu/run.sh [BUILD_DIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build}
attnc=$build/bin/attnc
here=$root/bench/cpu
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

clang++-22 -O2 -march=native "$here/fma_peak.cpp" -o "$tmp/fma_peak"
peak=$("$tmp/fma_peak" | sed -E 's/fma_peak=([0-9.]+).*/\1/')

# Prints "<ms> <pairs> <GFLOP/s>" for one attnc run.
measure() {
  "$attnc" run "$@" --bench | sed -E \
    's/time=([0-9.]+) ms.*pairs=([0-9]+) effective=([0-9.]+) GFLOP.*/\1 \2 \3/'
}

read -r d1_ms d1_pairs d1_gf < <(measure "$here/dense.attn" --shape B=1,H=8,L=2048 --threads 1)
read -r d2_ms d2_pairs d2_gf < <(measure "$here/dense.attn" --shape B=1,H=8,L=2048 --threads 2)
read -r c_ms c_pairs c_gf < <(measure "$here/causal.attn" --shape B=1,H=4,L=8192)
read -r w_ms w_pairs w_gf < <(measure "$here/window.attn" --shape B=1,H=4,L=8192)
read -r g_ms g_pairs g_gf < <(measure "$here/dense2d.attn" --shape B=1,H=2,X=128,Y=128)
read -r n_ms n_pairs n_gf < <(measure "$here/na2d.attn" --shape B=1,H=2,X=128,Y=128)

ratio() { python3 -c "print(f'{$1:.2f}')"; }
echo "date=$(date -u +%Y-%m-%dT%H:%MZ) commit=$(git -C "$root" rev-parse --short HEAD) cpu='$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)'"
printf '%-44s %10s %12s\n' case ms GFLOP/s
printf '%-44s %10s %12s\n' "fp32 FMA peak, one core (microbenchmark)" - "$peak"
printf '%-44s %10s %12s\n' "dense B1 H8 L2048 D64, 1 thread" "$d1_ms" "$d1_gf"
printf '%-44s %10s %12s\n' "dense B1 H8 L2048 D64, 2 threads" "$d2_ms" "$d2_gf"
printf '%-44s %10s %12s\n' "causal B1 H4 L8192 D64" "$c_ms" "$c_gf"
printf '%-44s %10s %12s\n' "window 1024 B1 H4 L8192 D64" "$w_ms" "$w_gf"
printf '%-44s %10s %12s\n' "dense 2-D 128x128 B1 H2 D64" "$g_ms" "$g_gf"
printf '%-44s %10s %12s\n' "NA-2D 13x13 128x128 B1 H2 D64" "$n_ms" "$n_gf"
echo "ratios (goal in brackets):"
echo "  1 thread / FMA peak            = $(ratio "$d1_gf / $peak")  [>= 0.40]"
echo "  2 threads / 1 thread           = $(ratio "$d1_ms / $d2_ms")  [>= 1.70]"
echo "  window / (density share x causal) = $(ratio "$w_ms / ($c_ms * $w_pairs / $c_pairs)")  [<= 1.50]"
echo "  NA-2D / (density share x dense)   = $(ratio "$n_ms / ($g_ms * $n_pairs / $g_pairs)")  [<= 3.00]"
