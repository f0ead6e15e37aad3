#!/usr/bin/env bash
# The main job: set up and build, then compile an example pattern (causal
# sliding window with 4 sink tokens and grouped-query heads) for the CPU, run
# it on seeded inputs and check it against the float64 reference, on sizes
# that are multiples of no tile.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh"
example=$root/examples/sinks_window.attn

echo "== $example =="
cat "$example"
echo "== attn IR (attnc compile --emit=mlir) =="
"$root/build/bin/attnc" compile "$example" --emit=mlir
echo "== attnc run --check (CPU kernel vs float64 reference) =="
"$root/build/bin/attnc" run "$example" --shape B=2,H=8,G=2,L=1000,S=1000 --check --bench
