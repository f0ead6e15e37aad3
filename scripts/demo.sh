#!/usr/bin/env bash
# The main job: set up, build, then compile an example pattern (a causal
# sliding window with sink tokens) and show its attn IR before and after
# canonicalization.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh"
bin=$root/build/bin
example=$root/examples/sinks_window.attn

echo "== $example =="
cat "$example"
echo "== attnc compile --emit=mlir | attn-opt --canonicalize =="
"$bin/attnc" compile "$example" --emit=mlir | "$bin/attn-opt" --canonicalize
