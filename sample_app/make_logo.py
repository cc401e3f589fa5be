"""Draw static/logo.png: a 64x64 heart, written as a PNG with the standard library.

    python3 -m sample_app.make_logo

The file is committed; a test checks that it matches what this script draws.
"""

import os
import struct
import zlib

SIZE = 64
HEART = (214, 51, 83, 255)
CLEAR = (0, 0, 0, 0)


def inside_heart(x, y):
    # The classic implicit heart curve (x²+y²-1)³ - x²y³ <= 0, scaled to the image.
    u = (x - SIZE / 2) / (SIZE * 0.36)
    v = (SIZE * 0.45 - y) / (SIZE * 0.36)
    return (u * u + v * v - 1) ** 3 - u * u * v ** 3 <= 0


def pixels():
    rows = []
    for y in range(SIZE):
        row = bytearray([0])  # filter type 0: the row is stored as is
        for x in range(SIZE):
            row.extend(HEART if inside_heart(x + 0.5, y + 0.5) else CLEAR)
        rows.append(bytes(row))
    return b"".join(rows)


def chunk(kind, data):
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def png_bytes():
    header = struct.pack(">IIBBBBB", SIZE, SIZE, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(pixels(), 9)) + chunk(b"IEND", b""))


def main():
    target = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static", "logo.png")
    with open(target, "wb") as f:
        f.write(png_bytes())
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
