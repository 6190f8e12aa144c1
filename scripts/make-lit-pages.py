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

With `--numbers SET` (a set written by `make-numbers.py`), each page carries one of that set's
dark-on-light numbers instead, the first N in order: scaled to 35–60% of the page's width (at
most half its height), placed right of the first 32% of the page, its ink a quarter of the
paper's brightness; for `shadow` the edge slants across 10–30% of the page, so that it falls
beside the number. Writes OUTDIR/png/NNNN.jpg and a labels.csv of the set's columns, which
`score-numbers.py` scores.

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
    parser.add_argument("--numbers", help="a make-numbers.py set whose dark-on-light numbers to put on the pages")
    args = parser.parse_args()
    if args.numbers:
        return numbers_on_pages(args)
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
        page = lit_page(args.light, random, xs, ys, shadow_edge=(0.2, 0.45))
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


def lit_page(light, random, xs, ys, shadow_edge):
    """A blank page (gray 225) under `light`; a shadow's edge slants across `shadow_edge` (a
    range of shares of the width). `xs` and `ys` are the pixels' coordinates."""
    height, width = xs.shape
    page = np.full((height, width), 225.0)
    if light == "shadow":
        edge, soft = random.uniform(*shadow_edge) * width, random.uniform(10, 60)
        page *= 0.6 + 0.4 / (1 + np.exp(-(xs + 0.3 * (ys - height / 2) - edge) / soft * 4))
    elif light == "spot":
        distance = np.hypot((xs - width / 2) / width, (ys - height / 2) / height) / 0.7
        page *= 1 - 0.35 * np.clip((distance - 0.35) / 0.35, 0, 1)
    else:
        distance = np.hypot(xs / width, ys / height)
        page *= 1 - 0.45 * np.clip(1 - distance / 0.6, 0, 1)
    return page


def numbers_on_pages(args):
    """The pages of `--numbers`: one number of the set on each (see the module's comment)."""
    source = Path(args.numbers)
    with open(source / "labels.csv", newline="") as file:
        rows = [row for row in csv.DictReader(file) if row["source"].endswith("dark-on-light")][:args.count]
    random = np.random.default_rng(args.seed)
    out = Path(args.outdir)
    (out / "png").mkdir(parents=True, exist_ok=True)
    width, height = 1200, 900
    ys, xs = np.mgrid[0:height, 0:width].astype(float)
    written = []
    for index, row in enumerate(rows):
        number = np.asarray(Image.open(source / row["file"]).convert("L")).astype(float) / 255
        scale = random.uniform(0.35, 0.6) * width / number.shape[1]
        if number.shape[0] * scale > 0.5 * height:
            scale *= 0.5 * height / int(number.shape[0] * scale)
        number_height, number_width = int(number.shape[0] * scale), int(number.shape[1] * scale)
        lightness = np.asarray(Image.fromarray((number * 255).astype(np.uint8)).resize((number_width, number_height), Image.BILINEAR)).astype(float) / 255
        page = lit_page(args.light, random, xs, ys, shadow_edge=(0.1, 0.3))
        left = int(random.uniform(0.35, 0.95) * width - number_width)
        left = max(int(0.32 * width), min(width - number_width - 10, left))
        top = int(random.uniform(0.25, 0.7) * height - number_height / 2)
        top = max(10, min(height - number_height - 10, top))
        region = page[top:top + number_height, left:left + number_width]
        ink = 1 - lightness
        page[top:top + number_height, left:left + number_width] = region * (1 - ink) + region * 0.25 * ink
        page += random.normal(0, 3, page.shape)
        name = f"png/{index:04d}.jpg"
        Image.fromarray(np.clip(page, 0, 255).astype(np.uint8)).save(out / name, quality=88)
        written.append({**row, "file": name})
    with open(out / "labels.csv", "w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=list(rows[0].keys()) if rows else ["file", "number", "digits", "touching", "source"])
        writer.writeheader()
        writer.writerows(written)


if __name__ == "__main__":
    main()
