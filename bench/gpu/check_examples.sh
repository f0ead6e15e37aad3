#!/bin/sh
# Checks every softmax-family example on the GPU against attnc's own float64
# reference: `attnc run --target=cuda --check` compiles the spec in process,
# runs it on seeded random inputs (outputs NaN-poisoned first) and compares
# (bf16 1e-2, f16 2e-3). Two ragged shapes per example: sizes that are
# multiples of no tile, L != S where the spec allows it, fully masked rows
# (cross_causal with L > S).
# Usage (on the GPU machine, with the static attnc of scripts/build-static.sh):
#   sh bench/gpu/check_examples.sh ./attnc
# Prints one PASS/FAIL line per run and a summary; exits 1 on any FAIL.
attnc=${1:-attnc}
root=$(cd "$(dirname "$0")/../.." && pwd)
ex=$root/examples
pass=0 fail=0
run() {
  spec=$1; shift
  if out=$("$attnc" run "$spec" --target=cuda --check "$@" 2>&1); then
    pass=$((pass + 1)); status=PASS
  else
    fail=$((fail + 1)); status=FAIL
  fi
  echo "$status $(basename "$spec") $* :: $(echo "$out" | tr '\n' ' ' | cut -c1-160)"
}
run $ex/full.attn --shape B=2,H=3,L=77,S=91
run $ex/full.attn --shape B=1,H=2,L=300,S=129 --seed 1
run $ex/causal.attn --shape B=2,H=4,L=77
run $ex/causal.attn --shape B=1,H=2,L=1000 --seed 1
run $ex/causal.attn --shape B=1,H=2,L=333 --seed 4 --device 0
run $ex/cross_causal.attn --shape B=1,H=2,L=150,S=61
run $ex/cross_causal.attn --shape B=1,H=2,L=61,S=150
run $ex/gqa.attn --shape B=1,H=8,G=2,L=70,S=70
run $ex/gqa.attn --shape B=2,H=32,G=8,L=333,S=333 --seed 1
run $ex/mqa.attn --shape B=2,H=4,L=33,S=97
run $ex/mqa.attn --shape B=1,H=8,L=200,S=201 --seed 1
run $ex/sliding_window.attn --shape B=1,H=2,G=1,L=300,S=300
run $ex/sliding_window.attn --shape B=1,H=4,G=2,L=1500,S=1500 --seed 1
run $ex/sinks_window.attn --shape B=1,H=2,G=2,L=257,S=257
run $ex/sinks_window.attn --shape B=1,H=4,G=2,L=1300,S=1300 --seed 1
run $ex/prefix_lm.attn --shape B=1,H=2,L=111
run $ex/prefix_lm.attn --shape B=2,H=2,L=700 --seed 1
run $ex/documents.attn --shape B=2,H=2,L=97 --seed 3
run $ex/documents.attn --shape B=2,H=2,L=1000 --seed 1
run $ex/alibi.attn --shape B=1,H=4,L=90
run $ex/alibi.attn --shape B=1,H=8,L=500 --seed 1
run $ex/softcap.attn --shape B=1,H=4,G=2,L=90
run $ex/softcap.attn --shape B=1,H=4,G=2,L=300 --seed 1
run $ex/neighborhood_1d.attn --shape B=1,H=2,L=150
run $ex/neighborhood_1d.attn --shape B=1,H=2,L=1000 --seed 1
run $ex/neighborhood_2d.attn --shape B=1,H=2,X=21,Y=19
run $ex/neighborhood_2d.attn --shape B=1,H=1,X=50,Y=37 --seed 1
run $ex/neighborhood_3d_causal.attn --shape B=1,H=1,T=6,X=7,Y=9
run $ex/neighborhood_3d_causal.attn --shape B=1,H=2,T=5,X=13,Y=11 --seed 1
run $ex/axial.attn --shape B=1,H=2,X=9,Y=13
run $ex/axial.attn --shape B=1,H=2,X=30,Y=41 --seed 1
run $ex/block_sparse.attn --shape B=1,H=2,L=300,NQ=5,NK=5 --seed 5
run $ex/block_sparse.attn --shape B=1,H=2,L=1000,NQ=16,NK=16 --seed 1
run $ex/vertical_slash.attn --shape B=1,H=2,L=200
run $ex/vertical_slash.attn --shape B=1,H=2,L=900 --seed 1
run $ex/per_head_mix.attn --shape B=1,H=4,G=2,L=150
run $ex/per_head_mix.attn --shape B=1,H=8,G=2,L=700 --seed 1
run $ex/pooled_core_window.attn --shape B=1,H=2,L=150,S=159
run $ex/pooled_core_window.attn --shape B=1,H=2,L=500,S=520 --seed 1
run $ex/decode.attn --shape B=3,H=8,G=2,S=300
run $ex/decode.attn --shape B=2,H=32,G=8,S=5000 --seed 1
run $ex/based.attn --name=based_window --shape B=1,H=2,L=300
run $ex/based.attn --name=based_window --shape B=1,H=2,L=1000 --seed 1
run $root/test/Integration/CPU/Inputs/strided_score.attn --dtype=bf16 --shape B=2,H=4,G=2,L=101,S=123
# The bench's NA-2D specs at ragged image sizes, with and without dilation.
run $root/bench/gpu/specs/na2d13.attn --shape B=1,H=2,X=45,Y=38
run $root/bench/gpu/specs/na2d13d4.attn --shape B=1,H=2,X=61,Y=53
# Dilated axes are tiled one residue class at a time: classes of unequal
# length (130 = 4 * 32 + 2), and classes exactly as long as the window
# (55 = 4 * 13 + 3: classes of 14, 14, 14 and 13).
run $root/bench/gpu/specs/na2d13d4.attn --shape B=2,H=1,X=130,Y=67 --seed 2
run $root/bench/gpu/specs/na2d13d4.attn --shape B=1,H=1,X=55,Y=70 --seed 3
run $ex/neighborhood_1d.attn --shape B=1,H=2,L=4099 --seed 2
echo "check_examples: $pass PASS, $fail FAIL"
[ "$fail" -eq 0 ]
