#!/usr/bin/env python3
"""Reads a digits checkpoint with Python's safetensors package and numpy alone, rebuilds the
model from the architecture in its metadata, runs it on the MNIST test set, and compares the
accuracy with the one digits recorded. This proves the file is usable outside Swift: the
convolutions here work in PyTorch's NCHW layout with (out, in, kh, kw) weights, independently
of how digits computes them.

    python3 scripts/check-checkpoint.py [CHECKPOINT] [--data DIR]

Needs: pip install numpy safetensors
"""
import argparse
import gzip
import json
import math
import os
import struct
import sys

import numpy as np
from safetensors import safe_open


def read_idx(path):
    """An IDX file (raw or gzip, by content) as a numpy array."""
    with open(path, "rb") as handle:
        data = handle.read()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    if data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise SystemExit(f"{path}: expected a ubyte IDX file")
    dims = data[3]
    shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def find(directory, names):
    for name in names:
        path = os.path.join(directory, name)
        if os.path.exists(path):
            return path
    raise SystemExit(f"{directory}: none of {', '.join(names)}; run scripts/fetch-mnist")


ERF = np.frompyfunc(math.erf, 1, 1)


def activate(name, x):
    if name == "relu":
        return np.maximum(x, 0)
    if name == "leaky-relu":
        return np.where(x > 0, x, np.float32(0.01) * x)
    if name == "sigmoid":
        return 1 / (1 + np.exp(-x))
    if name == "tanh":
        return np.tanh(x)
    if name == "gelu":
        return x * 0.5 * (1 + ERF(x / math.sqrt(2)).astype(np.float32))
    if name == "swish":
        return x / (1 + np.exp(-x))
    raise SystemExit(f"unknown activation {name}")


def conv2d(x, weight, bias, stride, padding):
    """x (N, C, H, W), weight (O, C, kh, kw): cross-correlation as PyTorch's Conv2d."""
    if padding:
        x = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    n, c, h, w = x.shape
    o, _, kh, kw = weight.shape
    oh, ow = (h - kh) // stride + 1, (w - kw) // stride + 1
    windows = np.lib.stride_tricks.as_strided(
        x, shape=(n, c, oh, ow, kh, kw),
        strides=(x.strides[0], x.strides[1], x.strides[2] * stride, x.strides[3] * stride, x.strides[2], x.strides[3]))
    return (np.einsum("ncyxij,ocij->noyx", windows, weight, optimize=True) + bias[None, :, None, None]).astype(np.float32)


def max_pool(x, kernel, stride):
    n, c, h, w = x.shape
    oh, ow = (h - kernel) // stride + 1, (w - kernel) // stride + 1
    windows = np.lib.stride_tricks.as_strided(
        x, shape=(n, c, oh, ow, kernel, kernel),
        strides=(x.strides[0], x.strides[1], x.strides[2] * stride, x.strides[3] * stride, x.strides[2], x.strides[3]))
    return windows.max(axis=(4, 5))


def batch_norm(x, tensors, name):
    """Inference: the running statistics, per channel (axis 1), ε = 1e-5."""
    shape = (1, -1) + (1,) * (x.ndim - 2)
    mean, var = tensors[name + ".running_mean"].reshape(shape), tensors[name + ".running_var"].reshape(shape)
    weight, bias = tensors[name + ".weight"].reshape(shape), tensors[name + ".bias"].reshape(shape)
    return ((x - mean) / np.sqrt(var + np.float32(1e-5)) * weight + bias).astype(np.float32)


def conv_layer(x, tensors, name, stride=1, padding=0, bias=True):
    """A named convolution from the checkpoint (no bias tensor when bias is False)."""
    weight = tensors[name + ".weight"]
    offset = tensors[name + ".bias"] if bias else np.zeros(weight.shape[0], dtype=np.float32)
    return conv2d(x, weight, offset, stride, padding)


def residual_block(x, tensors, layer):
    """torchvision's BasicBlock: ReLU(bn2(conv2(ReLU(bn1(conv1(x))))) + skip(x)), where the skip
    is the identity, or a 1x1 convolution and BatchNorm (downsample.0, .1) when the shape changes."""
    name, stride = layer["name"], layer.get("stride", 1)
    branch = batch_norm(conv_layer(x, tensors, name + ".conv1", stride, 1, bias=False), tensors, name + ".bn1")
    branch = np.maximum(branch, 0)
    branch = batch_norm(conv_layer(branch, tensors, name + ".conv2", 1, 1, bias=False), tensors, name + ".bn2")
    if name + ".downsample.0.weight" in tensors:
        skip = batch_norm(conv_layer(x, tensors, name + ".downsample.0", stride, 0, bias=False), tensors, name + ".downsample.1")
    else:
        skip = x
    return np.maximum(branch + skip, 0).astype(np.float32)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoint", nargs="?", default="checkpoints/mlp.safetensors")
    parser.add_argument("--data", default="datasets/mnist")
    args = parser.parse_args()

    with safe_open(args.checkpoint, framework="np") as handle:
        metadata = handle.metadata()
        tensors = {name: handle.get_tensor(name) for name in handle.keys()}
    architecture = json.loads(metadata["architecture"])

    images = read_idx(find(args.data, ["t10k-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte"]))
    labels = read_idx(find(args.data, ["t10k-labels-idx1-ubyte.gz", "t10k-labels-idx1-ubyte"]))
    channels, height, width = architecture["input"]
    x = images.reshape(len(images), channels, height, width).astype(np.float32) / 255
    normalization = architecture.get("normalization")
    if normalization:
        x = (x - np.float32(normalization["mean"])) / np.float32(normalization["std"])

    for layer in architecture["layers"]:
        if layer["kind"] == "linear":
            weight, bias = tensors[layer["name"] + ".weight"], tensors[layer["name"] + ".bias"]
            assert weight.shape == (layer["out_features"], layer["in_features"]), weight.shape
            x = x.reshape(len(x), -1) @ weight.T + bias
        elif layer["kind"] == "conv2d":
            weight = tensors[layer["name"] + ".weight"]
            assert weight.shape == (layer["out_channels"], layer["in_channels"], *layer["kernel_size"]), weight.shape
            x = conv_layer(x, tensors, layer["name"], layer.get("stride", 1), layer.get("padding", 0), layer.get("bias", True))
        elif layer["kind"] == "residual":
            x = residual_block(x, tensors, layer)
        elif layer["kind"] == "globalavgpool":
            x = x.mean(axis=(2, 3)).astype(np.float32)
        elif layer["kind"] == "maxpool2d":
            x = max_pool(x, layer["kernel_size"][0], layer.get("stride", layer["kernel_size"][0]))
        elif layer["kind"] == "flatten":
            x = x.reshape(len(x), -1)
        elif layer["kind"] == "batchnorm":
            x = batch_norm(x, tensors, layer["name"])
        elif layer["kind"] == "activation":
            x = activate(layer["function"], x).astype(np.float32)
        elif layer["kind"] == "dropout":
            pass  # identity at inference
        else:
            raise SystemExit(f"unknown layer kind {layer['kind']}")

    # A model with a "not a digit" class (reject_class) is scored on its best digit, as digits does.
    digits = architecture["classes"] - 1 if architecture.get("reject_class") else architecture["classes"]
    predictions = x[:, :digits].argmax(axis=1)
    correct = int((predictions == labels).sum())
    accuracy = correct / len(labels)
    recorded = metadata.get("test_accuracy")
    print(f"{args.checkpoint}: {len(tensors)} tensors, architecture {architecture['model']} "
          f"({', '.join(f'{k} {list(v.shape)}' for k, v in tensors.items())})")
    print(f"test accuracy from Python: {accuracy:.4f} ({correct} of {len(labels)})")
    if recorded is None:
        print("the checkpoint records no test accuracy to compare with")
        return 0
    recorded = float(recorded)
    print(f"test accuracy recorded by digits: {recorded:.4f}")
    # Float32 sums in a different order can flip a prediction that sits on a tie; allow one.
    if abs(accuracy - recorded) * len(labels) > 1.5:
        print("MISMATCH: Python and digits disagree", file=sys.stderr)
        return 1
    print("match" if round(accuracy * len(labels)) == round(recorded * len(labels)) else "match within one image")
    return 0


if __name__ == "__main__":
    sys.exit(main())
