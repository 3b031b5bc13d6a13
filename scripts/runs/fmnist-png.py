#!/usr/bin/env python3
"""Writes the first N Fashion-MNIST test images as PNG files (for `pixelrnn bench`).

Usage: python3 scripts/runs/fmnist-png.py [N] [OUT_DIR]   (needs: pip install pillow numpy)
"""
import gzip, os, sys

import numpy as np
from PIL import Image

n = int(sys.argv[1]) if len(sys.argv) > 1 else 500
out = sys.argv[2] if len(sys.argv) > 2 else "runs/fmnist-png"
os.makedirs(out, exist_ok=True)
raw = gzip.open("../shared/data/fashion-mnist/t10k-images-idx3-ubyte.gz").read()
images = np.frombuffer(raw[16:], dtype=np.uint8).reshape(-1, 28, 28)
for i in range(n):
    Image.fromarray(images[i]).save(os.path.join(out, f"{i:04d}.png"))
