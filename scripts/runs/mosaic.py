#!/usr/bin/env python3
"""Writes a 12-megapixel RGB test photo (4000×3000): 30 crops of 800×500, the top-left corners of
the training photos at least that large (21 of them), the first 9 again upside down so that no
tile repeats another exactly. Needs Pillow. How README's "Speed" measured a large photo:

    python3 scripts/runs/mosaic.py ../shared/data/photos/train /tmp/big12.png
    /usr/bin/time -v target/release/pixelrnn compress -f -v --threads 2 /tmp/big12.png -o /tmp/big12.prnn
    /usr/bin/time -v target/release/pixelrnn decompress -f -v --threads 2 /tmp/big12.prnn -o /tmp/big12d.png
"""
import glob
import sys

from PIL import Image

src, out = sys.argv[1], sys.argv[2]

def large(f):
    w, h = Image.open(f).size
    return w >= 800 and h >= 500


names = [f for f in sorted(glob.glob(f"{src}/*.png")) if large(f)]
mosaic = Image.new("RGB", (4000, 3000))
for k in range(30):
    tile = Image.open(names[k % len(names)]).convert("RGB").crop((0, 0, 800, 500))
    if k >= len(names):
        tile = tile.transpose(Image.FLIP_TOP_BOTTOM)
    mosaic.paste(tile, ((k % 5) * 800, (k // 5) * 500))
mosaic.save(out)
print(f"{out}: 4000×3000 from {len(names)} photos")
