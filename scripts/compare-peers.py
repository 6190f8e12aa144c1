#!/usr/bin/env python3
"""Runs the same job in digits and in PyTorch, side by side on this machine, and prints the
ratio. For people who want to check our speed claims; the project never depends on PyTorch.

Jobs, chosen with --model: the MLP 784-128-64-10 (ReLU, dropout 0.2), cnn-basic (conv 3×3 1→32,
ReLU, maxpool 2, conv 3×3 32→64, ReLU, maxpool 2, dense 128, ReLU, dropout 0.5, dense 10) or
cnn (digits' default CNN, with BatchNorm). Adam at 1e-3, batch 128, the first 55,000 MNIST
training images, no augmentation, N threads. Epoch time is the training loop only (no
validation), median over the epochs after the first.

    VENV/bin/python scripts/compare-peers.py [--model mlp|cnn-basic|cnn] [--threads 2] [--epochs 4] [--rounds 1]

Needs, in the Python that runs it: torch, numpy, safetensors (for example
pip install torch==2.13.0+cpu numpy safetensors in a virtualenv outside the repository).
"""
import argparse
import gzip
import json
import os
import statistics
import struct
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
from torch import nn


def read_idx(path):
    with open(path, "rb") as handle:
        data = handle.read()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    dims = data[3]
    shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


class MLP(nn.Module):
    """Named as digits names its tensors, so a digits checkpoint loads with load_state_dict."""

    def __init__(self, dropout):
        super().__init__()
        self.fc1, self.fc2, self.fc3 = nn.Linear(784, 128), nn.Linear(128, 64), nn.Linear(64, 10)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        x = self.dropout(torch.relu(self.fc1(x)))
        x = self.dropout(torch.relu(self.fc2(x)))
        return self.fc3(x)


class CNNBasic(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(1, 32, 3), nn.Conv2d(32, 64, 3)
        self.fc1, self.fc2 = nn.Linear(1600, 128), nn.Linear(128, 10)
        self.dropout = nn.Dropout(0.5)

    def forward(self, x):
        x = torch.max_pool2d(torch.relu(self.conv1(x)), 2)
        x = torch.max_pool2d(torch.relu(self.conv2(x)), 2)
        return self.fc2(self.dropout(torch.relu(self.fc1(torch.flatten(x, 1)))))


class CNN(nn.Module):
    """digits' default cnn: conv-bn-relu ×2, pool, ×2, pool, fc256-bn-relu-dropout, fc10."""

    def __init__(self):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(1, 32, 3), nn.BatchNorm2d(32)
        self.conv2, self.bn2 = nn.Conv2d(32, 32, 3), nn.BatchNorm2d(32)
        self.conv3, self.bn3 = nn.Conv2d(32, 64, 3), nn.BatchNorm2d(64)
        self.conv4, self.bn4 = nn.Conv2d(64, 64, 3), nn.BatchNorm2d(64)
        self.fc1, self.bn5, self.fc2 = nn.Linear(1024, 256), nn.BatchNorm1d(256), nn.Linear(256, 10)
        self.dropout = nn.Dropout(0.4)

    def forward(self, x):
        x = torch.relu(self.bn1(self.conv1(x)))
        x = torch.max_pool2d(torch.relu(self.bn2(self.conv2(x))), 2)
        x = torch.relu(self.bn3(self.conv3(x)))
        x = torch.max_pool2d(torch.relu(self.bn4(self.conv4(x))), 2)
        return self.fc2(self.dropout(torch.relu(self.bn5(self.fc1(torch.flatten(x, 1))))))


MODELS = {"mlp": (lambda: MLP(0.2), "0.2"), "cnn-basic": (CNNBasic, "0.5"), "cnn": (CNN, "0.4")}


def pytorch_epochs(name, x, y, epochs, batch):
    torch.manual_seed(1)
    model = MODELS[name][0]()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_function = nn.CrossEntropyLoss()
    times = []
    for _ in range(epochs):
        model.train()
        start = time.perf_counter()
        permutation = torch.randperm(len(x))
        for begin in range(0, len(x), batch):
            index = permutation[begin:begin + batch]
            optimizer.zero_grad(set_to_none=True)
            loss = loss_function(model(x[index]), y[index])
            loss.backward()
            optimizer.step()
        times.append(time.perf_counter() - start)
    return times


def digits_epochs(name, binary, data, epochs, threads, output):
    command = [binary, "train", "--model", name, "--data", data, "--epochs", str(epochs), "--dropout", MODELS[name][1],
               "--learning-rate", "0.001", "--schedule", "constant", "--batch-size", "128", "--augment", "none",
               "--threads", str(threads), "--output", output, "--json"]
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    blas = next((line for line in result.stderr.splitlines() if line.startswith("BLAS:")), "BLAS: ?")
    return [line["seconds"] for line in lines if "epoch" in line], lines[-1], blas


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", choices=sorted(MODELS), default="mlp")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=1,
                        help="alternate digits and PyTorch this many times; the ratio of each round is printed")
    parser.add_argument("--data", default="datasets/mnist")
    parser.add_argument("--digits", default=".build/release/digits")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    images = read_idx(os.path.join(args.data, "train-images-idx3-ubyte.gz"))[:55000]
    labels = read_idx(os.path.join(args.data, "train-labels-idx1-ubyte.gz"))[:55000]
    shape = (-1, 784) if args.model == "mlp" else (-1, 1, 28, 28)
    x = torch.from_numpy(((images.reshape(shape).astype(np.float32) / 255) - 0.1307) / 0.3081)
    y = torch.from_numpy(labels.astype(np.int64))

    with tempfile.TemporaryDirectory() as directory:
        checkpoint = os.path.join(directory, "model.safetensors")
        rounds = []
        for _ in range(args.rounds):
            # Alternating keeps both programs exposed to the same drift in the machine's speed.
            ours, final, blas = digits_epochs(args.model, args.digits, args.data, args.epochs, args.threads, checkpoint)
            theirs = pytorch_epochs(args.model, x, y, args.epochs, 128)
            rounds.append((ours, theirs))

        # Interop: PyTorch loads the digits checkpoint by name, strictly, and agrees on accuracy.
        from safetensors.torch import load_file
        model = MODELS[args.model][0]()
        model.load_state_dict(load_file(checkpoint), strict=True)
        model.eval()
        test_images = read_idx(os.path.join(args.data, "t10k-images-idx3-ubyte.gz"))
        test_labels = torch.from_numpy(read_idx(os.path.join(args.data, "t10k-labels-idx1-ubyte.gz")).astype(np.int64))
        test_x = torch.from_numpy(((test_images.reshape(shape).astype(np.float32) / 255) - 0.1307) / 0.3081)
        with torch.no_grad():
            torch_accuracy = (model(test_x).argmax(1) == test_labels).float().mean().item()

    print(f"{blas}")
    print(f"model {args.model}; torch {torch.__version__}, {args.threads} threads")
    ratios = []
    for index, (ours, theirs) in enumerate(rounds):
        ours_median, theirs_median = statistics.median(ours[1:]), statistics.median(theirs[1:])
        ratios.append(ours_median / theirs_median)
        label = f"round {index + 1}: " if len(rounds) > 1 else ""
        print(f"{label}digits  epoch seconds: {', '.join(f'{t:.3f}' for t in ours)}  median {ours_median:.3f}")
        print(f"{label}PyTorch epoch seconds: {', '.join(f'{t:.3f}' for t in theirs)}  median {theirs_median:.3f}")
        print(f"{label}ratio digits/PyTorch: {ratios[-1]:.2f}")
    if len(rounds) > 1:
        print(f"ratio digits/PyTorch over {len(rounds)} rounds: median {statistics.median(ratios):.2f}, "
              f"min {min(ratios):.2f}, max {max(ratios):.2f}")
    print(f"digits checkpoint in PyTorch (load_state_dict, strict): test accuracy {torch_accuracy:.4f}; "
          f"digits recorded {final['test_accuracy']:.4f}")


if __name__ == "__main__":
    main()
