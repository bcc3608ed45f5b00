#!/usr/bin/env python3
"""One style-transfer iteration in PyTorch, the same work as `ilgpustyle bench` and tools/LibtorchBench:
VGG19 (random He-initialized weights) to conv5_1 with average pooling, content loss at conv4_2, style losses
(Gram / CHW) at conv1_1 ... conv5_1, TV loss, backward to the image, one Adam step; fp32 with TF32 off; square
image of --size, on CUDA when there is a GPU. Prints ms per iteration (median of --repeats), the peak memory
PyTorch allocated, and one line "pytorch_ms=... pytorch_peak_mb=..." for tools/bench.

    python3 tools/pytorch_bench.py [--size 512] [--repeats 5] [--device cuda|cpu]
"""
import argparse
import statistics
import time

import torch
import torch.nn.functional as F

parser = argparse.ArgumentParser()
parser.add_argument("--size", type=int, default=512)
parser.add_argument("--repeats", type=int, default=5)
parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
args = parser.parse_args()

torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
torch.manual_seed(1)
dev = torch.device(args.device)
cuda = dev.type == "cuda"

layers = []
in_c = 3
for block, (count, out_c) in enumerate(zip((2, 2, 4, 4, 1), (64, 128, 256, 512, 512))):
    for i in range(count):
        w = torch.randn(out_c, in_c, 3, 3, device=dev) * (2.0 / (in_c * 9)) ** 0.5
        layers.append((f"conv{block + 1}_{i + 1}", w, torch.zeros(out_c, device=dev)))
        in_c = out_c
style_layers = ["conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1"]


def forward(x):
    features = {}
    for name, w, b in layers:
        if name.endswith("_1") and name != "conv1_1":
            x = F.avg_pool2d(x, 2)
        x = F.relu(F.conv2d(x, w, b, padding=1))
        features[name] = x
    return features


def gram(f):
    c, m = f.shape[1], f.shape[2] * f.shape[3]
    flat = f.reshape(c, m)
    return flat @ flat.t() / (c * m)


size = args.size
with torch.no_grad():
    content = torch.rand(1, 3, size, size, device=dev) * 255 - 128
    style = torch.rand(1, 3, size, size, device=dev) * 255 - 128
    content_target = forward(content)["conv4_2"]
    style_features = forward(style)
    style_targets = {l: gram(style_features[l]) for l in style_layers}
    del style_features
image = (torch.rand(1, 3, size, size, device=dev) * 255 - 128).requires_grad_(True)
optimizer = torch.optim.Adam([image], lr=1.0)


def iterate():
    optimizer.zero_grad()
    f = forward(image)
    loss = 0.5 * (f["conv4_2"] - content_target).pow(2).sum()
    for l in style_layers:
        loss = loss + 1e4 / len(style_layers) * 0.25 * (gram(f[l]) - style_targets[l]).pow(2).sum()
    dx = image[:, :, :, 1:] - image[:, :, :, :-1]
    dy = image[:, :, 1:, :] - image[:, :, :-1, :]
    loss = loss + 1e-3 * (dx.pow(2).sum() + dy.pow(2).sum())
    loss.backward()
    optimizer.step()
    return loss.item()   # synchronizes, as printing a loss does


def sync():
    if cuda:
        torch.cuda.synchronize()


start = time.perf_counter()
iterate()
sync()
first_ms = (time.perf_counter() - start) * 1e3
if cuda:
    torch.cuda.reset_peak_memory_stats()
times = []
for _ in range(args.repeats):
    sync()
    start = time.perf_counter()
    iterate()
    sync()
    times.append((time.perf_counter() - start) * 1e3)
median = statistics.median(times)
peak_mb = torch.cuda.max_memory_allocated() / 2**20 if cuda else float("nan")
name = torch.cuda.get_device_name() if cuda else "cpu"
print(f"pytorch {torch.__version__} on {name}, {size}x{size}, TF32 off: {median:.1f} ms per iteration "
      f"(median of {args.repeats}; first {first_ms:.0f} ms), peak {peak_mb:.1f} MiB allocated")
print(f"pytorch_ms={median:.1f} pytorch_peak_mb={peak_mb:.1f}")
