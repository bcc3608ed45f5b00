#!/usr/bin/env bash
# Checks that tools/ilgpustyle.sh takes files anywhere (run on the host, where it may enter the PoCL root): a content
# and a style image in a folder outside the repository, named by absolute and by relative path from a working directory
# outside it, the output written to a third folder; a file that does not exist is the one called missing; the caller's
# Keras cache is the one a run searches. Fails loudly.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="$(mktemp -d /tmp/ilgpustyle-wrapper-XXXXXX)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/photos" "$work/results"
cp "$repo/src/IlgpuStyle.Cli/demo/chelsea.png" "$work/photos/my cat.png"
cp "$repo/src/IlgpuStyle.Cli/demo/brush_strokes.png" "$work/photos/style.png"
fail() { echo "wrapper-check: FAILED: $*" >&2; exit 1; }

echo "wrapper-check: absolute paths outside the repository"
bash "$repo/tools/ilgpustyle.sh" -c "$work/photos/my cat.png" -s "$work/photos/style.png" --image-size 32 --iterations 1 \
  --no-plot -o "$work/results/out.png" > "$work/run1.log" 2>&1 || { cat "$work/run1.log"; fail "the run with absolute paths"; }
[ -s "$work/results/out.png" ] || fail "no $work/results/out.png"

echo "wrapper-check: relative paths from a working directory outside the repository"
(cd "$work/photos" && bash "$repo/tools/ilgpustyle.sh" -c "my cat.png" -s style.png --image-size 32 --iterations 1 --no-plot \
  --output=../results/relative.png) > "$work/run2.log" 2>&1 || { cat "$work/run2.log"; fail "the run with relative paths"; }
[ -s "$work/results/relative.png" ] || fail "no $work/results/relative.png"

echo "wrapper-check: a missing file is the one called missing"
if bash "$repo/tools/ilgpustyle.sh" -c "$work/photos/no such.png" -s "$work/photos/style.png" --image-size 32 --iterations 1 \
  -o "$work/results/never.png" > "$work/run3.log" 2>&1; then fail "a missing content image was accepted"; fi
grep -q "no such.png" "$work/run3.log" || { cat "$work/run3.log"; fail "the message does not name the missing file"; }
if grep -q "style.png' does not exist" "$work/run3.log"; then fail "the style image, which exists, was called missing"; fi
echo "wrapper-check: the Keras cache is the caller's"
mkdir -p "$work/keras/models"
cp "$repo/src/IlgpuStyle.Cli/demo/chelsea.png" "$work/keras/models/not-weights.h5"
KERAS_HOME="$work/keras" bash "$repo/tools/ilgpustyle.sh" weights list > "$work/run4.log" 2>&1 || { cat "$work/run4.log"; fail "weights list"; }
grep -q "$work/keras/models/not-weights.h5" "$work/run4.log" || { cat "$work/run4.log"; fail "the caller's Keras cache was not seen"; }
echo "wrapper-check: passed"
