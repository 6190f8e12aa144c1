#!/usr/bin/env python3
"""Writes the seed corpus for scripts/fuzz: small valid inputs of every kind each harness reads,
so that libFuzzer starts from the formats' real structure instead of random bytes.

    python3 scripts/fuzz-corpus.py OUTDIR [--pngsuite DIR]

OUTDIR/FuzzIDX: IDX files of every element type and rank 1-3, raw and gzip.
OUTDIR/FuzzPNG: PNGs made here (gray, RGB, palette, alpha, 1-16 bits, interlaced or not) plus
  the valid PngSuite files when --pngsuite is given.
OUTDIR/FuzzCheckpoint: tiny digits checkpoints (an MLP, a CNN with BatchNorm, cnn-basic's
  layout) in the same safetensors layout and metadata digits writes.
OUTDIR/FuzzAugmentSpec: --augment recipes.
Standard library only."""
import gzip
import json
import os
import random
import shutil
import struct
import sys
import zlib


def write(directory, name, data):
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, name), "wb") as handle:
        handle.write(data)


def idx(type_code, fmt, shape, values):
    header = bytes([0, 0, type_code, len(shape)]) + b"".join(struct.pack(">I", d) for d in shape)
    return header + b"".join(struct.pack(">" + fmt, v) for v in values)


def idx_corpus(out):
    rng = random.Random(1)
    types = [(0x08, "B", lambda: rng.randrange(256)), (0x09, "b", lambda: rng.randrange(-128, 128)),
             (0x0B, "h", lambda: rng.randrange(-32768, 32768)), (0x0C, "i", lambda: rng.randrange(-2**31, 2**31)),
             (0x0D, "f", lambda: rng.uniform(-1, 1)), (0x0E, "d", lambda: rng.uniform(-1, 1))]
    for code, fmt, draw in types:
        for shape in ([5], [3, 4], [2, 5, 5]):
            count = 1
            for d in shape:
                count *= d
            data = idx(code, fmt, shape, [draw() for _ in range(count)])
            name = f"t{code:02x}-r{len(shape)}"
            write(out, name + ".idx", data)
            write(out, name + ".idx.gz", gzip.compress(data, mtime=0))
    # MNIST-like: 3 images of 28×28 and their labels.
    images = idx(0x08, "B", [3, 28, 28], [rng.randrange(256) for _ in range(3 * 784)])
    write(out, "images.idx.gz", gzip.compress(images, mtime=0))
    write(out, "labels.idx", idx(0x08, "B", [3], [7, 2, 1]))


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png(width, height, depth, color, rows, palette=None, trns=None, interlace=0):
    data = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth, color, 0, 0, interlace))
    if palette:
        data += png_chunk(b"PLTE", palette)
    if trns:
        data += png_chunk(b"tRNS", trns)
    raw = b"".join(b"\x00" + row for row in rows)
    return data + png_chunk(b"IDAT", zlib.compress(raw)) + png_chunk(b"IEND", b"")


def png_corpus(out, pngsuite):
    rng = random.Random(2)
    w, h = 12, 10
    write(out, "gray8.png", png(w, h, 8, 0, [bytes(rng.randrange(256) for _ in range(w)) for _ in range(h)]))
    write(out, "gray1.png", png(16, 8, 1, 0, [bytes(rng.randrange(256) for _ in range(2)) for _ in range(8)]))
    write(out, "gray16.png", png(w, h, 16, 0, [bytes(rng.randrange(256) for _ in range(2 * w)) for _ in range(h)]))
    write(out, "rgb8.png", png(w, h, 8, 2, [bytes(rng.randrange(256) for _ in range(3 * w)) for _ in range(h)]))
    write(out, "rgba8.png", png(w, h, 8, 6, [bytes(rng.randrange(256) for _ in range(4 * w)) for _ in range(h)]))
    write(out, "graya8.png", png(w, h, 8, 4, [bytes(rng.randrange(256) for _ in range(2 * w)) for _ in range(h)]))
    write(out, "palette.png", png(w, h, 8, 3, [bytes(rng.randrange(4) for _ in range(w)) for _ in range(h)],
                                  palette=bytes([0, 0, 0, 255, 255, 255, 128, 0, 0, 0, 128, 0]), trns=bytes([255, 0, 128])))
    write(out, "interlaced.png", png(w, h, 8, 0, [bytes(rng.randrange(256) for _ in range(w)) for _ in range(h)], interlace=1))
    digit = [bytes(255 if 8 <= x <= 19 and (y in (6, 7, 20, 21) or x in (8, 9, 18, 19)) else 0 for x in range(28)) for y in range(28)]
    write(out, "digit0.png", png(28, 28, 8, 0, digit))
    if pngsuite and os.path.isdir(pngsuite):
        for name in sorted(os.listdir(pngsuite)):
            if name.endswith(".png") and not name.startswith("x"):
                shutil.copy(os.path.join(pngsuite, name), os.path.join(out, "suite-" + name))


def safetensors(metadata, tensors):
    header = {"__metadata__": metadata}
    offset, blobs = 0, []
    for name, shape, values in tensors:
        blob = struct.pack("<%df" % len(values), *values)
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [offset, offset + len(blob)]}
        offset += len(blob)
        blobs.append(blob)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


def checkpoint(architecture, rng):
    tensors = []
    for layer in architecture["layers"]:
        kind, name = layer["kind"], layer.get("name")
        if kind == "linear":
            shapes = [("weight", [layer["out_features"], layer["in_features"]]), ("bias", [layer["out_features"]])]
        elif kind == "conv2d":
            shapes = [("weight", [layer["out_channels"], layer["in_channels"]] + layer["kernel_size"]), ("bias", [layer["out_channels"]])]
        elif kind == "batchnorm":
            c = layer["num_features"]
            shapes = [("weight", [c]), ("bias", [c]), ("running_mean", [c]), ("running_var", [c]), ("num_batches_tracked", [1])]
        else:
            continue
        for suffix, shape in shapes:
            count = 1
            for d in shape:
                count *= d
            values = [1.0] * count if suffix == "running_var" else [rng.uniform(-0.5, 0.5) for _ in range(count)]
            tensors.append((f"{name}.{suffix}", shape, values))
    metadata = {"format": "digits", "format_version": "1", "architecture": json.dumps(architecture, separators=(",", ":"))}
    return safetensors(metadata, tensors)


def checkpoint_corpus(out):
    rng = random.Random(3)
    norm = {"mean": 0.1307, "std": 0.3081}
    mlp = {"model": "mlp", "input": [1, 4, 4], "classes": 3, "activation": "relu", "dropout": 0.1, "normalization": norm,
           "layers": [{"kind": "linear", "name": "fc1", "in_features": 16, "out_features": 6}, {"kind": "activation", "function": "relu"},
                      {"kind": "dropout", "p": 0.1}, {"kind": "linear", "name": "fc2", "in_features": 6, "out_features": 3}]}
    cnn = {"model": "cnn", "input": [1, 8, 8], "classes": 3, "activation": "relu", "dropout": 0, "normalization": norm,
           "layers": [{"kind": "conv2d", "name": "conv1", "in_channels": 1, "out_channels": 4, "kernel_size": [3, 3], "stride": 1, "padding": 1},
                      {"kind": "batchnorm", "name": "bn1", "num_features": 4}, {"kind": "activation", "function": "relu"},
                      {"kind": "maxpool2d", "kernel_size": [2, 2], "stride": 2}, {"kind": "flatten"},
                      {"kind": "linear", "name": "fc1", "in_features": 64, "out_features": 3}]}
    basic = {"model": "cnn-basic", "input": [1, 10, 10], "classes": 2, "activation": "relu", "dropout": 0.5, "normalization": norm,
             "layers": [{"kind": "conv2d", "name": "conv1", "in_channels": 1, "out_channels": 16, "kernel_size": [3, 3], "stride": 1, "padding": 0},
                        {"kind": "activation", "function": "relu"}, {"kind": "maxpool2d", "kernel_size": [2, 2], "stride": 2},
                        {"kind": "flatten"}, {"kind": "linear", "name": "fc1", "in_features": 256, "out_features": 2}]}
    for name, architecture in (("mlp", mlp), ("cnn", cnn), ("cnn-basic", basic)):
        write(out, name + ".safetensors", checkpoint(architecture, rng))


def spec_corpus(out):
    specs = ["none", "shift=2", "shift=2,rotate=10,scale=0.1", "elastic=34:4", "noise=0.1", "salt=0.01",
             "shear=0.1", "shift=1,rotate=15,scale=0.1,shear=0.2,elastic=30:5,noise=0.05,salt=0.02", "rotate=-5"]
    for index, spec in enumerate(specs):
        write(out, f"spec{index}.txt", spec.encode())


def jpeg_corpus(out):
    """JPEGs of every kind the reader meets (needs Pillow: scripts/fuzz runs this file with the
    drawings venv's Python); without Pillow, a minimal baseline file only."""
    os.makedirs(out, exist_ok=True)
    try:
        import io
        from PIL import Image, ImageDraw
    except ImportError:
        return
    rng = random.Random(5)
    image = Image.new("L", (24, 32), 230)
    ImageDraw.Draw(image).line([(4, 4), (20, 4), (9, 28)], fill=20, width=3)

    def save(name, picture, **options):
        buffer = io.BytesIO()
        picture.save(buffer, format="JPEG", **options)
        write(out, name, buffer.getvalue())
        return buffer.getvalue()

    save("gray.jpg", image, quality=80)
    save("rgb.jpg", image.convert("RGB"), quality=80)
    save("rgb-420.jpg", image.convert("RGB"), quality=60, subsampling=2)
    save("progressive.jpg", image.convert("RGB"), quality=75, progressive=True)
    save("cmyk.jpg", image.convert("CMYK"), quality=75)
    save("tiny.jpg", Image.new("L", (1, 1), 0))
    for orientation in range(1, 9):
        exif = Image.Exif()
        exif[0x0112] = orientation
        save(f"exif{orientation}.jpg", image, quality=70, exif=exif.tobytes())
    exif = Image.Exif()
    exif[0x0112] = 77
    whole = save("exif-bogus.jpg", image, quality=70, exif=exif.tobytes())
    write(out, "truncated.jpg", whole[:len(whole) // 2])
    noise = Image.frombytes("L", (16, 16), bytes(rng.randrange(256) for _ in range(256)))
    save("noise.jpg", noise, quality=95)


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: fuzz-corpus.py OUTDIR [--pngsuite DIR]")
    out = sys.argv[1]
    pngsuite = sys.argv[sys.argv.index("--pngsuite") + 1] if "--pngsuite" in sys.argv else None
    idx_corpus(os.path.join(out, "FuzzIDX"))
    png_corpus(os.path.join(out, "FuzzPNG"), pngsuite)
    jpeg_corpus(os.path.join(out, "FuzzJPEG"))
    checkpoint_corpus(os.path.join(out, "FuzzCheckpoint"))
    spec_corpus(os.path.join(out, "FuzzAugmentSpec"))
    for harness in sorted(os.listdir(out)):
        print(f"fuzz-corpus: {harness}: {len(os.listdir(os.path.join(out, harness)))} seeds")


if __name__ == "__main__":
    main()
