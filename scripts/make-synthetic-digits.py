#!/usr/bin/env python3
"""Generates synthetic handwritten digits as extra training data, prepared exactly as MNIST's.

    make-synthetic-digits.py OUTDIR [--count N] [--seed S] [--preview FILE.png]    (N=20000, S=1)

Writes OUTDIR/synthetic-images-idx3-ubyte (N × 28 × 28), OUTDIR/synthetic-labels-idx1-ubyte
(picture i is digit i % 10, so the labels are balanced) and OUTDIR/synthetic.csv
(index,label,source; the source is "stroke:<template>" or "font:<name>"); with --preview, a PNG
grid twice the size, one row per digit 0–9 and 20 columns. Every file is written beside and
then renamed.

MNIST's writers were American (1990s); these digits add the styles it rarely shows. About 70%
are pen strokes, 30% characters of the hand-writing-like and plain fonts of make-drawings.py.
The pen-stroke templates are make-drawings.py's own, mixed about evenly with these, written as
people write them in much of Europe, Latin America and Asia:

    1  a long diagonal up-stroke (a third to a half of the height), with and without a base
    2  a round loop at the bottom left
    3  a flat top (a bar, a diagonal, a bowl)
    4  open at the top with a slanted left arm; in one stroke with a curved left side (like ч);
       a low bar with a short stem, the arm straight or curved like a C
    5  the top bar detached from the stem
    6  a large loop under a short stem
    7  a crossbar on a curved stem; a crossbar and a hooked start
    8  two stacked loops in one stroke
    9  a curved tail like a g; a cursive tail swept to the lower left and back along the foot;
       an open loop beside its stem

Every digit is varied: brush width 4–18% of its height (log-uniform, so some thick, blobby
writing), slant (shear ±0.35), rotation ±15° (the two together kept within -22°..+28°; a 1
mostly leaning right and at most 12° left, a flagged 1 within -10°..+14° lest it read as a 7,
a 7 turned at most 6° clockwise lest it read as a >), aspect ratio 0.5–1.6 (half of the draws
within 0.6–1.1; at most 1.15 for 6 and 9; a 1 keeps its own narrowness), jittered control
points, a smooth wobble and a small elastic (mesh) distortion; fonts are sometimes thinned or
thickened. Pen strokes are drawn 64–96 px tall, fonts 40–60 px. One in six is brought down to
12–20 px and binarized (a 1-bit scan; its strokes are at least 1.3 px wide there), one in
eighteen binarized as it is. Plain ink on a plain background, no paper or light: each is
prepared straight away, the MNIST way: ink white on black, dust under 10/255 dropped, cropped to
the ink, longer side scaled to 20 px by area averaging (Pillow BOX), pasted in 28 × 28 with its
intensity-weighted centre of mass at (14, 14) (offset round(14 − c), clamped inside), brightest
pixel 255.

It reads only fonts and make-drawings.py: never MNIST, and never the evaluation sets
(../shared/datasets/dev/). Every picture has a generator of its own seeded with (seed, index),
so the same seed gives byte-identical files and --count does not change the pictures before it
(the fonts a machine lacks change only the pictures that would have used them). Needs numpy and
Pillow (scripts/make-synthetic-digits sets them up).
"""
import argparse
import importlib.util
import math
import os
import struct
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter, ImageFont


def load_drawings():
    """make-drawings.py as a module (its name has a dash), without leaving bytecode behind."""
    sys.dont_write_bytecode = True
    path = Path(__file__).with_name("make-drawings.py")
    spec = importlib.util.spec_from_file_location("make_drawings", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


md = load_drawings()


# ---------------------------------------------------------------------------------------------
# More pen-stroke templates, in make-drawings.py's unit box (x right, y DOWN; arc angles
# counter-clockwise on screen, 0° right, 90° up). `p` is a make-drawings Pen, `u(lo, hi)` a draw.

def one_long_flag(p, u):
    # The continental 1: a long up-stroke from a third of the height down to near the foot, then
    # the stem.
    p.stroke().line((0.62 - u(0.3, 0.55), u(0.33, 0.85)), (0.62, 0.0), (0.62 + u(-0.03, 0.03), 1.0))


def one_long_flag_base(p, u):
    one_long_flag(p, u)
    p.stroke().line((0.62 - u(0.25, 0.35), 1.0), (0.62 + u(0.25, 0.35), 1.0))


def two_round_loop(p, u):
    # A round hook on top, the diagonal curling into a round loop at the bottom left, a long base.
    p.stroke().curve((0.1, 0.28), (0.3, 0.03), (0.62, 0.02), (0.86, 0.22), (0.8, 0.45),
                     (0.5, 0.7), (0.25, 0.86), (0.12, 0.98), (0.02, 0.93), (0.04, 0.8),
                     (0.2, 0.8), (0.32, 0.92), (0.55, 0.99), (0.8, 0.98), (0.97, 0.93))


def three_flat_z(p, u):
    # Flat top, a diagonal to the middle, then a deep bowl whose end curls up at the left.
    p.stroke().line((0.12, 0.03), (0.88, 0.0), (0.4, u(0.36, 0.44))) \
        .curve((0.4, 0.4), (0.72, 0.46), (0.9, 0.68), (0.72, 0.94), (0.4, 1.0), (0.1, 0.88), (0.05, 0.76))


def four_open_slanted(p, u):
    # Open at the top: a slanted left arm and the bar in one stroke, the stem apart and taller.
    bar = u(0.58, 0.68)
    p.stroke().line((0.45 + u(-0.05, 0.05), 0.04), (0.03, bar), (0.97, bar))
    p.stroke().line((0.72, 0.0), (0.7, 1.0))


def four_ch(p, u):
    # In one stroke like a Cyrillic ч: down the left, curving right into the bar, up to the top
    # of the stem, then all the way down it.
    bar = u(0.5, 0.62)
    top = u(0.0, 0.08)
    p.stroke().curve((0.1, top), (0.08, bar * 0.55), (0.22, bar * 0.95), (0.5, bar + 0.02), (0.76, bar)) \
        .line((0.76, bar), (0.8, 0.0), (0.78, 1.0))


def four_short_stem(p, u):
    # The arm down to the left and the bar in one stroke, low in the digit; the stem apart and
    # short: it starts well below the top and ends not far under the bar (or the arm curves
    # round like a C, as it does when written fast).
    bar = u(0.6, 0.78)
    start = (u(0.45, 0.75), 0.0)
    if u(0, 1) < 0.5:
        p.stroke().line(start, (0.03, bar), (0.97, bar))
    else:
        p.stroke().curve(start, (0.15, bar * 0.35), (0.04, bar * 0.8), (0.2, bar), (0.6, bar + 0.01)) \
            .line((0.6, bar + 0.01), (0.97, bar))
    stem_x = u(0.62, 0.8)
    p.stroke().line((stem_x, bar - u(0.2, 0.5)), (stem_x - u(0.0, 0.05), min(1.0, bar + u(0.15, 0.35))))


def five_detached(p, u):
    # Stem and belly first; the bar above, not touching the stem.
    p.stroke().line((0.2, 0.1), (0.16, 0.46)).arc(0.48, 0.69, 0.4, 0.3, 145, -150)
    gap = u(0.05, 0.12)
    p.stroke().line((0.2 + gap, 0.0), (0.88, -0.02))


def six_big_loop(p, u):
    # A short stem falling into a loop that takes up most of the height.
    ry, rx = u(0.33, 0.4), u(0.38, 0.46)
    cx, cy = 0.5, 1.0 - ry
    p.stroke().curve((0.72, 0.0), (0.4, 0.1), (cx - rx + 0.03, cy - ry * 0.6), (cx - rx, cy)) \
        .arc(cx, cy, rx, ry, 180, 180 + u(330, 360))


def seven_curved_bar(p, u):
    p.stroke().line((0.05, 0.05), (0.95, 0.03)).curve((0.95, 0.03), (0.62, 0.45), (0.48, 1.0))
    p.stroke().line((0.4, 0.5), (0.92, 0.48))


def seven_hook_bar(p, u):
    # A little down-tick where the pen lands, the top bar, a straight stem and a crossbar.
    p.stroke().line((0.06, u(0.12, 0.2)), (0.05, 0.03), (0.95, 0.02), (0.42, 1.0))
    p.stroke().line((0.4, 0.52), (0.92, 0.5))


def eight_stacked(p, u):
    # Two loops, one on the other, in one stroke from the waist: the top one, then the bottom.
    top = u(0.2, 0.24)
    waist = 2 * top
    bottom = (1.0 - waist) / 2
    p.stroke().arc(0.5, top, 0.3, top, 270, 270 - 360).arc(0.5, waist + bottom, 0.4, bottom, 90, 90 + 360)


def nine_g(p, u):
    # The tail curves down and back to the left under the loop, like a g.
    cx, cy, rx = md.nine_loop(p, u)
    p.curve((cx + rx, cy), (cx + rx, cy + 0.35), (cx + rx - 0.12, 0.9), (cx - 0.05, 1.0), (cx - rx, 0.9),
            (cx - rx - 0.02, 0.8))


def nine_swept(p, u):
    # A cursive 9: a round closed loop, then the tail leaves its right side, sweeps down to the
    # lower left and turns back right into a short foot that curls up (sometimes on up towards
    # the loop, closing a second bowl as a cursive g does). The loop stays large and closed and
    # the foot short and rising, lest it read as a 2 with a looped top.
    ry, rx = u(0.18, 0.26), u(0.3, 0.4)
    cx, cy = 0.5, ry
    p.stroke().arc(cx, cy, rx, ry, u(0, 30), 380)
    foot = u(0.92, 1.0)
    left = u(0.0, 0.12)
    p.curve((cx + rx, cy), (cx + rx - u(0.0, 0.08), cy + u(0.2, 0.3)), (0.5 * (left + cx), 0.72),
            (left, foot - 0.08), (0.25, foot), (u(0.45, 0.7), foot - u(0.08, 0.25)))
    if u(0, 1) < 0.35:
        p.curve((0.6, 0.85), (cx + rx * u(0.3, 0.7), cy + ry + u(0.08, 0.18)))


def nine_open(p, u):
    # The loop left open at its lower right, the stem beside it from the top of the loop.
    ry, rx = u(0.2, 0.27), u(0.32, 0.4)
    cx, cy = 0.46, ry
    p.stroke().arc(cx, cy, rx, ry, u(35, 60), u(310, 330))
    p.stroke().line((cx + rx * 0.9, cy - ry * 0.85), (cx + rx + u(-0.06, 0.02), 1.0))


# make-drawings' templates and these, each digit's picked evenly.
NAMES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
TEMPLATES = {digit: list(templates) for digit, templates in md.TEMPLATES.items()}
for template in [one_long_flag, one_long_flag_base, two_round_loop, three_flat_z, four_open_slanted,
                 four_ch, four_short_stem, five_detached, six_big_loop, seven_curved_bar, seven_hook_bar,
                 eight_stacked, nine_g, nine_swept, nine_open]:
    TEMPLATES[NAMES.index(template.__name__.split("_")[0])].append(template)
FLAGGED_ONES = {"one_flag", "one_flag_base", "one_long_flag", "one_long_flag_base"}


def lean_and_turn(rng, digit, flagged):
    """Shear (as a slant) and rotation in degrees, positive leaning right. Their sum stays within
    -22°..+28°: a 1 leaning far left reads as a \\, a flagged one leaning far as a 7 or a /, and
    a 7 turned clockwise as a >."""
    lean = math.degrees(math.atan(rng.uniform(-0.35, 0.35)))
    turn = rng.uniform(-15, 15)
    if flagged:
        lean = math.degrees(math.atan(rng.uniform(-0.15, 0.2)))
        turn = min(max(rng.uniform(-6, 6), -10 - lean), 14 - lean)
    elif digit == 1:  # people lean a 1 right far more often than left
        lean = math.degrees(math.atan(rng.uniform(-0.2, 0.35)))
        turn = rng.uniform(-8, 15)
    elif digit == 7:
        turn = rng.uniform(-12, 6)
    return lean, min(max(turn, (-12 if digit == 1 else -22) - lean), 28 - lean)


def aspect_target(rng, digit):
    """Width over height: half the time log-uniform in 0.5–1.6, half the time in 0.6–1.1 (most
    people write most digits narrower than tall). A 6 or a 9 wider than 1.15 looks like a
    lying loop with a tail, so those stop there."""
    low, high = (0.5, 1.6) if rng.random() < 0.5 else (0.6, 1.1)
    target = math.exp(rng.uniform(math.log(low), math.log(high)))
    return min(target, 1.15) if digit in (6, 9) else target


class PenDigit(md.StrokeDigit):
    """A template from TEMPLATES, varied more widely than make-drawings varies it; drawn with
    make-drawings' round brush (StrokeDigit.mask)."""

    def __init__(self, rng, digit):
        u = lambda lo, hi: float(rng.uniform(lo, hi))
        templates = TEMPLATES[digit]
        template = templates[int(rng.integers(len(templates)))]
        self.source = "stroke:" + template.__name__
        pen = md.Pen(rng, jitter=u(0.006, 0.022))
        template(pen, u)
        strokes = [md.extend_ends(stroke, u(-0.03, 0.04), u(-0.03, 0.05)) for stroke in pen.strokes]
        strokes = [stroke for stroke in strokes if len(stroke) >= 2]

        # A smooth wobble of the whole digit (the raster gets an elastic one later as well).
        k = rng.uniform(2, 6, (2, 2))
        phase = rng.uniform(0, 2 * np.pi, 2)
        amplitude = u(0.005, 0.025)

        def wobble(q):
            return q + amplitude * np.sin(q @ k.T + phase)
        strokes = [wobble(stroke) for stroke in strokes]

        points = np.vstack(strokes)
        natural = max(np.ptp(points[:, 0]), 1e-3) / np.ptp(points[:, 1])
        # A 1 keeps its own narrowness (a plain 1 has next to no width); the rest get 0.5–1.6.
        sx = u(0.7, 1.4) if digit == 1 else aspect_target(rng, digit) / natural
        lean, turn = lean_and_turn(rng, digit, template.__name__ in FLAGGED_ONES)
        shear, angle = math.tan(math.radians(lean)), math.radians(turn)
        rotate = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
        center = points.mean(axis=0)

        def transform(q):
            q = (q - center) * [sx, 1.0]
            q = np.stack([q[:, 0] - shear * q[:, 1], q[:, 1]], axis=1)  # y down: positive leans right
            return q @ rotate.T
        self.strokes = [transform(stroke) for stroke in strokes]

        self.pressure = u(0.1, 0.35) if rng.random() < 0.4 else 0.0
        self.pressure_cycles = u(0.5, 2.0)
        self.pressure_phase = u(0, 2 * np.pi)
        self.taper = rng.random() < 0.25


_font_cache = {}


def font_aspect(path, char):
    """Width over height of a glyph as the font draws it."""
    key = (path, char)
    if key not in _font_cache:
        x0, y0, x1, y1 = ImageFont.truetype(path, 200).getbbox(char)
        _font_cache[key] = (x1 - x0) / (y1 - y0)
    return _font_cache[key]


def font_digit(rng, digit, font):
    """make-drawings' FontDigit with this generator's ranges of stretch, slant and turn."""
    shape = md.FontDigit(rng, digit, font)
    natural = font_aspect(font[1], str(digit))
    shape.sx = rng.uniform(0.7, 1.5) if digit == 1 else aspect_target(rng, digit) / natural
    lean, turn = lean_and_turn(rng, digit, False)
    shape.shear = math.tan(math.radians(lean))
    shape.angle = math.radians(turn)
    return shape


def thickened(coverage, amount):
    """Dilates coverage by about `amount` pixels (blur, then keep what is even faintly inked)."""
    image = Image.fromarray(np.round(np.pad(coverage, int(amount) + 3) * 255).astype(np.uint8))
    soft = np.asarray(image.filter(ImageFilter.GaussianBlur(amount / 0.84)), np.float32) / 255
    return np.clip((soft - 0.2) / 0.08 + 0.5, 0, 1)


def elastic(coverage, rng, amount):
    """A small smooth distortion: a 4×4 mesh whose source corners move by about `amount` px."""
    pad = int(math.ceil(3 * amount)) + 2
    image = Image.fromarray(np.round(np.pad(coverage, pad) * 255).astype(np.uint8))
    w, h = image.size
    cells = 4
    xs, ys = np.linspace(0, w, cells + 1), np.linspace(0, h, cells + 1)
    shift = rng.normal(0, amount, (cells + 1, cells + 1, 2))
    shift[0, :] = shift[-1, :] = shift[:, 0] = shift[:, -1] = 0  # the (blank) border stays put
    mesh = []
    for j in range(cells):
        for i in range(cells):
            corner = lambda a, b: (xs[a] + shift[b, a, 0], ys[b] + shift[b, a, 1])
            quad = corner(i, j) + corner(i, j + 1) + corner(i + 1, j + 1) + corner(i + 1, j)
            box = (int(round(xs[i])), int(round(ys[j])), int(round(xs[i + 1])), int(round(ys[j + 1])))
            mesh.append((box, quad))
    out = image.transform((w, h), Image.Transform.MESH, mesh, resample=Image.Resampling.BILINEAR)
    return np.asarray(out, np.float32) / 255


def low_resolution(coverage, side, rng):
    """The digit at `side` px (its longer side), binarized: a 1-bit scan of a small digit."""
    h, w = coverage.shape
    scale = side / max(h, w)
    size = (max(1, int(round(w * scale))), max(1, int(round(h * scale))))
    image = Image.fromarray(np.round(coverage * 255).astype(np.uint8)).resize(size, Image.Resampling.BOX)
    return binarized(np.asarray(image, np.float32) / 255, rng, (0.2, 0.45))


def binarized(coverage, rng, thresholds=(0.3, 0.6)):
    threshold = rng.uniform(*thresholds) * float(coverage.max())
    return (coverage > threshold).astype(np.float32)


def render(rng, digit, fonts):
    """The digit's ink (0–1), and its source. Pen strokes are drawn 64–96 px tall, fonts (which
    the 4× supersampling of FontDigit makes slower) 40–60 px; one in six is then brought down to
    12–20 px and binarized, one in eighteen binarized as it is."""
    kind = rng.random()
    small = int(rng.integers(12, 21)) if kind < 1 / 6 else None
    font = None
    if rng.random() < 0.3:
        # A family first, so the six Comic Neue weights do not crowd out the others; a font
        # this machine lacks is replaced by one it has (changing only this picture).
        family = md.FONT_FAMILIES[int(rng.integers(len(md.FONT_FAMILIES)))]
        font = family[int(rng.integers(len(family)))]
        if font not in fonts:
            font = fonts[int(rng.integers(len(fonts)))] if fonts else None
    if font is not None:
        ink_height = float(rng.uniform(40, 60))
        shape = font_digit(rng, digit, font)
        coverage = shape.mask(ink_height, 0)
        change = rng.random()
        if change < 0.2:
            coverage = thickened(coverage, rng.uniform(0.01, 0.05) * ink_height)
        elif change < 0.35 and shape.name not in md.THINNED and small is None:
            thinned = md.thin(Image.fromarray(np.round(coverage * 255).astype(np.uint8)),
                              rng.uniform(0.005, 0.02) * ink_height)
            if np.asarray(thinned).max() > 128:
                coverage = np.asarray(thinned, np.float32) / 255
    else:
        ink_height = float(rng.uniform(64, 96))
        shape = PenDigit(rng, digit)
        width = math.exp(rng.uniform(math.log(0.04), math.log(0.18))) * ink_height
        if small is not None:  # at least 1.3 px wide once small, or the 1-bit strokes break up
            width = max(width, 1.3 * ink_height / small)
        coverage = shape.mask(ink_height, width)
    coverage = elastic(coverage, rng, rng.uniform(0, 0.025) * ink_height)
    if small is not None:
        coverage = low_resolution(coverage, small, rng)
    elif kind < 0.22:
        coverage = binarized(coverage, rng)
    return coverage, shape.source


def round_half_up(value):
    return int(math.floor(value + 0.5))


def prepare(coverage):
    """The MNIST preparation: 28 × 28 uint8, white ink on black."""
    ink = np.round(np.clip(coverage, 0, 1) * 255).astype(np.uint8)
    ink[ink < 10] = 0  # dust
    rows, cols = np.flatnonzero(ink.max(axis=1)), np.flatnonzero(ink.max(axis=0))
    ink = ink[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    h, w = ink.shape
    scale = 20 / max(h, w)
    size = (20, max(1, round_half_up(h * scale))) if w >= h else (max(1, round_half_up(w * scale)), 20)
    small = np.asarray(Image.fromarray(ink).resize(size, Image.Resampling.BOX), np.float64)
    mass = small.sum()
    if mass == 0:
        raise RuntimeError("the ink vanished in the scaling")
    cy = (small.sum(axis=1) @ np.arange(size[1])) / mass
    cx = (small.sum(axis=0) @ np.arange(size[0])) / mass
    ox = min(max(round_half_up(14 - cx), 0), 28 - size[0])
    oy = min(max(round_half_up(14 - cy), 0), 28 - size[1])
    out = np.zeros((28, 28), np.float64)
    out[oy:oy + size[1], ox:ox + size[0]] = small
    return np.round(out * (255 / out.max())).astype(np.uint8)


def write_atomically(path, data):
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(temporary, "wb") as f:
        f.write(data)
    os.replace(temporary, path)


def preview(images, labels, columns=20, zoom=2, gap=2):
    """Rows for digits 0–9 with the first `columns` pictures of each, `zoom` times their size."""
    cell = 28 * zoom + gap
    sheet = np.full((10 * cell + gap, columns * cell + gap), 70, np.uint8)
    for digit in range(10):
        picks = np.flatnonzero(labels == digit)[:columns]
        for column, index in enumerate(picks):
            big = np.kron(images[index], np.ones((zoom, zoom), np.uint8))
            y, x = gap + digit * cell, gap + column * cell
            sheet[y:y + 28 * zoom, x:x + 28 * zoom] = big
    return Image.fromarray(sheet)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--count", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--preview", type=Path)
    args = parser.parse_args()
    if args.count < 1 or args.seed < 0:
        parser.error("--count must be at least 1 and --seed not negative")

    fonts = [f for family in md.FONT_FAMILIES for f in family if Path(f[1]).is_file()]
    images = np.zeros((args.count, 28, 28), np.uint8)
    labels = (np.arange(args.count) % 10).astype(np.uint8)
    sources = []
    for index in range(args.count):
        rng = np.random.default_rng([args.seed, index])
        coverage, source = render(rng, int(labels[index]), fonts)
        images[index] = prepare(coverage)
        sources.append(source)

    args.outdir.mkdir(parents=True, exist_ok=True)
    write_atomically(args.outdir / "synthetic-images-idx3-ubyte",
                     struct.pack(">IIII", 0x803, args.count, 28, 28) + images.tobytes())
    write_atomically(args.outdir / "synthetic-labels-idx1-ubyte",
                     struct.pack(">II", 0x801, args.count) + labels.tobytes())
    lines = ["index,label,source"] + [f"{i},{labels[i]},{s}" for i, s in enumerate(sources)]
    write_atomically(args.outdir / "synthetic.csv", ("\n".join(lines) + "\n").encode())
    if args.preview is not None:
        args.preview.parent.mkdir(parents=True, exist_ok=True)
        temporary = args.preview.with_name(f".{args.preview.name}.tmp-{os.getpid()}.png")
        preview(images, labels).save(temporary)
        os.replace(temporary, args.preview)


if __name__ == "__main__":
    main()
