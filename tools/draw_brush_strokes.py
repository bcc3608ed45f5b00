#!/usr/bin/env python3
"""Draws the demo's style image: swirling brush strokes in a night-sky palette, from a fixed seed.

    python3 tools/draw_brush_strokes.py src/IlgpuStyle.Cli/demo/brush_strokes.png

Needs numpy only; writes the PNG with zlib. Being drawn here, the picture is free of any licence.
"""
import math, random, struct, sys, zlib
import numpy as np

W = H = 256
rng = random.Random(7)
palette = [(24, 44, 110), (40, 80, 160), (70, 120, 200), (230, 200, 70), (245, 230, 150), (30, 110, 120), (240, 240, 230), (15, 25, 60)]
centers = [(70, 80, 1.0), (180, 150, -1.0), (120, 220, 0.7), (220, 40, -0.6)]

def angle(x, y):
    # A sum of vortices: each turns the flow around its centre, fading with distance.
    vx = vy = 0.0
    for cx, cy, s in centers:
        dx, dy = x - cx, y - cy
        r2 = dx * dx + dy * dy + 400.0
        vx += -s * dy / r2 * 900.0
        vy += s * dx / r2 * 900.0
    vx += 0.6 * math.sin(y / 23.0)
    vy += 0.6 * math.cos(x / 31.0)
    return math.atan2(vy, vx)

img = np.zeros((H, W, 3), dtype=np.float64)
img[:, :] = palette[7]
yy, xx = np.mgrid[0:H, 0:W]
for _ in range(2600):
    x, y = rng.uniform(0, W), rng.uniform(0, H)
    base = np.array(palette[rng.choice([0, 1, 1, 2, 2, 3, 4, 5, 6, 0, 1, 2])], dtype=np.float64)
    color = np.clip(base + rng.uniform(-18, 18), 0, 255)
    radius = rng.uniform(1.6, 3.4)
    for _ in range(rng.randint(14, 34)):
        a = angle(x, y)
        x += 1.6 * math.cos(a); y += 1.6 * math.sin(a)
        x0, x1 = int(max(0, x - radius - 1)), int(min(W, x + radius + 2))
        y0, y1 = int(max(0, y - radius - 1)), int(min(H, y + radius + 2))
        if x0 >= x1 or y0 >= y1:
            break
        d2 = (xx[y0:y1, x0:x1] - x) ** 2 + (yy[y0:y1, x0:x1] - y) ** 2
        alpha = np.clip(1.0 - np.sqrt(d2) / radius, 0, 1)[..., None] * 0.55
        img[y0:y1, x0:x1] = img[y0:y1, x0:x1] * (1 - alpha) + color * alpha

pixels = np.clip(img, 0, 255).astype(np.uint8)
raw = b"".join(b"\x00" + pixels[y].tobytes() for y in range(H))
def chunk(tag, data):
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)
png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", W, H, 8, 2, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
with open(sys.argv[1] if len(sys.argv) > 1 else "brush_strokes.png", "wb") as f:
    f.write(png)
