#!/usr/bin/env python3
"""Generates "not a digit" training pictures (label 10), prepared exactly as MNIST digits are.

    make-negatives.py OUTDIR [--count N] [--seed S] [--preview FILE.png] [--pictures DIR]
                                                                            (N=30000, S=1)

Writes OUTDIR/negatives-images-idx3-ubyte (N × 28 × 28), OUTDIR/negatives-labels-idx1-ubyte
(every label 10) and OUTDIR/negatives.csv (index,category,source); with --preview, a PNG grid
of the first 200 pictures, twice their size; with --pictures, also each picture as drawn (before
the preparation, dark ink on white: DIR/png/NNNNN.png) and DIR/labels.csv (file,kind), a set for
scripts/score-dev.py, to choose the number reader's settings on pictures that are not digits
without looking at the dev set. Every file is written beside and then renamed.

The categories take turns, so each has a sixth of the pictures:

    letter     Latin letters that nobody writes like a digit (A E F H K M N P R V W X Y and
               a d e f h k m n p r v w x y), typed in the hand-writing and plain fonts of
               make-drawings.py, or written with a pen (templates for 23 of them)
    symbol     + − × ÷ = ≠ % # @ & ? ! * < > ~ ^ € £ ¥ π Σ √ ∞ ( ) [ ] { } in fonts, and
               + × = # * ? ! ÷ ≠ < > with a pen
    scribble   smooth random curves, zigzags, spirals, loops of loops, hatching, crossed-out
               scribbles, spaghetti
    shape      outlined triangles, rectangles, stars, crosses, arrows, hearts, pentagons,
               hexagons, check marks; solid triangles, rectangles and blobs
    texture    a field of dots, a grid, blobs of smoothed noise, a solid region with holes,
               several short dashes
    fragment   two or three short, unrelated strokes

Each is slanted, sheared, turned (±20°) and stretched (aspect 0.6–1.6), drawn with a round brush
1.5–12% of its size wide (or typed), sometimes with a second random stroke over it, aliased,
blurred or binarized; then prepared the MNIST way: ink white on black, cropped to the ink,
longer side scaled to 20 px by area averaging, placed in 28 × 28 with its centre of mass at
(14, 14), brightest pixel 255. Letters and symbols that look like digits (O I l S Z B G q
T t C U ..., / \\ | - $) are left out, and so are single ovals and single straight lines;
shapes that squeezed or slanted would pass for a 0 or a 1 keep their proportions.

It never draws a digit, and it reads only fonts and make-drawings.py: in particular nothing from the
evaluation sets (../shared/datasets/dev/). Every picture has a generator of its own seeded with
(seed, index), so the same seed gives byte-identical files and --count does not change the
pictures before it. Needs numpy and Pillow (scripts/make-negatives sets them up); reuses the
pen, spline, font list and affine helpers of make-drawings.py.
"""
import argparse
import csv
import importlib.util
import io
import math
import os
import struct
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont


def load_drawings():
    """make-drawings.py as a module (its name has a dash), without leaving bytecode behind."""
    sys.dont_write_bytecode = True
    spec = importlib.util.spec_from_file_location("make_drawings", Path(__file__).with_name("make-drawings.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


drawings = load_drawings()
Pen, catmull_rom, ellipse_points = drawings.Pen, drawings.catmull_rom, drawings.ellipse_points

CATEGORIES = ["letter", "symbol", "scribble", "shape", "texture", "fragment"]
LABEL = 10
SIDE, BOX = 28, 20

# Letters people do not write like a digit; O Q D I l i j J L S s Z z B b G g q T t C c U u are
# out (0, 1, 5, 2, 8, 6, 9, 7 and parts of 0).
FONT_LETTERS = "AEFHKMNPRVWXYadefhkmnprvwxy"
FONT_SYMBOLS = "+−×÷=≠%#@&?!*<>~^€£¥πΣ√∞()[]{}"  # no $: an S with a short bar, too near a 5
# Glyphs some fonts draw unlike the character: Humor Sans's small-caps d is a D (a 0), its € and
# £ are odd marks; Dancing Script's r is much like a 2.
FONT_EXCLUDED = {"Humor-Sans": "d€£", "DancingScript-Regular": "r", "DancingScript-Bold": "r"}
# Wide, flat characters: turned half as far, or a − and a = become a / or a slanted 11.
LEVEL = "−=~∞≠÷"


# ---------------------------------------------------------------------------------------------
# Pen templates, in a unit box with y DOWN (as make-drawings.py's); `u` draws a uniform number.

def _dot(p, x, y):
    # A dot: a stroke of one point, drawn as one dab of the brush (a little bigger).
    p.stroke().line((x, y))


def _asterisk(p, arms):
    for a in np.pi / 2 + np.arange(arms) * np.pi / arms:
        p.stroke().line((0.5 - 0.5 * math.cos(a), 0.5 - 0.5 * math.sin(a)), (0.5 + 0.5 * math.cos(a), 0.5 + 0.5 * math.sin(a)))


PEN_LETTERS = {
    "A": lambda p, u: (p.stroke().line((0.0, 1.0), (0.5, 0.0), (1.0, 1.0)),
                       p.stroke().line((0.22, u(0.55, 0.7)), (0.78, u(0.55, 0.7)))),
    "E": lambda p, u: (p.stroke().line((0.9, 0.0), (0.1, 0.0), (0.1, 1.0), (0.9, 1.0)),
                       p.stroke().line((0.1, 0.5), (u(0.6, 0.8), 0.5))),
    "F": lambda p, u: (p.stroke().line((0.9, 0.0), (0.1, 0.0), (0.1, 1.0)),
                       p.stroke().line((0.1, 0.48), (u(0.55, 0.75), 0.48))),
    "H": lambda p, u: (p.stroke().line((0.1, 0.0), (0.1, 1.0)), p.stroke().line((0.9, 0.0), (0.9, 1.0)),
                       p.stroke().line((0.1, u(0.4, 0.6)), (0.9, u(0.4, 0.6)))),
    "K": lambda p, u: (p.stroke().line((0.15, 0.0), (0.15, 1.0)),
                       p.stroke().line((0.85, 0.0), (0.15, u(0.45, 0.6)), (0.9, 1.0))),
    "M": lambda p, u: p.stroke().line((0.05, 1.0), (0.1, 0.0), (0.5, u(0.5, 0.8)), (0.9, 0.0), (0.95, 1.0)),
    "N": lambda p, u: p.stroke().line((0.1, 1.0), (0.1, 0.0), (0.9, 1.0), (0.9, 0.0)),
    "R": lambda p, u: (p.stroke().line((0.15, 1.0), (0.15, 0.0)),
                       p.stroke().curve((0.15, 0.0), (0.6, 0.02), (0.82, 0.22), (0.6, 0.45), (0.15, 0.48))
                       .line((0.15, 0.48), (0.45, 0.48), (0.88, 1.0))),
    "V": lambda p, u: p.stroke().line((0.0, 0.0), (0.5, 1.0), (1.0, 0.0)),
    "W": lambda p, u: p.stroke().line((0.0, 0.0), (0.25, 1.0), (0.5, u(0.25, 0.5)), (0.75, 1.0), (1.0, 0.0)),
    "X": lambda p, u: (p.stroke().line((0.0, 0.0), (1.0, 1.0)), p.stroke().line((1.0, 0.0), (0.0, 1.0))),
    "Y": lambda p, u: (p.stroke().line((0.0, 0.0), (0.5, 0.5)), p.stroke().line((1.0, 0.0), (0.5, 0.5), (0.5, 1.0))),
    "a": lambda p, u: (p.stroke().arc(0.45, 0.5, 0.4, 0.48, 40, 400), p.stroke().line((0.86, 0.05), (0.9, 1.0))),
    "e": lambda p, u: p.stroke().line((0.1, 0.5), (0.9, 0.45)).curve(
        (0.9, 0.45), (0.75, 0.08), (0.45, 0.0), (0.12, 0.3), (0.15, 0.8), (0.5, 1.0), (0.9, 0.85)),
    "h": lambda p, u: (p.stroke().line((0.15, 0.0), (0.15, 1.0)),
                       p.stroke().curve((0.15, 0.62), (0.45, 0.4), (0.8, 0.5), (0.84, 1.0))),
    "k": lambda p, u: (p.stroke().line((0.15, 0.0), (0.15, 1.0)),
                       p.stroke().line((0.8, 0.4), (0.15, 0.75), (0.85, 1.0))),
    "m": lambda p, u: (p.stroke().line((0.05, 0.0), (0.05, 1.0)),
                       p.stroke().curve((0.05, 0.2), (0.27, 0.0), (0.47, 0.2), (0.48, 1.0)),
                       p.stroke().curve((0.48, 0.2), (0.72, 0.0), (0.93, 0.2), (0.95, 1.0))),
    "n": lambda p, u: (p.stroke().line((0.1, 0.0), (0.1, 1.0)),
                       p.stroke().curve((0.1, 0.25), (0.45, 0.0), (0.85, 0.2), (0.9, 1.0))),
    "r": lambda p, u: (p.stroke().line((0.15, 0.0), (0.15, 1.0)),
                       p.stroke().curve((0.15, 0.4), (0.4, 0.08), (0.7, 0.0), (0.95, 0.12))),
    "v": lambda p, u: p.stroke().curve((0.0, 0.0), (0.3, 0.7), (0.5, 1.0), (0.7, 0.7), (1.0, 0.0)),
    "w": lambda p, u: p.stroke().curve((0.0, 0.0), (0.15, 0.8), (0.27, 1.0), (0.42, 0.6), (0.5, 0.3),
                                       (0.58, 0.6), (0.73, 1.0), (0.85, 0.8), (1.0, 0.0)),
    "x": lambda p, u: (p.stroke().line((0.0, 0.0), (1.0, 1.0)), p.stroke().line((1.0, 0.0), (0.0, 1.0))),
    "y": lambda p, u: (p.stroke().line((0.05, 0.0), (0.5, 0.55)),
                       p.stroke().line((0.95, 0.0), (0.35, 1.0)).curve((0.35, 1.0), (0.2, 1.1), (0.05, 1.0))),
}

PEN_SYMBOLS = {
    "+": lambda p, u: (p.stroke().line((0.5, 0.0), (0.5, 1.0)), p.stroke().line((0.0, 0.5), (1.0, 0.5))),
    "×": lambda p, u: (p.stroke().line((0.0, 0.0), (1.0, 1.0)), p.stroke().line((1.0, 0.0), (0.0, 1.0))),
    "=": lambda p, u: (p.stroke().line((0.0, 0.0), (1.0, 0.0)), p.stroke().line((0.0, u(0.3, 0.6)), (1.0, u(0.3, 0.6)))),
    "#": lambda p, u: (p.stroke().line((0.35, 0.0), (0.25, 1.0)), p.stroke().line((0.75, 0.0), (0.65, 1.0)),
                       p.stroke().line((0.0, 0.33), (1.0, 0.33)), p.stroke().line((0.0, 0.67), (1.0, 0.67))),
    "*": lambda p, u: _asterisk(p, 3 if u(0, 1) < 0.5 else 4),
    "?": lambda p, u: (p.stroke().curve((0.1, 0.25), (0.45, 0.0), (0.88, 0.18), (0.78, 0.42), (0.5, 0.55), (0.5, 0.72)),
                       _dot(p, 0.5, 1.0)),
    "!": lambda p, u: (p.stroke().line((0.5, 0.0), (0.5, u(0.6, 0.7))), _dot(p, 0.5, 1.0)),
    "÷": lambda p, u: (p.stroke().line((0.0, 0.5), (1.0, 0.5)), _dot(p, 0.5, 0.1), _dot(p, 0.5, 0.9)),
    "≠": lambda p, u: (p.stroke().line((0.0, 0.35), (1.0, 0.35)), p.stroke().line((0.0, 0.65), (1.0, 0.65)),
                       p.stroke().line((0.75, 0.0), (0.25, 1.0))),
    "<": lambda p, u: p.stroke().line((1.0, 0.0), (0.0, 0.5), (1.0, 1.0)),
    ">": lambda p, u: p.stroke().line((0.0, 0.0), (1.0, 0.5), (0.0, 1.0)),
}
# Characters typed with a font only: their template would need too much care.
assert set(PEN_LETTERS) <= set(FONT_LETTERS)


# ---------------------------------------------------------------------------------------------
# What is drawn: a list of items (kind, points, weight) in unit coordinates. "stroke" is the
# round brush along the points (weight × the brush width; one point is a dab), "fill" and
# "hole" paint a polygon in ink or erase it.

def smooth(points, samples=8):
    return catmull_rom(points, samples)


def polygon(n, radius=0.5, phase=0.0, centre=(0.5, 0.5)):
    t = phase + np.arange(n) * 2 * np.pi / n
    return np.stack([centre[0] + radius * np.cos(t), centre[1] - radius * np.sin(t)], axis=1)


def closed(points, rng, jitter):
    """A hand-drawn closed outline: jittered corners, ending near (not exactly at) the start."""
    q = points + rng.normal(0, jitter, points.shape)
    end = q[0] + rng.normal(0, jitter, 2)
    return np.vstack([q, end])


def elongated(points):
    """Minor over major spread of the points: near 0 for a straight line."""
    s = np.linalg.svd(points - points.mean(axis=0), compute_uv=False)
    return s[1] / max(s[0], 1e-9)


def random_curve(rng, n):
    """Catmull-Rom through n random points that do not all lie along one line."""
    for _ in range(20):
        points = rng.uniform(0, 1, (n, 2))
        if elongated(points) > 0.3:
            break
    return smooth(points)


def scribble(rng, width):
    u = rng.uniform
    kind = ["curve", "zigzag", "spiral", "loops", "hatching", "crossed-out", "spaghetti"][int(rng.integers(7))]
    items = []
    if kind == "curve":
        items.append(("stroke", random_curve(rng, int(rng.integers(4, 13))), 1.0))
    elif kind == "zigzag":
        n = int(rng.integers(5, 11))
        x = np.linspace(0, 1, n) + rng.normal(0, 0.2 / n, n)
        y = np.where(np.arange(n) % 2, u(0.6, 1.0), u(0.0, 0.4)) + rng.normal(0, 0.05, n)
        points = np.stack([x, y * u(0.2, 0.8)], axis=1)
        items.append(("stroke", smooth(points) if rng.random() < 0.4 else points, 1.0))
    elif kind == "spiral":
        # Rings further apart than about twice the brush (thick brushes: fewer turns), and at
        # least two and a half turns (one or two read as a 6, a 9 or an @).
        turns = u(2.5, max(2.6, min(4.5, 0.3 / width)))
        t = np.linspace(0, turns * 2 * np.pi, int(turns * 40))
        r = np.linspace(u(0.0, 0.1), 0.5, len(t)) ** u(0.8, 1.2)
        direction = 1 if rng.random() < 0.5 else -1
        items.append(("stroke", np.stack([0.5 + r * np.cos(direction * t), 0.5 + r * np.sin(direction * t) * u(0.7, 1.0)], 1), 1.0))
    elif kind == "loops":  # a coil of loops, like a row of cursive e's or l's
        loops = u(3, 7)
        t = np.linspace(0, loops * 2 * np.pi, int(loops * 30))
        r, step = u(0.3, 0.5), u(0.5, 1.2)
        x = step * t / (2 * np.pi) + r * np.cos(t + np.pi)
        y = -r * np.sin(t) * u(0.8, 1.5)
        items.append(("stroke", np.stack([x, y], 1), 1.0))
    elif kind == "hatching":
        lines = int(rng.integers(3, 9))
        angle = u(0, np.pi)
        for direction in [angle] + ([angle + u(0.6, 2.5)] if rng.random() < 0.35 else []):
            d = np.array([math.cos(direction), math.sin(direction)])
            n = np.array([-d[1], d[0]])
            for k in range(lines):
                centre = n * (k / (lines - 1) - 0.5) + d * rng.normal(0, 0.08)
                half = 0.5 * u(0.7, 1.0)
                items.append(("stroke", np.stack([centre - d * half, centre + d * half]) + rng.normal(0, 0.02, (2, 2)), 1.0))
    elif kind == "crossed-out":
        # A scribble, or the scratching back and forth that hides a word, struck through.
        if rng.random() < 0.5:
            items.append(("stroke", random_curve(rng, int(rng.integers(5, 12))), 1.0))
        else:
            n = int(rng.integers(8, 20))
            x = np.linspace(0, 1, n) + rng.normal(0, 0.03, n)
            y = np.where(np.arange(n) % 2, 0.9, 0.1) + rng.normal(0, 0.08, n)
            items.append(("stroke", np.stack([x, y * u(0.3, 1.0)], 1), 1.0))
        for _ in range(int(rng.integers(1, 4))):
            a, b = [u(-0.1, 0.3), u(0, 1)], [u(0.7, 1.1), u(0, 1)]
            items.append(("stroke", np.array([a, b]), 1.0))
    else:  # spaghetti
        for _ in range(int(rng.integers(2, 5))):
            items.append(("stroke", random_curve(rng, int(rng.integers(3, 7))), 1.0))
    return kind, items


SHAPES = ["triangle", "rectangle", "star", "cross", "arrow", "heart", "pentagon", "hexagon", "check",
          "solid-triangle", "solid-rectangle", "solid-blob"]


def shape(rng):
    u = rng.uniform
    kind = SHAPES[int(rng.integers(len(SHAPES)))]
    jitter = u(0.005, 0.03)
    if kind in ("triangle", "solid-triangle"):
        points = polygon(3, phase=np.pi / 2 + u(-0.4, 0.4)) + rng.normal(0, 0.06, (3, 2))
    elif kind in ("rectangle", "solid-rectangle"):
        w = u(0.4, 1.6)
        points = np.array([[0, 0], [w, 0], [w, 1], [0, 1]], float)
    elif kind == "star":
        if rng.random() < 0.5:  # drawn in one stroke, as children draw it
            points = polygon(5, phase=np.pi / 2)[[0, 2, 4, 1, 3]]
        else:
            inner = u(0.3, 0.5)
            points = np.vstack([polygon(5, phase=np.pi / 2), polygon(5, inner * 0.5, np.pi / 2 + np.pi / 5)])
            points = points[np.ravel(np.stack([np.arange(5), 5 + np.arange(5)], 1))]
    elif kind == "cross":
        a = u(0.15, 0.22)
        o = [0.5 - a, 0.5 + a]
        points = np.array([[o[0], 0], [o[1], 0], [o[1], o[0]], [1, o[0]], [1, o[1]], [o[1], o[1]],
                           [o[1], 1], [o[0], 1], [o[0], o[1]], [0, o[1]], [0, o[0]], [o[0], o[0]]])
    elif kind == "arrow":
        # Pointing sideways (an arrow up or down is too much like a 1 with a flag).
        angle = u(-0.9, 0.9) + (np.pi if rng.random() < 0.5 else 0.0)
        d = np.array([math.cos(angle), -math.sin(angle)])
        n = np.array([-d[1], d[0]])
        tip, tail = 0.5 + 0.5 * d, 0.5 - 0.5 * d
        head = u(0.2, 0.35)
        spread = u(0.5, 0.8) * head
        wings = [tip - d * head + n * spread, tip - d * head - n * spread]
        items = [("stroke", np.array([tail, tip]), 1.0)]
        if rng.random() < 0.6:
            items.append(("stroke", np.array([wings[0], tip, wings[1]]), 1.0))
        else:  # a solid head
            items.append(("fill", np.array([wings[0], tip, wings[1]]), 1.0))
        return kind, [(k, p + rng.normal(0, jitter, p.shape), w) for k, p, w in items]
    elif kind == "heart":
        t = np.linspace(0, 2 * np.pi, 80)
        x = 16 * np.sin(t) ** 3
        y = -(13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t))
        return kind, [("fill" if rng.random() < 0.3 else "stroke", np.stack([x, y], 1) / 32, 1.0)]
    elif kind == "pentagon":
        points = polygon(5, phase=np.pi / 2 + u(-0.3, 0.3))
    elif kind == "hexagon":
        points = polygon(6, phase=u(0, np.pi / 3))
    elif kind == "check":  # a long first stroke: a short one makes a J or a 1 with a foot
        low = np.array([u(0.3, 0.42), 1.0])
        return kind, [("stroke", np.array([[0, u(0.35, 0.6)], low, [1.2, 0]]) + rng.normal(0, jitter, (3, 2)), 1.0)]
    else:  # solid-blob: a smooth, lumpy closed outline
        n = int(rng.integers(6, 11))
        t = np.sort(rng.uniform(0, 2 * np.pi, n))
        r = u(0.25, 0.5, n)
        ring = np.stack([0.5 + r * np.cos(t), 0.5 + r * np.sin(t)], 1)
        return kind, [("fill", smooth(np.vstack([ring, ring[:3]]))[8:-8], 1.0)]
    if kind.startswith("solid"):
        return kind, [("fill", points + rng.normal(0, jitter, points.shape), 1.0)]
    return kind, [("stroke", closed(points, rng, jitter), 1.0)]


TEXTURES = ["dots", "grid", "noise-blobs", "holes", "dashes"]


def texture(rng):
    """A texture as items, or (for noise blobs) None: those are made as pixels."""
    u = rng.uniform
    kind = TEXTURES[int(rng.integers(len(TEXTURES)))]
    items = []
    if kind == "dots":
        for _ in range(int(rng.integers(6, 40))):
            items.append(("stroke", rng.uniform(0, 1, (1, 2)), u(0.8, 2.5)))
    elif kind == "grid":
        for axis in (0, 1):
            lines = int(rng.integers(3, 7))
            for v in np.linspace(0, 1, lines) + rng.normal(0, 0.02, lines):
                a, b = [v, u(-0.05, 0.05)], [v, u(0.95, 1.05)]
                segment = np.array([a, b])
                items.append(("stroke", segment[:, ::-1] if axis else segment, 1.0))
    elif kind == "holes":
        # At least three holes: a blob with one or two is a 0 or an 8.
        outline = polygon(int(rng.integers(4, 8)), phase=u(0, 1)) if rng.random() < 0.5 else \
            np.array([[0, 0], [1, 0], [1, 1], [0, 1]], float)
        items.append(("fill", outline + rng.normal(0, 0.03, outline.shape), 1.0))
        # Holes that do not touch (two that run together are one), inside the region.
        holes, wanted = [], int(rng.integers(3, 8))
        for _ in range(200):
            if len(holes) == wanted:
                break
            a, d = u(0, 2 * np.pi), 0.3 * math.sqrt(u(0, 1))
            c = np.array([0.5 + d * math.cos(a), 0.5 + d * math.sin(a)])
            r = u(0.04, 0.11)
            if all(np.linalg.norm(c - c2) > r + r2 + 0.07 for c2, r2 in holes):
                holes.append((c, r))
        for c, r in holes:
            squash = u(0.6, 1.4)
            items.append(("hole", ellipse_points(c[0], c[1], r * squash, r / squash, 0, 360), 1.0))
    elif kind == "dashes":
        angle = u(0, np.pi)
        for _ in range(int(rng.integers(4, 12))):
            a = angle + rng.normal(0, 0.5 if rng.random() < 0.5 else 0.05)
            d = np.array([math.cos(a), math.sin(a)]) * u(0.05, 0.12)
            c = rng.uniform(0, 1, 2)
            items.append(("stroke", np.array([c - d, c + d]), 1.0))
    else:
        return kind, None
    return kind, items


def fragment(rng):
    """Two or three short strokes that do not make a character: bits of lines, arcs, hooks."""
    u = rng.uniform
    n = int(rng.integers(2, 4))
    # Around a circle and apart from each other: pieces that touch soon make a 2, 4, 5 or 7.
    phase = u(0, 2 * np.pi)
    for _ in range(20):
        items = []
        for k in range(n):
            a = phase + 2 * np.pi * k / n + rng.normal(0, 0.3)
            c = 0.5 + 0.34 * np.array([math.cos(a), math.sin(a)]) + rng.normal(0, 0.04, 2)
            size = u(0.14, 0.28)
            kind = int(rng.integers(3))
            if kind == 0:
                a = u(0, np.pi)
                d = np.array([math.cos(a), math.sin(a)]) * size
                points = np.array([c - d, c + d])
            elif kind == 1:
                a0 = u(0, 360)
                points = ellipse_points(c[0], c[1], size, size * u(0.5, 1.2), a0, a0 + u(60, 150))
            else:
                points = smooth(c + rng.uniform(-size, size, (3, 2)))
            items.append(("stroke", points, 1.0))
        gaps = [np.linalg.norm(p[:, None] - q[None], axis=2).min()
                for i, (_, p, _) in enumerate(items) for _, q, _ in items[i + 1:]]
        if min(gaps) > 0.12:
            break
    return f"{n}-strokes", items


def pen_items(rng, template):
    """A template's strokes, jittered as a hand jitters; one-point strokes become dots."""
    pen = Pen(rng, jitter=rng.uniform(0.006, 0.025))
    template(pen, lambda lo, hi: float(rng.uniform(lo, hi)))
    return [("stroke", s, 1.6 if len(s) == 1 else 1.0) for s in pen.strokes if len(s)]


def random_stroke(rng):
    """The stray stroke laid over a picture now and then, in a unit box around it."""
    points = rng.uniform(-0.1, 1.1, (int(rng.integers(2, 5)), 2))
    return smooth(points) if len(points) > 2 else points


# ---------------------------------------------------------------------------------------------
# Drawing, typing and the MNIST preparation.

def stretched(rng, natural, limits=None):
    """The width/height a drawing gets: its own stretched by 0.6–1.6, kept within `limits` or,
    by default, within 0.6–1.6; a drawing far wider or narrower than that (=, !, a coil) is
    stretched only a little, so that it stays what it is."""
    factor = math.exp(rng.uniform(math.log(0.6), math.log(1.6)))
    if limits is None and not 0.6 <= natural <= 1.6:
        return natural * factor ** 0.3
    low, high = limits or (0.6, 1.6)
    return min(max(natural * factor, low), high)


def distortion(rng, sx, turn):
    """Stretch x by sx, slant (±20°), shear vertically a little (±8°) and turn (±turn°)."""
    slant = math.tan(math.radians(rng.uniform(-20, 20)))
    lift = math.tan(math.radians(rng.uniform(-8, 8)))
    angle = math.radians(rng.uniform(-turn, turn))
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c, -s], [s, c]]) @ np.array([[1, -slant], [-lift, 1]]) @ np.diag([sx, 1])


def transform_items(rng, items, limits=None, turn=20):
    """The items stretched, slanted, sheared and turned about their centre, with a slow wobble
    over the whole drawing."""
    points = np.vstack([p for _, p, _ in items])
    centre = (points.min(axis=0) + points.max(axis=0)) / 2
    span = max(float(np.ptp(points, axis=0).max()), 1e-6)
    natural = max(float(np.ptp(points[:, 0])), 1e-6) / max(float(np.ptp(points[:, 1])), 1e-6)
    forward = distortion(rng, stretched(rng, natural, limits) / natural, turn)
    k, phase, amplitude = rng.uniform(2, 6, (2, 2)), rng.uniform(0, 2 * np.pi, 2), rng.uniform(0, 0.015)

    def move(p):
        q = (p - centre) / span
        q = q + amplitude * np.sin(q @ k.T + phase)
        return q @ forward.T
    return [(kind, move(p), w) for kind, p, w in items]


def draw_items(items, size, width_fraction, supersample):
    """Coverage (0–1) of the items drawn so their longer side is `size` pixels, with a round
    brush width_fraction × size wide (a dab of weight w is w times that across)."""
    points = np.vstack([p for _, p, _ in items])
    low, high = points.min(axis=0), points.max(axis=0)
    brush = width_fraction * size
    heaviest = max([w for kind, _, w in items if kind == "stroke"], default=0.0)
    scale = (size - brush * min(heaviest, 1.0)) / max(float((high - low).max()), 1e-6)
    pad = brush * max(heaviest, 1.0) / 2 + 2
    ss = supersample
    canvas = np.ceil(((high - low) * scale + 2 * pad) * ss).astype(int) + 1
    image = Image.new("L", (int(canvas[0]), int(canvas[1])), 0)
    draw = ImageDraw.Draw(image)
    for kind, p, w in items:
        q = ((p - low) * scale + pad) * ss
        if kind in ("fill", "hole"):
            draw.polygon([tuple(v) for v in q], fill=255 if kind == "fill" else 0)
            continue
        r = brush * w * ss / 2
        if len(q) == 1:  # a dot stays a dot even with a fine pen: the dot of a ! or a ?
            r = max(r, 0.03 * size * ss)
        if len(q) > 1:
            draw.line([tuple(v) for v in q], fill=255, width=max(1, int(round(2 * r))))
        if r < 0.75 and len(q) > 1:
            continue
        # The round brush: a dab at both ends and wherever the path turns (between dabs the
        # wide line is round enough).
        if len(q) > 2:
            d = np.diff(q, axis=0)
            d /= np.maximum(np.linalg.norm(d, axis=1, keepdims=True), 1e-9)
            turning = np.einsum("ij,ij->i", d[:-1], d[1:]) < math.cos(math.radians(12))
            keep = np.concatenate([[True], turning, [True]])
            q = q[keep]
        r = max(r, 0.5)
        for x, y in q:
            draw.ellipse([x - r, y - r, x + r, y + r], fill=255)
    if ss > 1:
        image = image.reduce(ss)
    return np.asarray(image, dtype=np.float32) / 255


FONT_CACHE = {}
SUPPORTED = {}
PROBED = {}  # a glyph's longer side at 100 points


def font_at(path, size):
    key = (path, size)
    if key not in FONT_CACHE:
        FONT_CACHE[key] = ImageFont.truetype(path, size)
    return FONT_CACHE[key]


def glyph_image(font, char):
    x0, y0, x1, y1 = font.getbbox(char)
    if x1 <= x0 or y1 <= y0:
        return None
    image = Image.new("L", (x1 - x0 + 8, y1 - y0 + 8), 0)
    ImageDraw.Draw(image).text((4 - x0, 4 - y0), char, font=font, fill=255)
    return image


def has_glyph(path, char):
    """Whether the font draws the character itself, not its "missing glyph" box."""
    key = (path, char)
    if key not in SUPPORTED:
        font = font_at(path, 64)
        image = glyph_image(font, char)
        missing = glyph_image(font, "\U000F0000")  # a private-use character no font here has
        SUPPORTED[key] = image is not None and (missing is None or image.tobytes() != missing.tobytes()
                                                or image.size != missing.size)
    return SUPPORTED[key]


def type_char(rng, char, font, size):
    """Coverage of a character typed so its longer side is about `size` pixels, then stretched,
    slanted and turned like the pen drawings, and made a little bolder or lighter at times."""
    _, path = font
    if (path, char) not in PROBED:
        PROBED[(path, char)] = max(glyph_image(font_at(path, 100), char).size) - 8
    longer = PROBED[(path, char)]
    points = max(8, int(round(100 * size / max(longer, 1) / 4)) * 4)  # sizes in steps of 4: fewer fonts to open
    glyph = glyph_image(font_at(path, points), char)
    natural = (glyph.size[0] - 8) / max(glyph.size[1] - 8, 1)
    glyph = drawings.affine(glyph, distortion(rng, stretched(rng, natural) / natural, 10 if char in LEVEL else 20))
    weight = rng.random()
    if weight < 0.2:
        glyph = glyph.filter(ImageFilter.MaxFilter(3 if rng.random() < 0.6 else 5))
    elif weight < 0.35:
        thinner = drawings.thin(glyph, rng.uniform(0.5, 1.5))
        if np.asarray(thinner).max() >= 128:  # a light font may vanish altogether
            glyph = thinner
    return np.asarray(glyph, dtype=np.float32) / 255


def noise_blobs(rng, size):
    """Blobs of thresholded smooth noise: irregular ink covering 20–45% of a square."""
    field = drawings.smooth_noise(rng, size, size, rng.uniform(4, 8))
    level = np.quantile(field, 1 - rng.uniform(0.2, 0.45))
    return np.clip((field - level) / 0.08 + 0.5, 0, 1).astype(np.float32)


def overlay_stroke(rng, coverage, brush):
    """A second, unrelated stroke across the picture."""
    h, w = coverage.shape
    ss = 3
    image = Image.new("L", (w * ss, h * ss), 0)
    draw = ImageDraw.Draw(image)
    q = random_stroke(rng) * [w, h] * ss
    r = max(brush * ss / 2, 0.5)
    draw.line([tuple(v) for v in q], fill=255, width=max(1, int(round(2 * r))))
    for x, y in q[[0, -1]]:
        draw.ellipse([x - r, y - r, x + r, y + r], fill=255)
    extra = np.asarray(image.reduce(ss), dtype=np.float32) / 255
    return np.maximum(coverage, extra)


def prepare(coverage):
    """The MNIST preparation: crop to the ink, longer side to 20 px by area averaging, centre of
    mass to (14, 14) in 28 × 28 (clamped inside), brightest pixel 255."""
    ink = np.where(coverage >= 10 / 255, coverage, 0).astype(np.float32)
    if not ink.any():  # only faint ink: keep it all
        ink = np.asarray(coverage, np.float32)
    rows = np.flatnonzero(ink.max(axis=1) > 0)
    cols = np.flatnonzero(ink.max(axis=0) > 0)
    ink = ink[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    h, w = ink.shape
    scale = BOX / max(h, w)
    size = (max(1, int(round(w * scale))), max(1, int(round(h * scale))))
    small = np.asarray(Image.fromarray(ink).resize(size, Image.Resampling.BOX), dtype=np.float64)
    small = np.clip(small, 0, None)
    mass = small.sum()
    ys, xs = np.indices(small.shape)
    cx, cy = (xs * small).sum() / mass, (ys * small).sum() / mass
    ox = min(max(int(round(SIDE / 2 - cx)), 0), SIDE - small.shape[1])
    oy = min(max(int(round(SIDE / 2 - cy)), 0), SIDE - small.shape[0])
    out = np.zeros((SIDE, SIDE))
    out[oy:oy + small.shape[0], ox:ox + small.shape[1]] = small / small.max()
    return np.round(out * 255).astype(np.uint8)


# Shapes that, squeezed narrow or slanted long, become a 0 or a 1: the width/height they may
# have once slanted and turned, and how round (minor over major spread) they must stay.
ASPECT_LIMITS = {"shape:check": (1.0, 1.6, 0.0), "shape:rectangle": (0.9, 1.6, 0.7),
                 "shape:pentagon": (0.9, 1.6, 0.75), "shape:hexagon": (0.9, 1.6, 0.75),
                 "shape:triangle": (0.7, 1.6, 0.6)}


def make_negative(rng, category, fonts):
    """One picture: (28 × 28 uint8, its source)."""
    u = rng.uniform
    size = int(rng.integers(64, 97))  # the longer side, in pixels, before preparation
    width = math.exp(u(math.log(0.015), math.log(0.12)))
    items = coverage = None
    turn = 20
    if category in ("letter", "symbol"):
        chars, pens = (FONT_LETTERS, PEN_LETTERS) if category == "letter" else (FONT_SYMBOLS, PEN_SYMBOLS)
        families = []
        if rng.random() >= (0.5 if category == "letter" else 0.4):  # typed
            char = chars[int(rng.integers(len(chars)))]
            families = [[f for f in family if has_glyph(f[1], char) and char not in FONT_EXCLUDED.get(f[0], "")]
                        for family in fonts]
            families = [family for family in families if family]
        if families:
            family = families[int(rng.integers(len(families)))]
            font = family[int(rng.integers(len(family)))]
            coverage, source = type_char(rng, char, font, size), f"font:{font[0]}:{char}"
        else:  # written, or no font here has the character
            names = sorted(pens)
            char = names[int(rng.integers(len(names)))]
            items, source = pen_items(rng, pens[char]), f"pen:{char}"
            turn = 10 if char in LEVEL else 20
    elif category == "scribble":
        kind, items = scribble(rng, width)
        source = f"scribble:{kind}"
    elif category == "shape":
        kind, items = shape(rng)
        source = f"shape:{kind}"
    elif category == "texture":
        kind, items = texture(rng)
        source = f"texture:{kind}"
        if items is None:
            coverage = noise_blobs(rng, size)
    else:
        kind, items = fragment(rng)
        source = f"fragment:{kind}"

    extras = []
    if items is not None:
        aliased = rng.random() < 0.15
        if aliased:
            extras.append("aliased")
        limits = ASPECT_LIMITS.get(source)
        for _ in range(20):
            moved = transform_items(rng, items, limits and limits[:2], turn)
            points = np.vstack([p for _, p, _ in moved])
            aspect = np.ptp(points[:, 0]) / max(np.ptp(points[:, 1]), 1e-6)
            if limits is None or (limits[0] <= aspect <= limits[1] and elongated(points) >= limits[2]):
                break
        items = moved
        coverage = draw_items(items, size, width, 1 if aliased else 3)
    if rng.random() < 0.15:
        coverage = overlay_stroke(rng, coverage, width * max(coverage.shape))
        extras.append("extra-stroke")
    effect = rng.random()
    if effect < 0.15:
        sigma = u(0.6, 2.0)
        image = Image.fromarray(np.round(np.pad(coverage, 6) * 255).astype(np.uint8))
        coverage = np.asarray(image.filter(ImageFilter.GaussianBlur(sigma)), dtype=np.float32) / 255
        extras.append("blur")
    elif effect < 0.27:  # the threshold never above half the strongest ink: a hairline stays
        coverage = (coverage >= min(u(0.3, 0.6), 0.5 * float(coverage.max()))).astype(np.float32)
        extras.append("binary")
    return coverage, ";".join([source] + extras)


# ---------------------------------------------------------------------------------------------

def write_atomically(path, data):
    """Writes bytes to a temporary file beside `path`, then renames it over `path`."""
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as f:
            f.write(data)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)  # mkstemp makes it private; a plain file's mode instead
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def preview_png(images, columns=20, rows=10):
    """The first columns × rows pictures in a grid, gray lines between them, twice their size."""
    cell = SIDE + 1
    grid = np.full((rows * cell + 1, columns * cell + 1), 60, np.uint8)
    for i, image in enumerate(images[:columns * rows]):
        r, c = divmod(i, columns)
        grid[1 + r * cell:1 + r * cell + SIDE, 1 + c * cell:1 + c * cell + SIDE] = image
    picture = Image.fromarray(grid).resize((grid.shape[1] * 2, grid.shape[0] * 2), Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    picture.save(buffer, "PNG")
    return buffer.getvalue()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--count", type=int, default=30000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--preview", type=Path, help="a PNG grid of the first 200 pictures")
    parser.add_argument("--pictures", type=Path, help="also each picture as drawn, a PNG in DIR/png, and DIR/labels.csv")
    args = parser.parse_args()
    if args.count < 1 or args.seed < 0:
        parser.error("--count must be at least 1 and --seed not negative")

    fonts = [[f for f in family if Path(f[1]).is_file()] for family in drawings.FONT_FAMILIES]
    fonts = [family for family in fonts if family]
    images = np.zeros((args.count, SIDE, SIDE), np.uint8)
    rows, pictures = [], []
    if args.pictures:
        (args.pictures / "png").mkdir(parents=True, exist_ok=True)
    for index in range(args.count):
        category = CATEGORIES[index % len(CATEGORIES)]
        rng = np.random.default_rng([args.seed, index])
        coverage, source = make_negative(rng, category, fonts)
        images[index] = prepare(coverage)
        rows.append([index, category, source])
        if args.pictures:
            # As drawn, before the preparation: dark ink on white, with a margin of a tenth.
            margin = max(coverage.shape) // 10
            picture = np.round(255 - np.clip(np.pad(coverage, margin), 0, 1) * 255).astype(np.uint8)
            name = f"png/{index:05d}.png"
            buffer = io.BytesIO()
            Image.fromarray(picture).save(buffer, format="PNG")
            write_atomically(args.pictures / name, buffer.getvalue())
            pictures.append([name, category])

    args.outdir.mkdir(parents=True, exist_ok=True)
    write_atomically(args.outdir / "negatives-images-idx3-ubyte",
                     struct.pack(">IIII", 0x00000803, args.count, SIDE, SIDE) + images.tobytes())
    write_atomically(args.outdir / "negatives-labels-idx1-ubyte",
                     struct.pack(">II", 0x00000801, args.count) + bytes([LABEL]) * args.count)
    table = io.StringIO()
    writer = csv.writer(table, lineterminator="\n")
    writer.writerow(["index", "category", "source"])
    writer.writerows(rows)
    write_atomically(args.outdir / "negatives.csv", table.getvalue().encode("utf-8"))
    if args.preview:
        args.preview.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(args.preview, preview_png(images))
    if args.pictures:
        table = io.StringIO()
        writer = csv.writer(table, lineterminator="\n")
        writer.writerow(["file", "kind"])
        writer.writerows(pictures)
        write_atomically(args.pictures / "labels.csv", table.getvalue().encode("utf-8"))


if __name__ == "__main__":
    main()
