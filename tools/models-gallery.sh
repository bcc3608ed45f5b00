#!/usr/bin/env bash
# Makes the pictures of docs/models.md: four content/style pairs that the project may ship, each as the random VGG19
# (what a run without a VGG19 file used to give) beside the bundled trained ResNet18 (the default now), with the same
# options otherwise, at 384 px. Inputs: photographs from Debian's python3-skimage (CC0 or public domain; credits in
# docs/models.md) and the demo's drawings. Runs through tools/ilgpustyle.sh (inside the PoCL root on a machine without
# GPU or usable OpenCL device, where the inputs must lie in the repository: they are copied to out/gallery/).
#
#   bash tools/models-gallery.sh        # about 25 minutes on PoCL, 2 cores; writes docs/images/models/*.png
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
data=/usr/lib/python3/dist-packages/skimage/data
[ -d "$data" ] || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-skimage >/dev/null; }
inputs=out/gallery; docs=docs/images/models
mkdir -p "$inputs" "$docs"
cp "$data/astronaut.png" "$data/rocket.jpg" "$data/hubble_deep_field.jpg" "$data/retina.jpg" "$data/coffee.png" "$inputs/"
demo=src/IlgpuStyle.Cli/demo
pairs=(
  "cat_strokes $demo/chelsea.png $demo/brush_strokes.png"
  "astronaut_hubble $inputs/astronaut.png $inputs/hubble_deep_field.jpg"
  "rocket_retina $inputs/rocket.jpg $inputs/retina.jpg"
  "coffee_mosaic $inputs/coffee.png $demo/mosaic.png"
)
for pair in "${pairs[@]}"; do
  read -r name content style <<<"$pair"
  for model in vgg19 resnet18; do
    echo "== $name, $model"
    bash tools/ilgpustyle.sh --model "$model" -c "$content" -s "$style" --image-size 384 --iterations 200 --seed 1 \
      --print-every 50 --no-plot -o "$docs/${name}_$model.png"
  done
  # The inputs as 192 px thumbnails beside the results.
  /usr/bin/python3 - "$content" "$style" "$docs/${name}_content.png" "$docs/${name}_style.png" <<'PY'
import sys
from skimage import io, transform, util
for source, target in ((sys.argv[1], sys.argv[3]), (sys.argv[2], sys.argv[4])):
    image = io.imread(source)
    scale = 192 / max(image.shape[:2])
    small = transform.resize(image, (round(image.shape[0] * scale), round(image.shape[1] * scale)), anti_aliasing=True)
    io.imsave(target, util.img_as_ubyte(small[..., :3] if small.ndim == 3 else small), check_contrast=False)
PY
done
