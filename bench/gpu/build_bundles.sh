#!/bin/sh
# Builds every CUDA bundle bench/gpu/run.py uses (the softmax-family examples
# and the bench specs) into OUT_DIR (default bench/gpu/bundles) with the attnc
# of BUILD_DIR: build_bundles.sh [BUILD_DIR/bin] [OUT_DIR].
set -e
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
attnc=${1:-$root/build/bin}/attnc
out=${2:-$here/bundles}
mkdir -p "$out"
for f in "$root"/examples/*.attn "$here"/specs/*.attn; do
  name=$(basename "$f" .attn)
  case $name in
    linear|gated_linear|lightning|softmax_3pass|blocked_local_halo) continue ;;
    based) "$attnc" compile "$f" --name=based_window --target=cuda -o "$out" ;;
    *) "$attnc" compile "$f" --target=cuda -o "$out" ;;
  esac
done
