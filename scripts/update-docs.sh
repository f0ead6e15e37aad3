#!/usr/bin/env bash
# Regenerates the dialect and pass reference pages from ODS and copies them
# into docs/generated/ (the docs-up-to-date test compares the two).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
cmake --build "$build" --target attn-docs
cp "$build/docs/Dialects/AttnDialect.md" "$build/docs/Passes/AttnPasses.md" \
   "$build/docs/Passes/AttnConversionPasses.md" "$root/docs/generated/"
echo "updated docs/generated/"
