#!/usr/bin/env python3
"""Inference speed of digits against onnxruntime (and PyTorch, when installed) on the same nets,
the same machine and the same thread count, and the ratios. For people who want to check our
claims; the project never depends on these packages.

The nets: the MLP 784-128-64-10 (the shipped checkpoints/mlp.safetensors) and cnn-basic (conv
3×3 1→32, ReLU, maxpool 2, conv 3×3 32→64, ReLU, maxpool 2, dense 1600→128, ReLU, dense 10,
random weights: speed does not depend on them). Each is written as an ONNX graph with onnx's
helper API and run by onnxruntime with intra_op_num_threads = N. Throughput is images per
second at batch 1 (one image per call) and batch 1000, the median of R repetitions after a
warm-up; digits' figures come from `digits bench --json` in the same run. onnxruntime and
PyTorch get inputs already normalized to floats; digits' figures include normalizing the
bytes, so the comparison slightly favours them.

    VENV/bin/python scripts/compare-inference.py [--threads 2] [--repetitions 5] [--digits PATH]

Needs, in the Python that runs it: numpy, safetensors, onnx, onnxruntime (and torch for the
PyTorch column), for example in a virtualenv outside the repository:
    python3 -m venv ~/peers && ~/peers/bin/pip install numpy safetensors onnx onnxruntime==1.31.0
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from safetensors.numpy import load_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def mlp_graph(weights):
    """Gemm with transB=1 takes PyTorch's [out, in] weights as they are; the outputs are fc3's
    (11 for a model with a "not a digit" class)."""
    nodes, inits = [], []
    x = "input"
    for index in (1, 2, 3):
        w, b = f"fc{index}.weight", f"fc{index}.bias"
        inits += [numpy_helper.from_array(weights[w].astype(np.float32), w), numpy_helper.from_array(weights[b].astype(np.float32), b)]
        out = f"fc{index}"
        nodes.append(helper.make_node("Gemm", [x, w, b], [out], transB=1))
        x = out
        if index < 3:
            nodes.append(helper.make_node("Relu", [x], [x + "_relu"]))
            x += "_relu"
    graph = helper.make_graph(nodes, "mlp", [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 784])],
                              [helper.make_tensor_value_info(x, TensorProto.FLOAT, ["batch", weights["fc3.weight"].shape[0]])], inits)
    return finish(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]))


def finish(model):
    """IR version 9 (opset 17): onnx may write a newer one than onnxruntime reads."""
    model.ir_version = 9
    onnx.checker.check_model(model)
    return model


def cnn_basic_graph(seed=1):
    rng = np.random.default_rng(seed)
    shapes = {"conv1.weight": (32, 1, 3, 3), "conv1.bias": (32,), "conv2.weight": (64, 32, 3, 3), "conv2.bias": (64,),
              "fc1.weight": (128, 1600), "fc1.bias": (128,), "fc2.weight": (10, 128), "fc2.bias": (10,)}
    inits = [numpy_helper.from_array((rng.standard_normal(s) * 0.05).astype(np.float32), n) for n, s in shapes.items()]
    nodes = [
        helper.make_node("Conv", ["input", "conv1.weight", "conv1.bias"], ["c1"], kernel_shape=[3, 3]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["p1", "conv2.weight", "conv2.bias"], ["c2"], kernel_shape=[3, 3]),
        helper.make_node("Relu", ["c2"], ["r2"]),
        helper.make_node("MaxPool", ["r2"], ["p2"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Flatten", ["p2"], ["f"], axis=1),
        helper.make_node("Gemm", ["f", "fc1.weight", "fc1.bias"], ["h"], transB=1),
        helper.make_node("Relu", ["h"], ["hr"]),
        helper.make_node("Gemm", ["hr", "fc2.weight", "fc2.bias"], ["logits"], transB=1),
    ]
    graph = helper.make_graph(nodes, "cnn_basic", [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 1, 28, 28])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 10])], inits)
    return finish(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]))


def median_rate(run, images, repetitions):
    run()  # warm-up
    seconds = []
    for _ in range(repetitions):
        start = time.perf_counter()
        run()
        seconds.append(time.perf_counter() - start)
    return images / statistics.median(seconds), images / max(seconds), images / min(seconds)


def measure_ort(model, shape, threads, repetitions, images1, images1000):
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(3)
    one = rng.standard_normal((1, *shape)).astype(np.float32)
    many = rng.standard_normal((1000, *shape)).astype(np.float32)

    def batch1():
        for _ in range(images1):
            session.run(None, {"input": one})

    def batch1000():
        for _ in range(images1000 // 1000):
            session.run(None, {"input": many})

    return median_rate(batch1, images1, repetitions), median_rate(batch1000, images1000, repetitions)


def measure_torch(name, weights, threads, repetitions, images1, images1000):
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(threads)
    if name == "mlp":
        net = torch.nn.Sequential(torch.nn.Linear(784, 128), torch.nn.ReLU(), torch.nn.Linear(128, 64), torch.nn.ReLU(),
                                  torch.nn.Linear(64, 10))
        shape = (784,)
    else:
        net = torch.nn.Sequential(torch.nn.Conv2d(1, 32, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Conv2d(32, 64, 3),
                                  torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten(), torch.nn.Linear(1600, 128),
                                  torch.nn.ReLU(), torch.nn.Linear(128, 10))
        shape = (1, 28, 28)
    net.eval()
    one, many = torch.randn(1, *shape), torch.randn(1000, *shape)

    def batch1():
        with torch.inference_mode():
            for _ in range(images1):
                net(one)

    def batch1000():
        with torch.inference_mode():
            for _ in range(images1000 // 1000):
                net(many)

    return median_rate(batch1, images1, repetitions), median_rate(batch1000, images1000, repetitions)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument("--digits", default=os.path.join(ROOT, ".build/release/digits"))
    args = parser.parse_args()

    bench = subprocess.run([args.digits, "bench", "--json", "--models", "mlp,cnn-basic", "--threads", str(args.threads),
                            "--repetitions", str(args.repetitions)], capture_output=True, text=True, cwd=ROOT)
    if bench.returncode != 0:
        sys.exit(f"compare-inference: digits bench failed: {bench.stderr.strip()}")
    ours = json.loads(bench.stdout)
    print(f"threads {args.threads}; onnxruntime {ort.__version__}; digits BLAS core {ours['blas_core']}")

    weights = load_file(os.path.join(ROOT, "checkpoints/mlp.safetensors"))
    cases = [("mlp", mlp_graph(weights), (784,), 20000, 100000), ("cnn_basic", cnn_basic_graph(), (1, 28, 28), 2000, 4000)]
    try:
        import torch  # noqa: F401
        has_torch = True
    except ImportError:
        has_torch = False
    header = f"{'model':10s} {'batch':>5s}  {'digits img/s':>14s}  {'onnxruntime img/s':>18s}  {'ratio':>6s}"
    print(header + (f"  {'PyTorch img/s':>14s}  {'ratio':>6s}" if has_torch else "  (PyTorch not installed)"))
    for name, model, shape, images1, images1000 in cases:
        peer = measure_ort(model, shape, args.threads, args.repetitions, images1, images1000)
        torch_rates = measure_torch(name, weights, args.threads, args.repetitions, images1, images1000)
        for column, batch in ((0, "1"), (1, "1000")):
            mine = ours[name][f"infer_batch{batch}_images_per_second"]
            theirs = peer[column][0]
            line = f"{name:10s} {batch:>5s}  {mine:14,.0f}  {theirs:18,.0f}  {mine / theirs:6.2f}"
            if torch_rates:
                line += f"  {torch_rates[column][0]:14,.0f}  {mine / torch_rates[column][0]:6.2f}"
            print(line)
    print("ratio = digits / peer images per second: above 1 means digits is faster")


if __name__ == "__main__":
    main()
