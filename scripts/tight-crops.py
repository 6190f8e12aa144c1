#!/usr/bin/env python3
"""MNIST test digits cropped to their ink's bounding box (no margin at all), as a person gets
by cutting a digit out of a form: the test of `digits classify` on pictures whose ink touches
every edge.

    tight-crops.py MNIST_DIR OUTDIR [--count N] [--sizes 16,28,200]

Writes OUTDIR/<size>/<index>-<label>.png: test digit <index> cropped to the pixels above 0 and
scaled (area averaging down, bilinear up) so that its longer side is <size> pixels, the aspect
ratio kept, then written as white ink on black. Needs numpy and Pillow
(scripts/check-tight-crops runs it in the drawings venv)."""
import argparse
import gzip
from pathlib import Path

import numpy as np
from PIL import Image


def read_idx(path):
    data = Path(path).read_bytes()
    if path.suffix == ".gz":
        data = gzip.decompress(data)
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mnist")
    parser.add_argument("outdir")
    parser.add_argument("--count", type=int, default=10000)
    parser.add_argument("--sizes", default="16,28,200")
    args = parser.parse_args()
    mnist = Path(args.mnist)
    images = read_idx(next(p for p in [mnist / "t10k-images-idx3-ubyte.gz", mnist / "t10k-images-idx3-ubyte"] if p.exists()))
    labels = read_idx(next(p for p in [mnist / "t10k-labels-idx1-ubyte.gz", mnist / "t10k-labels-idx1-ubyte"] if p.exists()))
    sizes = [int(s) for s in args.sizes.split(",")]
    for size in sizes:
        (Path(args.outdir) / str(size)).mkdir(parents=True, exist_ok=True)
    for index in range(min(args.count, len(images))):
        image = images[index]
        ys, xs = np.nonzero(image)
        crop = Image.fromarray(image[ys.min():ys.max() + 1, xs.min():xs.max() + 1])
        for size in sizes:
            scale = size / max(crop.size)
            shape = (max(1, round(crop.width * scale)), max(1, round(crop.height * scale)))
            resized = crop.resize(shape, Image.BOX if scale < 1 else Image.BILINEAR)
            resized.save(Path(args.outdir) / str(size) / f"{index:05d}-{labels[index]}.png")


if __name__ == "__main__":
    main()
