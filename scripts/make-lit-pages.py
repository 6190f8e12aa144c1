#!/usr/bin/env python3
"""Pictures of one handwritten digit on a page under uneven light, for developing and scoring
the paper path of `digits classify` where a fitted smooth surface does not follow the light.

    make-lit-pages.py OUTDIR [--light shadow|spot|corner] [--count N] [--seed S] [--mnist DIR]
                             (shadow, N=60, S=7, datasets/mnist)

Each picture is a 1,200×900 page (gray 225) with an MNIST *test* digit scaled to 120–260 px,
written in dark ink (a quarter of the paper's brightness under it) in the right half, with
noise of σ 3 gray levels, saved as JPEG (quality 88):
- `shadow`: a shadow darkening the paper to 60%, its soft edge (10–60 px) slanting across
  the left 20–45% of the page, as a hand or a phone casts one;
- `spot`: light from a lamp close by: even in the middle, falling off to 65% towards the
  corners over a short span;
- `corner`: one corner darkened to 55%, fading over 60% of the page.

Writes OUTDIR/png/NNN_D.jpg and OUTDIR/labels.csv (file,label), which `score-dev.py` scores.
The same seed gives the same pictures. Needs numpy and Pillow (.build/drawings-venv from
scripts/make-drawings).
"""
import argparse
import csv
import gzip
from pathlib import Path

import numpy as np
from PIL import Image


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("outdir")
    parser.add_argument("--light", choices=["shadow", "spot", "corner"], default="shadow")
    parser.add_argument("--count", type=int, default=60)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--mnist", default=str(Path(__file__).resolve().parent.parent / "datasets" / "mnist"))
    args = parser.parse_args()
    mnist = Path(args.mnist)
    images = np.frombuffer(gzip.open(mnist / "t10k-images-idx3-ubyte.gz").read(), np.uint8, offset=16).reshape(-1, 28, 28)
    labels = gzip.open(mnist / "t10k-labels-idx1-ubyte.gz").read()[8:]
    random = np.random.default_rng(args.seed)
    out = Path(args.outdir)
    (out / "png").mkdir(parents=True, exist_ok=True)
    width, height = 1200, 900
    ys, xs = np.mgrid[0:height, 0:width].astype(float)
    rows = []
    for index in range(args.count):
        which = int(random.integers(0, len(images)))
        page = np.full((height, width), 225.0)
        if args.light == "shadow":
            edge, soft = random.uniform(0.2, 0.45) * width, random.uniform(10, 60)
            page *= 0.6 + 0.4 / (1 + np.exp(-(xs + 0.3 * (ys - height / 2) - edge) / soft * 4))
        elif args.light == "spot":
            distance = np.hypot((xs - width / 2) / width, (ys - height / 2) / height) / 0.7
            page *= 1 - 0.35 * np.clip((distance - 0.35) / 0.35, 0, 1)
        else:
            distance = np.hypot(xs / width, ys / height)
            page *= 1 - 0.45 * np.clip(1 - distance / 0.6, 0, 1)
        size = int(random.uniform(120, 260))
        ink = np.asarray(Image.fromarray(images[which]).resize((size, size), Image.BILINEAR)).astype(float) / 255
        left, top = int(random.uniform(0.45, 0.75) * width), int(random.uniform(0.2, 0.6) * height)
        region = page[top:top + size, left:left + size]
        page[top:top + size, left:left + size] = region * (1 - ink) + region * 0.25 * ink
        page += random.normal(0, 3, page.shape)
        name = f"png/{index:03d}_{labels[which]}.jpg"
        Image.fromarray(np.clip(page, 0, 255).astype(np.uint8)).save(out / name, quality=88)
        rows.append((name, labels[which]))
    with open(out / "labels.csv", "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["file", "label"])
        writer.writerows(rows)


if __name__ == "__main__":
    main()
