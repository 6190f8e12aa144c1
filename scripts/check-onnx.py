#!/usr/bin/env python3
"""Checks a `digits export` ONNX file with the ONNX tools themselves, never with digits' reader:
onnx.checker (full check), then onnxruntime on the MNIST test images (pixels / 255, as the
export's input expects), against `digits evaluate --logits` and `--predictions` of the same
checkpoint.

    check-onnx.py MODEL.onnx LOGITS.csv PREDICTIONS.csv [--data datasets/mnist] [--tolerance 1e-4]

Prints one line starting with "match" when onnx.checker passes, every image's predicted digit
equals digits' and the largest difference between the logits is within the tolerance; exits 1
otherwise. Needs numpy, onnx and onnxruntime (scripts/check-onnx makes a venv with them).
"""
import argparse
import csv
import gzip
import os
import struct
import sys

import numpy as np
import onnx
import onnxruntime


def read_idx(path):
    data = open(path, "rb").read()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    dims = data[3]
    shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("model")
    parser.add_argument("logits")
    parser.add_argument("predictions")
    parser.add_argument("--data", default="datasets/mnist")
    parser.add_argument("--tolerance", type=float, default=1e-4)
    args = parser.parse_args()

    model = onnx.load(args.model)
    onnx.checker.check_model(model, full_check=True)
    opset = {entry.domain: entry.version for entry in model.opset_import}[""]

    name = "t10k-images-idx3-ubyte"
    path = os.path.join(args.data, name + ".gz") if os.path.exists(os.path.join(args.data, name + ".gz")) else os.path.join(args.data, name)
    images = read_idx(path).astype(np.float32)[:, None, :, :] / 255
    session = onnxruntime.InferenceSession(args.model, providers=["CPUExecutionProvider"])
    inputs = session.get_inputs()
    assert [i.name for i in inputs] == ["input"] and inputs[0].shape[1:] == [1, 28, 28], [(i.name, i.shape) for i in inputs]
    # Two batch sizes through the same session: the batch dimension is free.
    logits = np.concatenate([session.run(["logits"], {"input": images[:1]})[0],
                             session.run(["logits"], {"input": images[1:]})[0]])
    probabilities = session.run(["probabilities"], {"input": images[:100]})[0]

    rows = list(csv.reader(open(args.logits)))
    expected = np.array([[float(v) for v in row[1:]] for row in rows[1:]], dtype=np.float64)
    predicted = [int(row["predicted"]) for row in csv.DictReader(open(args.predictions))]
    assert expected.shape == logits.shape, (expected.shape, logits.shape)
    worst = float(np.max(np.abs(expected - logits)))
    # digits' prediction is the most probable digit; a reject class (the last) never counts.
    digit_classes = 10
    onnx_predicted = np.argmax(logits[:, :digit_classes], axis=1)
    differ = int(np.sum(onnx_predicted != np.array(predicted)))
    softmax = np.exp(logits[:100] - logits[:100].max(axis=1, keepdims=True))
    softmax /= softmax.sum(axis=1, keepdims=True)
    softmax_gap = float(np.max(np.abs(softmax - probabilities)))
    line = (f"{args.model}: onnx.checker passed (opset {opset}, IR {model.ir_version}); onnxruntime "
            f"{onnxruntime.__version__} on {len(logits)} test images: {len(logits) - differ}/{len(logits)} predictions equal "
            f"digits', largest logit difference {worst:.2e}, probabilities = softmax(logits) within {softmax_gap:.1e}")
    ok = differ == 0 and worst <= args.tolerance and softmax_gap <= 1e-5
    print(("match " if ok else "MISMATCH ") + line)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
