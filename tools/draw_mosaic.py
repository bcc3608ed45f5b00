#!/usr/bin/env python3
"""Draws a second style image: a warm stained-glass mosaic (Voronoi tiles with dark leading), from a fixed seed.

    python3 tools/draw_mosaic.py src/IlgpuStyle.Cli/demo/mosaic.png

Pure Python (no packages); writes the PNG with zlib. Being drawn here, the picture is free of any licence.
"""
import random, struct, sys, zlib

W = H = 256
rng = random.Random(11)
palette = [(200, 60, 30), (230, 140, 40), (245, 200, 90), (150, 40, 60), (90, 130, 60), (240, 225, 190), (120, 70, 40)]
seeds = [(rng.uniform(0, W), rng.uniform(0, H), rng.choice(palette)) for _ in range(70)]

rows = []
for y in range(H):
    row = bytearray()
    for x in range(W):
        # Nearest and second-nearest seeds: near the boundary between two tiles, draw the dark leading.
        best = second = 1e18
        colour = None
        for sx, sy, c in seeds:
            d = (x - sx) ** 2 + (y - sy) ** 2
            if d < best:
                best, second, colour = d, best, c
            elif d < second:
                second = d
        edge = second ** 0.5 - best ** 0.5
        if edge < 2.5:
            r, g, b = 35, 25, 20
        else:
            shade = 0.85 + 0.15 * ((x * 7 + y * 13) % 17) / 16.0   # a little texture inside the glass
            r, g, b = (min(255, int(v * shade)) for v in colour)
        row += bytes((r, g, b))
    rows.append(bytes([0]) + bytes(row))

def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", W, H, 8, 2, 0, 0, 0)) + \
      chunk(b"IDAT", zlib.compress(b"".join(rows), 9)) + chunk(b"IEND", b"")
with open(sys.argv[1] if len(sys.argv) > 1 else "mosaic.png", "wb") as f:
    f.write(png)
