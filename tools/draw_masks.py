#!/usr/bin/env python3
"""Draws the guidance masks of the spatial-control example: the left and the right part of a picture,
split along a soft diagonal (white = the region, black = elsewhere; any size works, masks are resized).

    python3 tools/draw_masks.py src/IlgpuStyle.Cli/demo/mask_left.png src/IlgpuStyle.Cli/demo/mask_right.png
"""
import struct, sys, zlib

W, H = 240, 160

def write(path, value):
    rows = []
    for y in range(H):
        rows.append(bytes([0]) + bytes(value(x, y) for x in range(W)))
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", W, H, 8, 0, 0, 0, 0)) + \
          chunk(b"IDAT", zlib.compress(b"".join(rows), 9)) + chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(png)

def left(x, y):
    # The boundary runs from 55% of the width at the top to 45% at the bottom, 8 pixels soft.
    edge = W * (0.55 - 0.10 * y / H)
    t = min(1.0, max(0.0, (edge - x) / 8.0 + 0.5))
    return int(round(255 * t))

write(sys.argv[1], left)
write(sys.argv[2], lambda x, y: 255 - left(x, y))
