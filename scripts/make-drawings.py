#!/usr/bin/env python3
"""Generates digit pictures the way real users make them, to test `digits classify` off MNIST.

    make-drawings.py OUTDIR [--per-digit N] [--seed S]

Writes OUTDIR/<digit>/<style>-<nnn>.png and OUTDIR/labels.csv (file,label,style,source). Nothing
comes from MNIST: about 75% of the digits are hand-authored pen-stroke templates with natural
variation, rendered with a round brush; the rest are characters of hand-writing-like and plain
fonts. Each picture is then captured in one of STYLES, which take turns so each gets the same
share of every digit:

    canvas-bw, canvas-wb, canvas-rgba   drawing-app exports: black on white, light on dark, and
                                        transparent browser canvases
    color-pen, scan, photo              pen on tinted paper; gray scans with uneven light and
                                        ruled lines; dim, vignetted, skewed phone photos
    small, thin-thick                   thumbnails of 28-64 px; hairline and blob strokes
    sheet                               a photo of a sheet of paper on a table (wood, gray desk or
                                        a light table that can be brighter than the paper's dim
                                        side), turned, sometimes cut by the frame, with a shadow
    mouse                               a mouse or finger in a paint app: sparse samples joined by
                                        straight segments, tremor, one brush width, often aliased,
                                        sometimes a small digit off in a corner of a big canvas
    pencil                              grainy gray pencil on plain or light-blue/gray graph paper

Thin-thick, mouse and pencil digits are always pen strokes; the rest use a font a third of the
time. Every picture has a generator of its own seeded with (seed, digit, index), so the same seed
gives byte-identical files, and the fonts a machine lacks change only the pictures that would
have used them. Needs numpy and Pillow (scripts/make-drawings sets them up).
"""
import argparse
import csv
import math
import re
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

STYLES = ["canvas-bw", "canvas-wb", "canvas-rgba", "color-pen", "scan", "photo", "small", "thin-thick",
          "sheet", "mouse", "pencil"]

# Font families, each a list of (name, file). A family is picked first so the six Comic Neue
# weights do not crowd out the others; files missing on this machine are skipped.
FONT_FAMILIES = [
    [("Humor-Sans", "/usr/share/fonts/truetype/humor-sans/Humor-Sans.ttf")],
    [(name, f"/usr/share/fonts/opentype/comic-neue/{name}.otf") for name in
     ["ComicNeue-Regular", "ComicNeue-Bold", "ComicNeue-Light",
      "ComicNeue-Italic", "ComicNeue-BoldItalic", "ComicNeue-LightItalic"]],
    [(name, f"/usr/share/fonts/opentype/dancingscript/{name}.otf") for name in
     ["DancingScript-Regular", "DancingScript-Bold"]],
    [(name, f"/usr/share/fonts/truetype/dejavu/{name}.ttf") for name in ["DejaVuSans", "DejaVuSans-Bold"]],
    [(name, f"/usr/share/fonts/truetype/dejavu/{name}.ttf") for name in ["DejaVuSerif", "DejaVuSerif-Bold"]],
]
# Humor Sans draws its digits so heavily that the holes of 4, 6, 8 and 9 all but close at small
# sizes: thin its strokes by this fraction of the glyph height on each side.
THINNED = {"Humor-Sans": 0.03}


# ---------------------------------------------------------------------------------------------
# Pen-stroke templates. Coordinates are in a unit box, x to the right and y DOWN (as on screen);
# angles of arcs are counter-clockwise as seen on screen, 0° pointing right, 90° up. The aspect
# ratio is normalised later, so a template only has to get the proportions within a digit right.

def ellipse_points(cx, cy, rx, ry, a0, a1):
    """Points of an elliptical arc from angle a0 to a1 (degrees), dense enough to look round."""
    n = max(8, int(abs(a1 - a0) / 3))
    t = np.radians(np.linspace(a0, a1, n))
    return np.stack([cx + rx * np.cos(t), cy - ry * np.sin(t)], axis=1)


def catmull_rom(points, samples=24):
    """Centripetal Catmull-Rom spline through the points (no cusps or loops between them)."""
    p = np.asarray(points, dtype=float)
    # Ghost points beyond the ends continue the first and last segments straight.
    p = np.vstack([2 * p[0] - p[1], p, 2 * p[-1] - p[-2]])
    out = [p[1:2]]
    for i in range(1, len(p) - 2):
        p0, p1, p2, p3 = p[i - 1], p[i], p[i + 1], p[i + 2]
        t0 = 0.0
        t1 = t0 + max(np.linalg.norm(p1 - p0), 1e-6) ** 0.5
        t2 = t1 + max(np.linalg.norm(p2 - p1), 1e-6) ** 0.5
        t3 = t2 + max(np.linalg.norm(p3 - p2), 1e-6) ** 0.5
        t = np.linspace(t1, t2, samples + 1)[1:, None]
        a1 = (t1 - t) / (t1 - t0) * p0 + (t - t0) / (t1 - t0) * p1
        a2 = (t2 - t) / (t2 - t1) * p1 + (t - t1) / (t2 - t1) * p2
        a3 = (t3 - t) / (t3 - t2) * p2 + (t - t2) / (t3 - t2) * p3
        b1 = (t2 - t) / (t2 - t0) * a1 + (t - t0) / (t2 - t0) * a2
        b2 = (t3 - t) / (t3 - t1) * a2 + (t - t1) / (t3 - t1) * a3
        out.append((t2 - t) / (t2 - t1) * b1 + (t - t1) / (t2 - t1) * b2)
    return np.vstack(out)


class Pen:
    """Collects strokes from pieces (lines, smooth curves, arcs), jittering their control points.

    Pieces added to the same stroke are joined: each is moved so it starts where the last ended,
    so jitter never tears a stroke apart."""

    def __init__(self, rng, jitter):
        self.rng, self.jitter = rng, jitter
        self.strokes = []

    def stroke(self):
        self.strokes.append(np.zeros((0, 2)))
        return self

    def _jittered(self, points):
        points = np.asarray(points, dtype=float)
        return points + self.rng.normal(0, self.jitter, points.shape)

    def _add(self, points):
        current = self.strokes[-1]
        if len(current):
            points = points + (current[-1] - points[0])
            points = points[1:]
        self.strokes[-1] = np.vstack([current, points])
        return self

    def line(self, *points):
        return self._add(self._jittered(points))

    def curve(self, *points):
        return self._add(catmull_rom(self._jittered(points)))

    def arc(self, cx, cy, rx, ry, a0, a1):
        j, rng = self.jitter, self.rng
        cx, cy = cx + rng.normal(0, j), cy + rng.normal(0, j)
        rx, ry = rx * (1 + rng.normal(0, j)), ry * (1 + rng.normal(0, j))
        return self._add(ellipse_points(cx, cy, rx, ry, a0, a1))


# Each template draws one way people write the digit. `u` is a uniform draw for the template's
# own proportions (loop sizes, where a loop closes), so those vary too.

def zero_ellipse(p, u):
    start = u(70, 130)
    sweep = 360 + u(-25, 20)  # not quite closed, or overlapping
    direction = 1 if u(0, 1) < 0.7 else -1  # most people go counter-clockwise
    p.stroke().arc(0.5, 0.5, 0.38, 0.5, start, start + direction * sweep)


def zero_egg(p, u):
    # Narrower at the top where the pen starts and ends, as a quick 0 often is.
    p.stroke().curve((0.58, 0.0), (0.28, 0.08), (0.06, 0.45), (0.2, 0.88), (0.5, 1.0),
                     (0.82, 0.88), (0.95, 0.45), (0.8, 0.1), (0.55, u(0.0, 0.06)))


def one_plain(p, u):
    p.stroke().line((0.5, 0.0), (0.5 + u(-0.04, 0.04), 1.0))


def one_flag(p, u):
    # A short, steep flag: a long flat one would make it a 7.
    p.stroke().line((0.55 - u(0.16, 0.24), u(0.24, 0.34)), (0.55, 0.0), (0.55, 1.0))


def one_flag_base(p, u):
    p.stroke().line((0.55 - u(0.16, 0.24), u(0.24, 0.34)), (0.55, 0.0), (0.55, 1.0))
    p.stroke().line((0.55 - u(0.2, 0.3), 1.0), (0.55 + u(0.2, 0.3), 1.0))


def two_plain(p, u):
    p.stroke().curve((0.08, 0.3), (0.3, 0.04), (0.62, 0.02), (0.88, 0.22), (0.82, 0.45),
                     (0.5, 0.72), (0.05, 0.98)).line((0.05, 0.98), (0.95, 0.97))


def two_loop(p, u):
    # The diagonal curls into a small loop at the bottom left before the base.
    p.stroke().curve((0.1, 0.3), (0.32, 0.04), (0.65, 0.03), (0.88, 0.25), (0.75, 0.5),
                     (0.45, 0.74), (0.22, 0.92), (0.1, 0.99), (0.02, 0.9), (0.12, 0.78),
                     (0.24, 0.88), (0.42, 0.98), (0.7, 0.99), (0.95, 0.95))


def three_round(p, u):
    p.stroke().arc(0.48, 0.27, 0.38, 0.25, 155, -95).arc(0.48, 0.75, 0.44, 0.25, 95, -155)


def three_flat(p, u):
    p.stroke().line((0.1, 0.02), (0.85, 0.02), (0.42, 0.42)).arc(0.48, 0.7, 0.45, 0.29, 100, -150)


def four_open(p, u):
    bar = u(0.55, 0.68)
    p.stroke().line((0.2, 0.0), (0.05, bar), (0.95, bar))
    p.stroke().line((0.7, u(0.0, 0.1)), (0.68, 1.0))


def four_closed(p, u):
    bar = u(0.6, 0.7)
    p.stroke().line((0.62, 0.0), (0.04, bar), (0.95, bar))
    p.stroke().line((0.62, 0.0), (0.64, 1.0))


def five_bar_apart(p, u):
    # Stem and belly first, the top bar as a second stroke.
    p.stroke().line((0.2, 0.03), (0.16, 0.46)).arc(0.48, 0.69, 0.4, 0.3, 145, -150)
    p.stroke().line((0.2, 0.03), (0.85, 0.01))


def five_one_stroke(p, u):
    p.stroke().line((0.85, 0.01), (0.2, 0.03), (0.16, 0.46)).arc(0.48, 0.69, 0.4, 0.3, 145, -150)


def six_curved(p, u):
    ry, rx = u(0.2, 0.32), u(0.3, 0.42)
    cx, cy = 0.5, 1.0 - ry
    p.stroke().curve((0.8, 0.02), (0.42, 0.14), (cx - rx + 0.02, cy - ry * 0.8),
                     (cx - rx, cy)).arc(cx, cy, rx, ry, 180, 180 + u(330, 365))


def six_straight(p, u):
    ry, rx = u(0.2, 0.32), u(0.3, 0.42)
    cx, cy = 0.5, 1.0 - ry
    # The stem stays steep: slanted and stretched, a flat one makes a loop with a stick.
    p.stroke().line((cx - rx + u(0.3, 0.45), 0.0), (cx - rx, cy)).arc(cx, cy, rx, ry, 180 - 15, 180 + u(330, 360))


def seven_plain(p, u):
    p.stroke().line((0.05, 0.04), (0.95, 0.03), (0.4, 1.0))


def seven_bar(p, u):
    p.stroke().line((0.05, 0.04), (0.95, 0.03), (0.4, 1.0))
    p.stroke().line((0.38, 0.52), (0.9, 0.5))


def seven_curved(p, u):
    p.stroke().line((0.05, 0.05), (0.95, 0.03)).curve((0.95, 0.03), (0.62, 0.45), (0.48, 1.0))


def eight_figure(p, u):
    p.stroke().curve((0.8, 0.14), (0.5, 0.0), (0.2, 0.15), (0.3, 0.38), (0.5, 0.48),
                     (0.78, 0.66), (0.76, 0.92), (0.5, 1.0), (0.22, 0.9), (0.24, 0.65),
                     (0.5, 0.48), (0.72, 0.32), (0.8, 0.12))


def eight_two_loops(p, u):
    top = u(0.21, 0.25)
    start = u(30, 100)
    p.stroke().arc(0.5, top, 0.28, top, start, start + 360)
    bottom = (1.0 - 2 * top + 0.04) / 2
    p.stroke().arc(0.5, 1.0 - bottom, 0.38, bottom, 90, 90 + 360)


def nine_loop(p, u):
    ry, rx = u(0.18, 0.3), u(0.32, 0.42)
    cx, cy = 0.5, ry
    p.stroke().arc(cx, cy, rx, ry, u(0, 40), 360)
    return cx, cy, rx


def nine_straight(p, u):
    cx, cy, rx = nine_loop(p, u)
    p.line((cx + rx, cy), (cx + rx - u(0.0, 0.1), 1.0))


def nine_curved(p, u):
    cx, cy, rx = nine_loop(p, u)
    p.curve((cx + rx, cy), (cx + rx - 0.02, cy + 0.35), (cx + 0.12, 0.95), (cx - 0.22, 0.97))


TEMPLATES = {
    0: [zero_ellipse, zero_egg],
    1: [one_plain, one_flag, one_flag_base],
    2: [two_plain, two_loop],
    3: [three_round, three_flat],
    4: [four_open, four_closed],
    5: [five_bar_apart, five_one_stroke],
    6: [six_curved, six_straight],
    7: [seven_plain, seven_bar, seven_curved],
    8: [eight_figure, eight_two_loops],
    9: [nine_straight, nine_curved],
}


def resample(points, spacing):
    """Points along a polyline at (about) equal arc-length spacing, with their arc length."""
    lengths = np.linalg.norm(np.diff(points, axis=0), axis=1)
    s = np.concatenate([[0.0], np.cumsum(lengths)])
    n = max(2, int(math.ceil(s[-1] / spacing)) + 1)
    t = np.linspace(0, s[-1], n)
    return np.stack([np.interp(t, s, points[:, 0]), np.interp(t, s, points[:, 1])], axis=1), t


def extend_ends(points, start, end):
    """Lengthens (positive) or shortens (negative) a stroke at both ends, as a hand overshoots
    or stops short."""
    points, s = resample(points, 0.004)
    if start < 0:
        points, s = points[s >= -start], s[s >= -start]
    if end < 0:
        points = points[s <= s[-1] + end]
    if len(points) < 2:
        return points
    if start > 0:
        d = points[0] - points[min(3, len(points) - 1)]
        points = np.vstack([points[0] + d / max(np.linalg.norm(d), 1e-9) * start, points])
    if end > 0:
        d = points[-1] - points[max(-4, -len(points))]
        points = np.vstack([points, points[-1] + d / max(np.linalg.norm(d), 1e-9) * end])
    return points


class StrokeDigit:
    """A digit written with a pen: a template, varied like a hand varies it, then a round brush."""
    source = "strokes"

    def __init__(self, rng, digit, slant=(-15, 20), rotation=(-10, 10)):
        u = lambda lo, hi: float(rng.uniform(lo, hi))
        templates = TEMPLATES[digit]
        template = templates[int(rng.integers(len(templates)))]
        pen = Pen(rng, jitter=u(0.006, 0.02))
        template(pen, u)
        strokes = [extend_ends(stroke, u(-0.03, 0.04), u(-0.03, 0.05)) for stroke in pen.strokes]
        strokes = [stroke for stroke in strokes if len(stroke) >= 2]

        # A smooth wobble over the whole digit: the hand is not a plotter.
        k = rng.uniform(2, 5, (2, 2))
        phase = rng.uniform(0, 2 * np.pi, (2, 2))
        amplitude = u(0.005, 0.02)

        def wobble(q):
            dx = amplitude * np.sin(k[0, 0] * q[:, 0] + k[0, 1] * q[:, 1] + phase[0, 0])
            dy = amplitude * np.sin(k[1, 0] * q[:, 0] + k[1, 1] * q[:, 1] + phase[1, 0])
            return q + np.stack([dx, dy], axis=1)
        strokes = [wobble(stroke) for stroke in strokes]

        # Aspect ratio: narrower or wider than the template's own, kept within 0.6–1.2 (a 6
        # stretched to the width of a 0 stops looking like a 6). A 1 keeps its narrowness.
        points = np.vstack(strokes)
        natural = np.ptp(points[:, 0]) / np.ptp(points[:, 1])
        if digit == 1:
            sx = u(0.75, 1.1)
            # A flagged 1 leaning hard right reads as a 7, and one leaning left as a backslash.
            slant, rotation = (-8, 12), (-6, 6)
        else:
            sx = min(max(natural * u(0.75, 1.3), 0.6), 1.2) / natural
        center = points.mean(axis=0)
        lean = u(*slant)
        # Slant and rotation both lean the digit (positive: to the right); a hand that slants
        # far does not also turn the paper the same way, so their sum stays within -18°..22°.
        turn = min(max(u(*rotation), -18 - lean), 22 - lean)
        shear = math.tan(math.radians(lean))
        angle = math.radians(turn)
        rotate = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])

        def transform(q):
            q = (q - center) * [sx, 1.0]
            q = np.stack([q[:, 0] - shear * q[:, 1], q[:, 1]], axis=1)
            return q @ rotate.T
        self.strokes = [transform(stroke) for stroke in strokes]

        # Pressure: some hands (and some apps) vary the width along the stroke.
        self.pressure = u(0.1, 0.3) if rng.random() < 0.4 else 0.0
        self.pressure_cycles = u(0.5, 2.0)
        self.pressure_phase = u(0, 2 * np.pi)
        self.taper = rng.random() < 0.25

    def mask(self, ink_height, stroke_px):
        """Coverage (0–1) of the digit drawn ink_height pixels tall with a brush stroke_px wide."""
        stroke_px = min(stroke_px, ink_height * 0.3)
        ss = 4 if stroke_px >= 3 else 8  # supersampling for anti-aliasing; more for hairlines
        points = np.vstack(self.strokes)
        low, high = points.min(axis=0), points.max(axis=0)
        scale = (ink_height - stroke_px) / max(high[1] - low[1], 1e-6)
        radius = stroke_px / 2 * ss
        max_radius = radius * (1 + self.pressure)
        pad = max_radius + 2 * ss
        size = np.ceil((high - low) * scale * ss + 2 * pad).astype(int) + 1
        image = Image.new("L", tuple(int(v) for v in size), 0)
        draw = ImageDraw.Draw(image)
        for stroke in self.strokes:
            path = (stroke - low) * scale * ss + pad
            spacing = max(0.75, 0.2 * radius)
            path, s = resample(path, spacing)
            r = np.full(len(path), radius)
            if self.pressure:
                r *= 1 + self.pressure * np.sin(2 * np.pi * self.pressure_cycles * s / max(s[-1], 1)
                                                + self.pressure_phase)
            if self.taper:  # lifting the pen thins the last stretch
                r *= np.clip(0.4 + 0.6 * (s[-1] - s) / (6 * radius + 1e-9), 0.4, 1.0)
            r = np.maximum(r, 0.5 * ss)
            for (x, y), ri in zip(path, r):
                draw.ellipse([x - ri, y - ri, x + ri, y + ri], fill=255)
        return crop(np.asarray(image.reduce(ss), dtype=np.float32) / 255)


class FontDigit:
    """A digit typed in a font, slanted, rotated and stretched a little."""

    def __init__(self, rng, digit, font, slant=(-10, 15), rotation=(-8, 8)):
        u = lambda lo, hi: float(rng.uniform(lo, hi))
        self.digit = digit
        self.name, self.path = font
        self.source = f"font:{self.name}"
        self.sx = u(0.85, 1.2)
        self.shear = math.tan(math.radians(u(*slant)))
        self.angle = math.radians(u(*rotation))

    def mask(self, ink_height, stroke_px):
        """Coverage of the glyph about ink_height pixels tall; the font sets the stroke width."""
        ss = 4
        char = str(self.digit)
        probe = ImageFont.truetype(self.path, 200).getbbox(char)
        size = max(4, int(round(200 * ink_height * ss / (probe[3] - probe[1]))))
        font = ImageFont.truetype(self.path, size)
        x0, y0, x1, y1 = font.getbbox(char)
        pad = 4 * ss
        glyph = Image.new("L", (x1 - x0 + 2 * pad, y1 - y0 + 2 * pad), 0)
        ImageDraw.Draw(glyph).text((pad - x0, pad - y0), char, font=font, fill=255)
        if self.name in THINNED:
            glyph = thin(glyph, THINNED[self.name] * (y1 - y0))
        c, s = math.cos(self.angle), math.sin(self.angle)
        forward = np.array([[c, -s], [s, c]]) @ np.array([[1, -self.shear], [0, 1]]) @ np.diag([self.sx, 1])
        glyph = affine(glyph, forward)
        return crop(np.asarray(glyph.reduce(ss), dtype=np.float32) / 255)


def thin(glyph, amount):
    """Erodes a glyph by about `amount` pixels: blur, then keep only what stays dark enough.
    (Blurring rounds the erosion where a min-filter would make it square.)"""
    sigma = amount / 0.84  # a straight edge blurred by sigma crosses 0.8 at 0.84 sigma inside
    soft = np.asarray(glyph.filter(ImageFilter.GaussianBlur(sigma)), dtype=np.float32) / 255
    # A ramp a few pixels wide around the threshold keeps the edge anti-aliased.
    edge = np.clip((soft - 0.8) / 0.08 + 0.5, 0, 1)
    return Image.fromarray(np.round(edge * 255).astype(np.uint8))


def affine(image, forward):
    """Applies a 2×2 linear map about the image centre, growing the image to hold the result."""
    w, h = image.size
    corners = np.array([[0, 0], [w, 0], [0, h], [w, h]], dtype=float) - [w / 2, h / 2]
    mapped = corners @ forward.T
    out_w, out_h = (np.ceil(np.ptp(mapped, axis=0)) + 2).astype(int)
    inverse = np.linalg.inv(forward)
    # Output pixel (x, y) -> input: inverse @ ((x, y) - out centre) + in centre.
    offset = np.array([w / 2, h / 2]) - inverse @ np.array([out_w / 2, out_h / 2])
    data = (inverse[0, 0], inverse[0, 1], offset[0], inverse[1, 0], inverse[1, 1], offset[1])
    return image.transform((int(out_w), int(out_h)), Image.Transform.AFFINE, data,
                           resample=Image.Resampling.BICUBIC)


def perspective(coverage, rng, amount):
    """A small keystone/rotation distortion of the ink, as a camera not square to the paper."""
    h, w = coverage.shape
    pad = int(max(h, w) * amount * 2) + 2
    image = Image.fromarray(np.pad(np.round(coverage * 255).astype(np.uint8), pad))
    W, H = image.size
    src = np.array([[0, 0], [W, 0], [W, H], [0, H]], dtype=float)
    dst = src + rng.uniform(-amount, amount, (4, 2)) * [w, h]
    # PIL wants the map from output to input: solve for the homography dst -> src.
    a = []
    b = []
    for (x, y), (X, Y) in zip(dst, src):
        a.append([x, y, 1, 0, 0, 0, -X * x, -X * y])
        a.append([0, 0, 0, x, y, 1, -Y * x, -Y * y])
        b += [X, Y]
    coefficients = np.linalg.solve(np.array(a), np.array(b))
    out = image.transform((W, H), Image.Transform.PERSPECTIVE, tuple(coefficients),
                          resample=Image.Resampling.BICUBIC)
    return crop(np.asarray(out, dtype=np.float32) / 255)


def crop(coverage):
    """The coverage cut down to the rows and columns that have ink."""
    rows = np.flatnonzero(coverage.max(axis=1) > 0)
    cols = np.flatnonzero(coverage.max(axis=0) > 0)
    return coverage[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]


# ---------------------------------------------------------------------------------------------
# Capture styles. Each takes the picture's generator and digit, and returns a PIL image.

def fitted(digit, ink_height, stroke_px, max_w, max_h, post=None):
    """The digit's coverage at about ink_height, shrunk until it fits in max_w × max_h."""
    for _ in range(6):
        coverage = digit.mask(ink_height, stroke_px)
        if post is not None:
            coverage = post(coverage)
        h, w = coverage.shape
        if w <= max_w and h <= max_h:
            return coverage
        shrink = min(max_w / w, max_h / h) * 0.97
        ink_height *= shrink
        stroke_px *= shrink
    raise RuntimeError("digit does not fit its canvas")


def place(rng, coverage, width, height, margin):
    """A width × height coverage array with the digit at a random spot, fully inside."""
    h, w = coverage.shape
    x = int(rng.integers(margin, width - w - margin + 1))
    y = int(rng.integers(margin, height - h - margin + 1))
    full = np.zeros((height, width), dtype=np.float32)
    full[y:y + h, x:x + w] = coverage
    return full


def stroke_width(rng, ink_height, low=0.015, high=0.18, min_px=1.0):
    """Brush width in pixels: log-uniform in [low, high] × the digit's height."""
    fraction = math.exp(rng.uniform(math.log(low), math.log(high)))
    return max(min_px, fraction * ink_height)


def blurred(coverage, sigma):
    """Gaussian blur of a coverage array (lens or scanner softness)."""
    image = Image.fromarray(np.round(coverage * 255).astype(np.uint8))
    return np.asarray(image.filter(ImageFilter.GaussianBlur(sigma)), np.float32) / 255


def to_image(array, mode):
    return Image.fromarray(np.clip(np.round(array), 0, 255).astype(np.uint8), mode)


def paint(background, coverage, ink):
    """Ink over a background (both H×W×C floats or broadcastable), by coverage."""
    a = coverage[..., None] if background.ndim == 3 else coverage
    return background * (1 - a) + np.asarray(ink, dtype=np.float32) * a


def square_or_common(rng, low, high, common_chance, common):
    if rng.random() < common_chance:
        return common[int(rng.integers(len(common)))]
    side = int(rng.integers(low, high + 1))
    return side, side


def canvas_bw(rng, digit):
    # A drawing app's export: black on white, saved as RGB, grayscale or opaque RGBA.
    side = int(rng.integers(200, 1001))
    ink_height = rng.uniform(0.4, 0.9) * side
    coverage = place(rng, fitted(digit, ink_height, stroke_width(rng, ink_height), side - 4, side - 4),
                     side, side, 2)
    gray = 255 * (1 - coverage)
    mode = ["RGB", "L", "RGBA"][int(rng.choice(3, p=[0.6, 0.2, 0.2]))]
    if mode == "L":
        return to_image(gray, "L")
    channels = [gray] * 3 + ([np.full_like(gray, 255)] if mode == "RGBA" else [])
    return to_image(np.stack(channels, axis=2), mode)


def canvas_wb(rng, digit):
    # Dark-mode drawing app: light ink on black or near-black, sometimes a screen-shaped canvas.
    width, height = square_or_common(rng, 200, 1000, 0.4,
                                     [(640, 480), (800, 600), (480, 640), (1024, 768), (1280, 720)])
    ink_height = rng.uniform(0.4, 0.9) * min(width, height)
    coverage = place(rng, fitted(digit, ink_height, stroke_width(rng, ink_height), width - 4, height - 4),
                     width, height, 2)
    background = 0.0 if rng.random() < 0.6 else rng.uniform(15, 40)
    ink = 255.0 if rng.random() < 0.6 else rng.uniform(200, 250)
    gray = paint(np.full((height, width), background, np.float32), coverage, ink)
    return to_image(np.stack([gray] * 3, axis=2), "RGB")


INK_COLORS = {  # how a browser canvas or a pen might colour the digit
    "black": (0, 0, 0), "dark-gray": (45, 45, 45), "navy": (20, 30, 120), "blue": (30, 80, 230),
    "red": (225, 30, 30), "green": (20, 120, 50), "purple": (110, 40, 160),
}


def canvas_rgba(rng, digit):
    # A browser canvas exported with toDataURL: transparent black where nothing was drawn,
    # straight (not premultiplied) colour with alpha at the ink.
    width, height = square_or_common(rng, 200, 1000, 0.25, [(400, 300), (300, 400), (600, 400), (280, 280)])
    ink_height = rng.uniform(0.4, 0.9) * min(width, height)
    coverage = place(rng, fitted(digit, ink_height, stroke_width(rng, ink_height), width - 4, height - 4),
                     width, height, 2)
    names = sorted(INK_COLORS)
    color = INK_COLORS[names[int(rng.integers(len(names)))]]
    opacity = 1.0 if rng.random() < 0.6 else rng.uniform(0.6, 0.95)
    alpha = np.round(255 * opacity * coverage)
    rgb = np.where(alpha[..., None] > 0, np.array(color, np.float32), 0.0)
    return to_image(np.dstack([rgb, alpha]), "RGBA")


PAPERS = [(246, 243, 235), (250, 240, 190), (226, 236, 250), (255, 255, 255), (240, 236, 226)]
PENS = [(25, 45, 140), (35, 35, 45), (190, 30, 35), (20, 130, 60), (40, 60, 170)]


def color_pen(rng, digit):
    # Ballpoint or marker on coloured paper, scanned or photographed flat.
    width, height = square_or_common(rng, 300, 1000, 0.4, [(800, 600), (600, 800), (1000, 750)])
    ink_height = rng.uniform(0.35, 0.85) * min(width, height)
    coverage = place(rng, fitted(digit, ink_height, stroke_width(rng, ink_height, 0.02, 0.16),
                                 width - 4, height - 4), width, height, 2)
    paper = np.array(PAPERS[int(rng.integers(len(PAPERS)))], np.float32) + rng.uniform(-6, 6, 3)
    pen = np.array(PENS[int(rng.integers(len(PENS)))], np.float32) + rng.uniform(-15, 15, 3)
    # Ballpoint ink is uneven; a marker is not.
    coverage = coverage * (1 - rng.uniform(0, 0.2) * rng.random((height, width), dtype=np.float32))
    image = paint(np.broadcast_to(paper, (height, width, 3)), coverage, pen)
    image += rng.normal(0, rng.uniform(0.5, 2.5), (height, width, 1))
    return to_image(image, "RGB")


def illumination(rng, width, height, amount, radial_chance=0.5):
    """An uneven-lighting offset in [-amount, amount]: a linear ramp or a radial falloff."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    x, y = x / width - 0.5, y / height - 0.5
    if rng.random() < radial_chance:
        cx, cy = rng.uniform(-0.3, 0.3, 2)
        r = np.sqrt((x - cx) ** 2 + (y - cy) ** 2)
        return amount * (1 - 2 * r / r.max())
    angle = rng.uniform(0, 2 * np.pi)
    ramp = x * math.cos(angle) + y * math.sin(angle)
    return amount * ramp / max(np.abs(ramp).max(), 1e-6)


def scan(rng, digit):
    # A gray scan of paper: uneven light, paper grain, not-quite-black ink, a little blur,
    # and sometimes faint ruled lines.
    width, height = square_or_common(rng, 300, 1000, 0.5, [(850, 1100), (1100, 850), (600, 800), (800, 600)])
    ink_height = rng.uniform(0.3, 0.8) * min(width, height)
    coverage = fitted(digit, ink_height, stroke_width(rng, ink_height, 0.03, 0.16, 1.5),
                      width - 8, height - 8)
    blur = rng.uniform(0.5, 1.3)
    coverage = blurred(place(rng, np.pad(coverage, 4), width, height, 0), blur)  # pad: blur stays inside
    paper = rng.uniform(170, 235)
    background = paper + illumination(rng, width, height, rng.uniform(-25, 25))
    # Ruled paper in a third of them: rules 12–25 levels below the paper, where the ink is 80+.
    lines = np.zeros((height, 1), np.float32)
    ruled = rng.random() < 1 / 3
    blue = ruled and rng.random() < 0.5
    if ruled:
        spacing = rng.uniform(0.5, 1.2) * ink_height
        thickness = int(rng.integers(1, 3))
        depth = rng.uniform(12, 25)
        for y in np.arange(rng.uniform(0, spacing), height, spacing).astype(int):
            lines[y:y + thickness] = depth
    ink = rng.uniform(20, 90)
    noise = rng.normal(0, rng.uniform(3, 8), (height, width))
    if blue:  # light blue rules on gray: less red and green there
        channels = [background - lines * 1.6, background - lines * 0.8, background]
        image = np.stack([paint(c, coverage, ink) + noise for c in channels], axis=2)
        return to_image(image, "RGB")
    return to_image(paint(background - lines, coverage, ink) + noise, "L")


def photo(rng, digit):
    # A phone photo of a drawing: big, low contrast, vignetted, blurred, noisy, tinted, skewed.
    long_side = int(math.exp(rng.uniform(math.log(800), math.log(2000))))
    ratio = [4 / 3, 16 / 9, 3 / 2][int(rng.integers(3))]
    width, height = long_side, int(long_side / ratio)
    if rng.random() < 0.4:
        width, height = height, width
    blur = rng.uniform(1.0, 2.5)
    ink_height = rng.uniform(0.15, 0.5) * height
    # Thin strokes would vanish under this blur: at least 2.5 σ wide.
    stroke = max(stroke_width(rng, ink_height, 0.04, 0.16), 2.5 * blur)
    amount = rng.uniform(0.02, 0.06)
    coverage = fitted(digit, ink_height, stroke, width - 20, height - 20,
                      post=lambda c: perspective(c, rng, amount))
    coverage = blurred(place(rng, np.pad(coverage, 8), width, height, 2), blur)  # pad: blur stays inside
    paper = rng.uniform(150, 210)
    ink = rng.uniform(40, min(110, paper - 60))
    gray = paint(paper + illumination(rng, width, height, rng.uniform(10, 25), 0.3), coverage, ink)
    # Vignetting: darker towards the corners, around a centre that is not quite the middle.
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    cx, cy = width * rng.uniform(0.35, 0.65), height * rng.uniform(0.35, 0.65)
    r2 = ((x - cx) ** 2 + (y - cy) ** 2) / (0.25 * (width ** 2 + height ** 2))
    gray *= 1 - rng.uniform(0.2, 0.4) * r2
    cast = 1 + rng.uniform(-0.05, 0.05, 3)  # white balance off: a warm or cool tint
    sigma = rng.uniform(4, 10)
    noise = rng.normal(0, sigma, (height, width, 1)) + rng.normal(0, sigma / 3, (height, width, 3))
    return to_image(gray[..., None] * cast + noise, "RGB")


def small(rng, digit):
    # Thumbnails: 28–64 px, either polarity, often not centred; some exactly 28 × 28.
    if rng.random() < 0.4:
        width = height = 28
    else:
        width = int(rng.integers(28, 65))
        height = width if rng.random() < 0.7 else int(rng.integers(28, 65))
    ink_height = rng.uniform(0.5, 0.9) * min(width, height)
    stroke = stroke_width(rng, ink_height, 0.06, 0.2, 1.2)
    coverage = place(rng, fitted(digit, ink_height, stroke, width, height), width, height, 0)
    if rng.random() < 0.5:
        return to_image(255 * (1 - coverage), "L")
    return to_image(255 * coverage, "L")


def thin_thick(rng, digit):
    # The extremes of brush width, black on white: hairlines on a big canvas, or fat blobs.
    if rng.random() < 0.5:
        side = int(rng.integers(600, 1001))
        ink_height = rng.uniform(0.4, 0.9) * side
        stroke = rng.uniform(1.0, 2.0)
    else:
        side = int(rng.integers(200, 1001))
        ink_height = rng.uniform(0.4, 0.9) * side
        stroke = rng.uniform(0.15, 0.2) * ink_height
    coverage = place(rng, fitted(digit, ink_height, stroke, side - 4, side - 4), side, side, 2)
    return to_image(255 * (1 - coverage), "L")


def smooth_noise(rng, width, height, cells):
    """A smooth random field (zero mean, about unit spread) of width × height: Gaussian noise
    on a coarse grid of about `cells` cells across, scaled up bicubically."""
    gw = max(2, int(round(cells)))
    gh = max(2, int(round(cells * height / width)))
    coarse = Image.fromarray(rng.normal(0, 1, (gh, gw)).astype(np.float32))
    return np.asarray(coarse.resize((width, height), Image.Resampling.BICUBIC), np.float32)


def fine_blur(array, sigma):
    """Gaussian blur of a float array by a small sigma (a pixel or two), kept in floats."""
    radius = max(1, int(math.ceil(3 * sigma)))
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    kernel /= kernel.sum()
    out = np.asarray(array, np.float32)
    for axis in (0, 1):
        padded = np.pad(out, [(radius, radius) if a == axis else (0, 0) for a in (0, 1)], mode="edge")
        n = out.shape[axis]
        out = sum(k * np.take(padded, np.arange(i, i + n), axis=axis) for i, k in enumerate(kernel))
    return out.astype(np.float32)


def polygon_area(points):
    x, y = points[:, 0], points[:, 1]
    return 0.5 * abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))


def clipped_to_frame(points, width, height):
    """The polygon clipped to the frame 0..width × 0..height (Sutherland–Hodgman)."""
    edges = [(0, 1, 0.0), (0, -1, -float(width)), (1, 1, 0.0), (1, -1, -float(height))]
    polygon = [tuple(p) for p in points]
    for axis, sign, limit in edges:
        inside = lambda p: sign * p[axis] >= limit
        out = []
        for i, current in enumerate(polygon):
            previous = polygon[i - 1]
            if inside(current) != inside(previous):
                t = (limit / sign - previous[axis]) / (current[axis] - previous[axis])
                out.append(tuple(previous[k] + t * (current[k] - previous[k]) for k in range(2)))
            if inside(current):
                out.append(current)
        polygon = out
        if not polygon:
            return np.zeros((0, 2))
    return np.array(polygon)


TABLES = {  # what a sheet of paper may lie on: a kind of table and its colours
    "dark-wood": [(98, 64, 38), (78, 50, 30), (120, 80, 48), (88, 58, 40)],
    "gray-desk": [(120, 122, 126), (150, 150, 152), (98, 100, 104), (170, 168, 164)],
    "light-table": [(228, 218, 198), (222, 222, 218), (232, 226, 212), (210, 200, 180)],
}


def table_surface(rng, width, height):
    """A table top: dark wood with grain, a gray desk, or a light beige or white table."""
    kinds = sorted(TABLES)
    kind = kinds[int(rng.integers(len(kinds)))]
    colors = TABLES[kind]
    base = np.array(colors[int(rng.integers(len(colors)))], np.float32) + rng.uniform(-8, 8, 3)
    shade = 0.04 * smooth_noise(rng, width, height, 4)  # large, soft blotches
    if kind == "dark-wood":
        # Grain: streaks of uneven width and depth along one direction (random values along the
        # cross-grain axis, in two scales), bent a little by a smooth field.
        y, x = np.mgrid[0:height, 0:width].astype(np.float32)
        angle = rng.uniform(-0.15, 0.15) + (math.pi / 2 if rng.random() < 0.4 else 0.0)
        across = -x * math.sin(angle) + y * math.cos(angle)
        across = across - across.min() + 0.03 * max(width, height) * smooth_noise(rng, width, height, 2.5)
        grain = np.zeros_like(across)
        for period, weight in ((0.02, 0.07), (0.004, 0.04)):
            nodes = rng.normal(0, 1, int(across.max() / (period * max(width, height))) + 8)
            grain += weight * np.interp(across / (period * max(width, height)) + 2, np.arange(len(nodes)), nodes)
        shade += grain
    else:
        shade += 0.015 * smooth_noise(rng, width, height, 40)
    return base * (1 + shade[..., None])


def sheet(rng, digit):
    # A phone photo of a sheet of paper lying on a table, the table showing around it: the sheet
    # turned a little, sometimes cut off by one edge of the frame, casting a soft shadow, lit
    # unevenly (the paper's dim side may be darker than a light table), a little blurred and noisy.
    long_side = int(rng.integers(800, 1601))
    ratio = [4 / 3, 3 / 2, 16 / 9][int(rng.integers(3))]
    width, height = long_side, int(round(long_side / ratio))
    if rng.random() < 0.4:
        width, height = height, width
    angle = rng.uniform(-12, 12)  # degrees, counter-clockwise on screen
    cut = rng.random() < 0.35
    theta = math.radians(angle)
    rotate = np.array([[math.cos(theta), math.sin(theta)], [-math.sin(theta), math.cos(theta)]])
    for attempt in range(400):
        # A4 or letter (or a square-ish note), mostly turned the way the frame is.
        aspect = [1.414, 1.294, 1.1][int(rng.choice(3, p=[0.5, 0.3, 0.2]))]
        portrait = (height > width) == (rng.random() < 0.8)
        area = rng.uniform(0.35, 0.8 if attempt < 200 else 0.6) * width * height
        sheet_h = math.sqrt(area * aspect) if portrait else math.sqrt(area / aspect)
        sheet_w = area / sheet_h
        corners = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]]) * [sheet_w / 2, sheet_h / 2] @ rotate.T
        half = corners.max(axis=0)  # half the turned sheet's bounding box
        margin = 0.01 * min(width, height)
        if cut:  # over one edge by 5–25% of the sheet's extent there, inside the other three
            edge = int(rng.integers(4))
            axis, size = edge % 2, [width, height][edge % 2]
            over = rng.uniform(0.05, 0.25) * 2 * half[axis]
            centre = [0.0, 0.0]
            if 2 * half[axis] - over + margin > size:  # it would cross the far edge too
                continue
            centre[axis] = half[axis] - over if edge < 2 else size - half[axis] + over
            other, other_size = 1 - axis, [width, height][1 - axis]
            if 2 * half[other] + 2 * margin > other_size:
                continue
            centre[other] = rng.uniform(half[other] + margin, other_size - half[other] - margin)
        else:
            if 2 * half[0] + 2 * margin > width or 2 * half[1] + 2 * margin > height:
                continue
            centre = [rng.uniform(half[0] + margin, width - half[0] - margin),
                      rng.uniform(half[1] + margin, height - half[1] - margin)]
        centre = np.array(centre)
        visible = polygon_area(clipped_to_frame(corners + centre, width, height)) / (width * height)
        if 0.35 <= visible <= 0.8:
            break
    else:
        raise RuntimeError("no sheet fits the frame")

    # The digit, on the sheet: 25–60% of the sheet's height, upright on the paper, inside the
    # part of the sheet that is in the frame.
    blur = rng.uniform(0.6, 1.4)
    ink_height = rng.uniform(0.25, 0.6) * sheet_h
    stroke = max(stroke_width(rng, ink_height, 0.04, 0.14), 2.5 * blur)
    coverage = fitted(digit, ink_height, stroke, 0.8 * sheet_w, 0.8 * sheet_h)
    for attempt in range(400):
        h, w = coverage.shape
        x = rng.uniform(0.06 * sheet_w, sheet_w - w - 0.06 * sheet_w)
        y = rng.uniform(0.06 * sheet_h, sheet_h - h - 0.06 * sheet_h)
        box = np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]]) - [sheet_w / 2, sheet_h / 2]
        box = box @ rotate.T + centre
        if box.min() >= 10 and (box[:, 0] <= width - 10).all() and (box[:, 1] <= height - 10).all():
            break
        if attempt % 50 == 49:  # a big digit near a cut edge: smaller
            coverage = fitted(digit, 0.85 * h, 0.85 * stroke, 0.8 * sheet_w, 0.8 * sheet_h)
            stroke *= 0.85
    else:
        raise RuntimeError("the digit does not fit the sheet")

    # The sheet, flat: paper with a faint texture, and the ink. A 4-pixel rim of paper outside
    # the sheet's own mask keeps the resampled edge from picking up black.
    pw, ph = int(math.ceil(sheet_w)) + 8, int(math.ceil(sheet_h)) + 8
    paper = rng.uniform(228, 250) + rng.uniform(-5, 5, 3) + [0, 0, -rng.uniform(0, 8)]
    flat = np.broadcast_to(np.asarray(paper, np.float32), (ph, pw, 3)) \
        * (1 + 0.005 * smooth_noise(rng, pw, ph, 30))[..., None]
    ink_cov = np.zeros((ph, pw), np.float32)
    ix, iy = int(round(x)) + 4, int(round(y)) + 4
    ink_cov[iy:iy + h, ix:ix + w] = coverage
    pen = np.array(PENS[int(rng.integers(len(PENS)))], np.float32) + rng.uniform(-15, 15, 3)
    flat = paint(flat, ink_cov * rng.uniform(0.85, 1.0), pen)
    mask = np.zeros((ph, pw), np.float32)
    mask[4:4 + int(round(sheet_h)), 4:4 + int(round(sheet_w))] = 1

    # Output pixel -> sheet pixel: the inverse of "turn about the sheet's centre, then move".
    inverse = rotate.T
    offset = np.array([4 + sheet_w / 2, 4 + sheet_h / 2]) - inverse @ centre
    data = (inverse[0, 0], inverse[0, 1], offset[0], inverse[1, 0], inverse[1, 1], offset[1])

    def turned(array, mode):
        image = to_image(array, "RGB") if mode == "RGB" else Image.fromarray(array)
        return image.transform((width, height), Image.Transform.AFFINE, data, resample=Image.Resampling.BICUBIC)
    alpha = np.asarray(turned(mask, "F"), np.float32).clip(0, 1)
    top = np.asarray(turned(flat, "RGB"), np.float32)

    # The soft shadow: the sheet's mask moved towards one side and blurred, darkening the table.
    table = table_surface(rng, width, height)
    direction = rng.uniform(0, 2 * np.pi)
    shift = rng.uniform(0.006, 0.02) * max(width, height)
    shadow = Image.fromarray(np.round(alpha * 255).astype(np.uint8)).transform(
        (width, height), Image.Transform.AFFINE,
        (1, 0, -shift * math.cos(direction), 0, 1, -shift * math.sin(direction)))
    softness = rng.uniform(0.008, 0.02) * max(width, height)
    shadow = np.asarray(shadow.filter(ImageFilter.GaussianBlur(softness)), np.float32) / 255
    table *= (1 - rng.uniform(0.3, 0.55) * shadow)[..., None]
    image = table * (1 - alpha[..., None]) + top * alpha[..., None]

    # Light: a ramp or a falloff over the whole scene, and a white balance a little off.
    image *= (1 + illumination(rng, width, height, rng.uniform(0.1, 0.22), 0.4))[..., None]
    image *= 1 + rng.uniform(-0.04, 0.04, 3)
    image = np.asarray(to_image(image, "RGB").filter(ImageFilter.GaussianBlur(blur)), np.float32)
    sigma = rng.uniform(2, 6)
    image += rng.normal(0, sigma, (height, width, 1)) + rng.normal(0, sigma / 3, (height, width, 3))
    return to_image(image, "RGB")


class MouseDigit:
    """A pen-stroke digit as a mouse or a finger draws it in a paint app: the pointer is sampled
    now and then (every few percent of the digit's size, unevenly, as the hand speeds up and
    slows down) and the app joins the samples with straight segments of a constant-width round
    brush; the hand trembles across the path. Aliased (a hard 0/1 edge) or anti-aliased."""
    source = "strokes"

    def __init__(self, rng, digit):
        self.rng = rng
        self.shape = StrokeDigit(rng, digit)
        self.spacing = rng.uniform(0.03, 0.08)  # of the digit's height
        self.tremor = rng.uniform(0.002, 0.008)  # likewise, one σ across the path
        self.antialias = rng.random() < 0.5

    def mask(self, ink_height, stroke_px):
        rng, strokes = self.rng, self.shape.strokes
        ss = 4 if self.antialias else 1
        stroke_px = min(stroke_px, ink_height * 0.25)
        points = np.vstack(strokes)
        low, high = points.min(axis=0), points.max(axis=0)
        scale = (ink_height - stroke_px) / max(high[1] - low[1], 1e-6)
        spacing = self.spacing * ink_height
        tremor = max(0.3, self.tremor * ink_height)
        pad = stroke_px + 4 * tremor + 2
        size = np.ceil(((high - low) * scale + 2 * pad) * ss).astype(int) + 1
        image = Image.new("L", tuple(int(v) for v in size), 0)
        draw = ImageDraw.Draw(image)
        radius = stroke_px / 2 * ss
        for stroke in strokes:
            path = (stroke - low) * scale + pad
            s = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(path, axis=0), axis=1))])
            t = [0.0]
            while t[-1] + spacing * 1.4 < s[-1]:
                t.append(t[-1] + spacing * rng.uniform(0.6, 1.4))
            t.append(float(s[-1]))
            t = np.array(t)
            samples = np.stack([np.interp(t, s, path[:, 0]), np.interp(t, s, path[:, 1])], axis=1)
            if len(samples) > 2:
                tangent = np.gradient(samples, axis=0)
                across = np.stack([-tangent[:, 1], tangent[:, 0]], axis=1)
                across /= np.maximum(np.linalg.norm(across, axis=1, keepdims=True), 1e-9)
                samples = samples + across * rng.normal(0, tremor, (len(samples), 1))
            samples = samples * ss
            draw.line([tuple(p) for p in samples], fill=255, width=max(1, int(round(2 * radius))))
            r = radius - 0.5  # PIL's ellipse covers both end pixels: one pixel wider than the line
            for x, y in samples:  # the round brush at every sample (joints and ends)
                draw.ellipse([x - r, y - r, x + r, y + r], fill=255)
        return crop(np.asarray(image.reduce(ss) if ss > 1 else image, dtype=np.float32) / 255)


def mouse(rng, digit):
    # A paint app's canvas drawn on with a mouse or a finger: polygonal, trembling strokes of
    # one width, often aliased, black on white or light on black; sometimes a small digit off
    # in a corner of a big canvas.
    if rng.random() < 0.6:
        width = height = int(rng.integers(280, 601))
    else:
        width, height = int(rng.integers(280, 601)), int(rng.integers(280, 601))
    brush = rng.uniform(0.02, 0.06) * min(width, height)
    if rng.random() < 0.3:  # small and off-centre
        ink_height = rng.uniform(0.25, 0.4) * height
        brush = min(brush, rng.uniform(0.1, 0.16) * ink_height)
        coverage = fitted(digit, ink_height, brush, width - 4, height - 4)
        h, w = coverage.shape
        full = np.zeros((height, width), np.float32)
        # The centre 12–30% of the canvas away from the middle, in each direction, clamped in.
        cx = width / 2 + rng.choice([-1, 1]) * rng.uniform(0.12, 0.3) * width
        cy = height / 2 + rng.choice([-1, 1]) * rng.uniform(0.12, 0.3) * height
        x = int(min(max(cx - w / 2, 2), width - w - 2))
        y = int(min(max(cy - h / 2, 2), height - h - 2))
        full[y:y + h, x:x + w] = coverage
        coverage = full
    else:
        ink_height = rng.uniform(0.45, 0.9) * min(width, height)
        coverage = place(rng, fitted(digit, ink_height, brush, width - 4, height - 4), width, height, 2)
    if rng.random() < 0.65:
        background = np.full(3, 255.0)
        names = sorted(INK_COLORS)
        ink = (0, 0, 0) if rng.random() < 0.7 else INK_COLORS[names[int(rng.integers(len(names)))]]
    else:
        background = np.zeros(3)
        ink = (255, 255, 255) if rng.random() < 0.7 else tuple(rng.uniform(180, 255, 3))
    image = paint(np.broadcast_to(background.astype(np.float32), (height, width, 3)), coverage, ink)
    return to_image(image, "RGB")


def pencil(rng, digit):
    # A pencil on plain or squared paper, scanned: gray graphite that the paper's tooth breaks up
    # into grains, over light-blue or gray grid lines much fainter than the strokes.
    width, height = square_or_common(rng, 400, 900, 0.4, [(600, 800), (800, 600), (480, 640), (640, 480)])
    ink_height = rng.uniform(0.4, 0.85) * min(width, height)
    stroke = stroke_width(rng, ink_height, 0.02, 0.05, 2.5)
    coverage = place(rng, fitted(digit, ink_height, stroke, width - 8, height - 8), width, height, 4)
    # The tooth: fine grains (about a pixel) where graphite takes or does not, and a slower
    # variation of pressure along the strokes.
    tooth = fine_blur(rng.normal(0, 1, (height, width)), rng.uniform(0.6, 1.1))
    tooth /= max(float(tooth.std()), 1e-6)
    grains = np.clip(rng.uniform(0.6, 0.8) + rng.uniform(0.35, 0.55) * tooth, 0, 1)
    pressure = np.clip(1 + 0.12 * smooth_noise(rng, width, height, 12), 0.7, 1.0)
    paper = rng.uniform(215, 245)
    ink = rng.uniform(90, 150)
    darkening = (1 - ink / paper) * coverage * grains * pressure
    # Graph paper in two thirds: lines every 4–7% of the width, 10–22 levels below the paper.
    kind = ["plain", "blue-grid", "gray-grid"][int(rng.integers(3))]
    lines = np.zeros((height, width), np.float32)
    if kind != "plain":
        spacing = rng.uniform(0.04, 0.07) * width
        thickness = 1 if width < 700 or rng.random() < 0.5 else 2
        depth = rng.uniform(10, 22)
        for x in np.arange(rng.uniform(0, spacing), width, spacing).astype(int):
            lines[:, x:x + thickness] = depth
        for y in np.arange(rng.uniform(0, spacing), height, spacing).astype(int):
            lines[y:y + thickness, :] = depth
    background = paper + illumination(rng, width, height, rng.uniform(3, 10))
    if kind == "blue-grid":  # light blue: less red and green there
        channels = [background - lines * 1.8, background - lines * 0.9, background - lines * 0.1]
    else:
        channels = [background - lines]
    blur = rng.uniform(0.3, 0.7)
    out = []
    for channel in channels:
        scanned = channel * (1 - darkening)  # graphite darkens the lines and the paper alike
        out.append(fine_blur(scanned, blur))
    noise = rng.normal(0, rng.uniform(2, 5), (height, width))
    if kind == "blue-grid":
        return to_image(np.stack([c + noise for c in out], axis=2), "RGB")
    return to_image(out[0] + noise, "L")


CAPTURES = {
    "canvas-bw": canvas_bw, "canvas-wb": canvas_wb, "canvas-rgba": canvas_rgba, "color-pen": color_pen,
    "scan": scan, "photo": photo, "small": small, "thin-thick": thin_thick,
    "sheet": sheet, "mouse": mouse, "pencil": pencil,
}


def make_digit(rng, digit, style, fonts):
    """Pen strokes for most pictures, a font for about 30% (never for the stroke-width extremes,
    a mouse or a pencil, which are drawn by hand)."""
    if style == "mouse":
        return MouseDigit(rng, digit)
    families = [[f for f in family if f in fonts] for family in FONT_FAMILIES]
    families = [family for family in families if family]
    use_font = style not in ("thin-thick", "pencil") and families and rng.random() < 0.34
    # The photo's perspective and the sheet's own turn rotate the ink as well.
    rotation = {"photo": (-6, 6), "sheet": (-4, 4)}
    if not use_font:
        return StrokeDigit(rng, digit, rotation=rotation.get(style, (-10, 10)))
    family = families[int(rng.integers(len(families)))]
    return FontDigit(rng, digit, family[int(rng.integers(len(family)))], rotation=rotation.get(style, (-8, 8)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--per-digit", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if args.per_digit < 1 or args.seed < 0:
        parser.error("--per-digit must be at least 1 and --seed not negative")

    fonts = [f for family in FONT_FAMILIES for f in family if Path(f[1]).is_file()]
    # A smaller set after a larger one must not leave stale pictures behind.
    stale = re.compile(r"^(%s)-\d+\.png$" % "|".join(map(re.escape, STYLES)))
    rows = []
    for digit in range(10):
        directory = args.outdir / str(digit)
        directory.mkdir(parents=True, exist_ok=True)
        for old in sorted(directory.iterdir()):
            if stale.match(old.name):
                old.unlink()
        counters = dict.fromkeys(STYLES, 0)
        for index in range(args.per_digit):
            # Styles go round, shifted per digit, so every style gets its share of every digit.
            style = STYLES[(index + digit) % len(STYLES)]
            rng = np.random.default_rng([args.seed, digit, index])
            shape = make_digit(rng, digit, style, fonts)
            image = CAPTURES[style](rng, shape)
            name = f"{digit}/{style}-{counters[style]:03d}.png"
            counters[style] += 1
            image.save(args.outdir / name)
            rows.append([name, digit, style, shape.source])
    with open(args.outdir / "labels.csv", "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["file", "label", "style", "source"])
        writer.writerows(rows)


if __name__ == "__main__":
    main()
