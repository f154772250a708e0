"""Draws the Strata logos (rock strata: stacked wavy layers) as PNG and SVG.

Run once when the design changes; the outputs are committed. Uses only the standard library.
"""
import math
import struct
import zlib

LAYERS = [(0x1f, 0x4e, 0x79), (0x2e, 0x86, 0xab), (0xc9, 0x8b, 0x3b), (0x8c, 0x5a, 0x2b), (0x4a, 0x3b, 0x2f)]


def layer_at(x, y):
    """Index of the layer at (x, y) in the unit square, or None outside the rounded tile."""
    r = 0.18
    cx = min(max(x, r), 1 - r)
    cy = min(max(y, r), 1 - r)
    if (x - cx) ** 2 + (y - cy) ** 2 > r * r:
        return None
    for i in range(len(LAYERS)):
        boundary = (i + 1) / len(LAYERS) + 0.04 * math.sin(2 * math.pi * (x + 0.15 * i))
        if y < boundary:
            return i
    return len(LAYERS) - 1


def png(size):
    rows = []
    ss = 4  # supersampling
    for py in range(size):
        row = bytearray([0])
        for px in range(size):
            acc = [0, 0, 0, 0]
            for sy in range(ss):
                for sx in range(ss):
                    i = layer_at((px + (sx + 0.5) / ss) / size, (py + (sy + 0.5) / ss) / size)
                    if i is not None:
                        for k in range(3):
                            acc[k] += LAYERS[i][k]
                        acc[3] += 255
            n = ss * ss
            alpha = acc[3] // n
            cover = max(1, acc[3] // 255)
            row += bytes([acc[0] // cover, acc[1] // cover, acc[2] // cover, alpha])
        rows.append(bytes(row))
    raw = zlib.compress(b"".join(rows), 9)

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


def svg():
    parts = ['<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64">',
             '<defs><clipPath id="tile"><rect width="64" height="64" rx="11.5"/></clipPath></defs>',
             '<g clip-path="url(#tile)">']
    n = len(LAYERS)
    for i in reversed(range(n)):
        top = i / n
        pts = []
        for s in range(33):
            x = s / 32
            y = top + (0.04 * math.sin(2 * math.pi * (x + 0.15 * (i - 1))) if i > 0 else -0.1)
            pts.append(f"{x * 64:.2f},{y * 64:.2f}")
        color = "#%02x%02x%02x" % LAYERS[i]
        parts.append(f'<polygon fill="{color}" points="{" ".join(pts)} 64,64 0,64"/>')
    parts.append("</g></svg>\n")
    return "".join(parts)


if __name__ == "__main__":
    for size in (32, 64):
        with open(f"logo-{size}x{size}.png", "wb") as f:
            f.write(png(size))
    with open("logo-svg.svg", "w") as f:
        f.write(svg())
