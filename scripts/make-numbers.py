#!/usr/bin/env python3
"""Composes pictures of handwritten numbers from real digits, for developing and scoring the
number reader (`digits classify` on a picture of "2026").

    make-numbers.py OUTDIR [--count N] [--seed S] [--mnist DIR] [--semeion DIR] [--calibration] [--embed | --photo [--close]]
                                  (N=1200, S=1, datasets/mnist, ../shared/datasets/dev/semeion)

--calibration takes every digit from MNIST's *training* set instead (no Semeion): numbers for
choosing the number reader's settings, so that the sets it is scored on stay unseen.

Each number has 2–6 digits taken at random from the MNIST *test* set (two in three numbers) or
from Semeion (one in three), never mixed within a number. Each digit is cropped to its ink,
scaled to 18–22 px tall (Semeion's 16×16 box-filled digits are scaled to 20 px, keeping their
stretched shape), turned by up to ±8°, and set on a line with a gap to the previous digit drawn
from −3 px (a slight overlap) to +20 px and a vertical offset of up to ±4 px. Overlapping ink
takes the maximum. The line gets a margin of 4–16 px, is scaled by 1–3 (bilinear), and is
then drawn in one of four styles: white on black, black on white, dark ink on a paper tone
(gray 170–235) with noise (σ 2–8 gray levels), or light ink on a dark board with noise.

--embed sets each picture, as drawn (the same pictures as without it), in a larger one, as a
number written small on a page and photographed whole: its edge pixels carried out to 2–6
times its size, the number at a random place in it, noise of σ 3 gray levels over it all, and
one in two saved as JPEG (quality 80, OUTDIR/png/NNNN.jpg). The reader first sees such a
picture reduced to its working size.

--photo writes each number instead as dark ink on a sheet of paper photographed on a darker
table, saved as JPEG (quality 75–90) with an EXIF orientation: the sheet (gray 185–245, ruled
in blue-gray on one picture in two) fills most of a frame of 1,000–2,400 px on its longer side
and leaves the table (gray 25–120) along one to three edges, one of them slanted; the light
falls off across the frame to 60–100%; the number is 3–10% of the frame tall (with --close,
10–35%, as photographed from nearer), and at most three quarters of its width; noise of σ 2–5
gray levels; the pixels are stored turned (EXIF orientation 1, 3, 6 or 8, one in four each) as
a phone stores them. The numbers are those of the same seed without it.

Writes OUTDIR/png/NNNN.png and OUTDIR/labels.csv (file,number,digits,touching,source):
`touching` is 1 when the ink of two neighbouring digits touches (within one pixel, at the
composing scale). The same seed gives byte-identical files. Needs numpy and Pillow
(.build/drawings-venv from scripts/make-drawings).
"""
import argparse
import csv
import gzip
import os
import struct
from pathlib import Path

import numpy as np
from PIL import Image


def load_mnist(directory, split):
    def read(name):
        path = Path(directory) / name
        data = gzip.open(path).read() if path.suffix == ".gz" else open(path, "rb").read()
        return data
    prefix = "t10k" if split == "test" else "train"
    images = read(f"{prefix}-images-idx3-ubyte.gz")
    labels = read(f"{prefix}-labels-idx1-ubyte.gz")
    count = struct.unpack(">I", images[4:8])[0]
    pixels = np.frombuffer(images, dtype=np.uint8, offset=16).reshape(count, 28, 28)
    return pixels, np.frombuffer(labels, dtype=np.uint8, offset=8)


def load_semeion(directory):
    rows = list(csv.DictReader(open(Path(directory) / "labels.csv")))
    images = [np.array(Image.open(Path(directory) / row["file"]).convert("L")) for row in rows]
    # Semeion's PNGs are dark ink on white: make the ink bright.
    images = [255 - image if image.mean() > 127 else image for image in images]
    return images, np.array([int(row["label"]) for row in rows], dtype=np.uint8)


def crop_to_ink(image):
    ys, xs = np.nonzero(image > 20)
    if len(xs) == 0:
        return image
    return image[ys.min():ys.max() + 1, xs.min():xs.max() + 1]


def digit_glyph(image, random):
    """The digit cropped, scaled to 18–22 px tall, turned a little; float 0–255."""
    glyph = Image.fromarray(crop_to_ink(image))
    height = random.uniform(18, 22)
    scale = height / glyph.height
    width = max(1, round(glyph.width * scale))
    glyph = glyph.resize((width, max(1, round(height))), Image.BILINEAR)
    glyph = glyph.rotate(random.uniform(-8, 8), resample=Image.BILINEAR, expand=True)
    return crop_to_ink(np.array(glyph)).astype(np.float32)


def compose(glyphs, random):
    """The glyphs on one line; returns the picture and whether neighbours touch."""
    gaps = [random.uniform(-3, 20) for _ in glyphs[1:]]
    offsets = [random.uniform(-4, 4) for _ in glyphs]
    margin = int(random.uniform(4, 16))
    tallest = max(g.shape[0] for g in glyphs)
    xs = [margin]
    for glyph, gap in zip(glyphs, gaps):
        xs.append(xs[-1] + glyph.shape[1] + int(round(gap)))
    width = xs[len(glyphs) - 1] + glyphs[-1].shape[1] + margin
    height = tallest + 2 * margin + 8
    canvas = np.zeros((height, max(width, 8)), dtype=np.float32)
    masks = []
    for glyph, x, offset in zip(glyphs, xs, offsets):
        y = margin + 4 + int(round(offset)) + (tallest - glyph.shape[0]) // 2
        x = max(0, x)
        region = canvas[y:y + glyph.shape[0], x:x + glyph.shape[1]]
        np.maximum(region, glyph[:region.shape[0], :region.shape[1]], out=region)
        mask = np.zeros_like(canvas, dtype=bool)
        mask[y:y + glyph.shape[0], x:x + glyph.shape[1]] = glyph[:region.shape[0], :region.shape[1]] > 60
        masks.append(mask)
    touching = False
    for a, b in zip(masks, masks[1:]):
        grown = a.copy()
        grown[1:, :] |= a[:-1, :]; grown[:-1, :] |= a[1:, :]
        grown[:, 1:] |= grown[:, :-1].copy(); grown[:, :-1] |= grown[:, 1:].copy()
        if (grown & b).any():
            touching = True
    return canvas, touching


def style(canvas, random):
    """Scaled by 1–3, then one of four looks; uint8."""
    factor = random.uniform(1, 3)
    image = Image.fromarray(np.clip(canvas, 0, 255).astype(np.uint8))
    image = image.resize((max(8, round(image.width * factor)), max(8, round(image.height * factor))), Image.BILINEAR)
    ink = np.array(image).astype(np.float32) / 255
    look = random.integers(0, 4)
    if look == 0:
        picture = ink * 255
    elif look == 1:
        picture = 255 - ink * 255
    elif look == 2:
        paper, pen = random.uniform(170, 235), random.uniform(15, 80)
        picture = paper + (pen - paper) * ink + random.normal(0, random.uniform(2, 8), ink.shape)
    else:
        board, chalk = random.uniform(20, 70), random.uniform(190, 250)
        picture = board + (chalk - board) * ink + random.normal(0, random.uniform(2, 8), ink.shape)
    return np.clip(picture, 0, 255).round().astype(np.uint8), ["light-on-dark", "dark-on-light", "paper", "board"][look]


def embed(picture, random):
    """The picture in one 2–6 times its size made of its own edge pixels, with noise (--embed);
    and whether to save it as JPEG."""
    height, width = picture.shape[:2]
    factor = random.uniform(2, 6)
    outer_height, outer_width = int(height * factor), int(width * factor)
    top, left = int(random.integers(0, outer_height - height + 1)), int(random.integers(0, outer_width - width + 1))
    pad = ((top, outer_height - height - top), (left, outer_width - width - left)) + ((0, 0),) * (picture.ndim - 2)
    large = np.pad(picture.astype(np.float32), pad, mode="edge")
    large += random.normal(0, 3, large.shape)
    return np.clip(large, 0, 255).astype(np.uint8), random.random() < 0.5


def photograph(canvas, random, close=False):
    """The composed number (white ink on black, 0–255) written in dark ink on a sheet of paper
    photographed on a table (--photo): a grayscale frame and the EXIF orientation to store."""
    long_side = int(random.integers(1000, 2401))
    portrait = random.random() < 0.5
    height, width = (long_side, int(long_side * random.uniform(0.6, 0.8)))[::1 if portrait else -1]
    number_height = height * (random.uniform(0.10, 0.35) if close else random.uniform(0.03, 0.10))
    # As wide as three quarters of the frame at most: a wider number would be cut by it.
    factor = min(number_height / canvas.shape[0], 0.75 * width / canvas.shape[1])
    ink = Image.fromarray(np.clip(canvas, 0, 255).astype(np.uint8))
    ink = np.asarray(ink.resize((max(1, round(ink.width * factor)), max(1, round(ink.height * factor))), Image.BILINEAR),
                     dtype=np.float32) / 255
    ink = ink[:min(ink.shape[0], height - 2), :min(ink.shape[1], width - 2)]
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    # The table along one to three edges (the left one slanted), the sheet elsewhere.
    sheet = np.ones((height, width), dtype=bool)
    edges = random.choice(4, size=int(random.integers(1, 4)), replace=False)
    for edge in edges:
        depth, slant = random.uniform(0.03, 0.12), random.uniform(-0.04, 0.04)
        if edge == 0:
            sheet &= xs >= width * depth + slant * ys
        elif edge == 1:
            sheet &= xs < width * (1 - depth) + slant * ys
        elif edge == 2:
            sheet &= ys >= height * depth + slant * xs
        else:
            sheet &= ys < height * (1 - depth) + slant * xs
    paper, table, pen = random.uniform(185, 245), random.uniform(25, 120), random.uniform(15, 70)
    frame = np.where(sheet, paper, table).astype(np.float32)
    if random.random() < 0.5:
        spacing = number_height * random.uniform(1.2, 2.0)
        offset = random.uniform(0, spacing)
        lines = (np.mod(ys - offset, spacing) < max(1.0, height / 600)) & sheet
        frame[lines] -= random.uniform(20, 45)
    # The number on the sheet, away from the table.
    free = np.argwhere(sheet)
    for _ in range(50):
        top, left = free[int(random.integers(len(free)))]
        top, left = min(top, height - ink.shape[0] - 1), min(left, width - ink.shape[1] - 1)
        if sheet[top:top + ink.shape[0], left:left + ink.shape[1]].all():
            break
    region = frame[top:top + ink.shape[0], left:left + ink.shape[1]]
    region += (pen - region) * ink
    # Light falling off across the frame, and noise.
    cx, cy = random.uniform(0, width), random.uniform(0, height)
    fall = random.uniform(0.0, 0.4)
    light = 1 - fall * np.hypot((xs - cx) / width, (ys - cy) / height) / 1.2
    frame = frame * light + random.normal(0, random.uniform(2, 5), frame.shape)
    orientation = int(random.choice([1, 3, 6, 8]))
    return np.clip(frame, 0, 255).round().astype(np.uint8), orientation


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("outdir")
    parser.add_argument("--count", type=int, default=1200)
    parser.add_argument("--seed", type=int, default=1)
    root = Path(__file__).resolve().parent.parent
    parser.add_argument("--mnist", default=str(root / "datasets" / "mnist"))
    parser.add_argument("--semeion", default=str(root.parent / "shared" / "datasets" / "dev" / "semeion"))
    parser.add_argument("--calibration", action="store_true")
    parser.add_argument("--embed", action="store_true")
    parser.add_argument("--photo", action="store_true")
    parser.add_argument("--close", action="store_true")
    args = parser.parse_args()
    # --calibration: MNIST *training* digits only, for choosing the reader's settings without
    # looking at the digits it is scored on (the test set, Semeion).
    mnist_images, mnist_labels = load_mnist(args.mnist, "train" if args.calibration else "test")
    semeion_images, semeion_labels = load_semeion(args.semeion)
    out = Path(args.outdir)
    (out / "png").mkdir(parents=True, exist_ok=True)
    rows = []
    for index in range(args.count):
        random = np.random.default_rng([args.seed, index])
        length = int(random.integers(2, 7))
        source = "semeion" if random.random() < 1 / 3 and not args.calibration else "mnist"
        images, labels = (semeion_images, semeion_labels) if source == "semeion" else (mnist_images, mnist_labels)
        picks = random.integers(0, len(labels), size=length)
        glyphs = [digit_glyph(images[p], random) for p in picks]
        canvas, touching = compose(glyphs, random)
        picture, look = style(canvas, random)
        name, form, extra = f"png/{index:04d}.png", "PNG", {}
        if args.photo:
            # Its own generator, so the numbers stay those of the same seed.
            frame, orientation = photograph(canvas, np.random.default_rng([args.seed, index, 2]), close=args.close)
            # Stored as a phone stores it: the pixels as the sensor saw them, turned back on
            # display by the EXIF orientation (3: half a turn; 6 and 8: a quarter turn).
            stored = Image.fromarray(frame)
            stored = {1: stored, 3: stored.rotate(180), 6: stored.rotate(90, expand=True), 8: stored.rotate(-90, expand=True)}[orientation]
            exif = Image.Exif()
            exif[0x0112] = orientation
            name, form, look = f"png/{index:04d}.jpg", "JPEG", "photo"
            picture, extra = stored, {"quality": int(np.random.default_rng([args.seed, index, 3]).integers(75, 91)), "exif": exif.tobytes()}
        elif args.embed:
            # Its own generator, so the numbers and their pictures stay those of the same seed.
            picture, jpeg = embed(picture, np.random.default_rng([args.seed, index, 1]))
            if jpeg:
                name, form = f"png/{index:04d}.jpg", "JPEG"
        temporary = out / (name + ".tmp")
        image = picture if isinstance(picture, Image.Image) else Image.fromarray(picture)
        image.save(temporary, format=form, **(extra or ({"quality": 80} if form == "JPEG" else {})))
        os.replace(temporary, out / name)
        rows.append({"file": name, "number": "".join(str(labels[p]) for p in picks), "digits": length,
                     "touching": int(touching), "source": f"{source}/{look}"})
    temporary = out / "labels.csv.tmp"
    with open(temporary, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["file", "number", "digits", "touching", "source"])
        writer.writeheader()
        writer.writerows(rows)
    os.replace(temporary, out / "labels.csv")
    touching = sum(r["touching"] for r in rows)
    print(f"make-numbers: {len(rows)} numbers in {out} ({touching} with touching digits)")


if __name__ == "__main__":
    main()
