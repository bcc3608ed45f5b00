#!/usr/bin/env bash
# Makes the pictures of docs/controls.md: the demo's cat with each control of Gatys et al. 2017
# (colour, spatial, scale), gradient normalization and Gatys's layer weights, at the demo's size.
# Runs through tools/ilgpustyle.sh (so inside the PoCL root on a machine without GPU/OpenCL).
#
#   bash tools/controls-gallery.sh            # writes docs/images/controls/*.png (about 15 minutes on PoCL, 2 cores)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
demo=src/IlgpuStyle.Cli/demo
out=docs/images/controls
mkdir -p "$out"
common=(--model vgg19 --content "$demo/chelsea.png" --image-size 192 --seed 1)   # the pictures of docs/controls.md: random VGG19
# Each run: 60 L-BFGS iterations unless it names its own --iterations.
run() { local name="$1"; shift; local n=(--iterations 60); [[ " $* " == *" --iterations "* ]] && n=(); echo "== $name: $*"; bash tools/ilgpustyle.sh "${common[@]}" "${n[@]}" "$@" --output "$out/$name.png" --print-every 20; rm -f "$out/${name}_loss.png"; }

run plain       --style "$demo/brush_strokes.png"
run luminance   --style "$demo/brush_strokes.png" --color-control luminance
run histogram   --style "$demo/brush_strokes.png" --color-control histogram --histogram-mode pca
run spatial     --style "$demo/brush_strokes.png" --style "$demo/mosaic.png" \
                --content-mask "$demo/mask_left.png" --content-mask "$demo/mask_right.png"
run scale       --fine-style "$demo/mosaic.png" --coarse-style "$demo/brush_strokes.png" --style-split conv3_1
run normalized  --style "$demo/brush_strokes.png" --normalize-gradients --content-weight 5 --style-weight 100 --tv-weight 0 --optimizer adam --iterations 100
run auto        --style "$demo/brush_strokes.png" --style-layer-weights auto
