#!/usr/bin/env python3
"""Time to 99%: digits' fast recipe against the fastest published PyTorch recipe for MNIST, side
by side on this machine, seed by seed, each as a whole process.

PyTorch: tuomaso/train_mnist_fast's final recipe, as the issue that asked for this describes it:
conv 5×5 1→24, max-pool 2, ReLU; conv 3×3 24→32, max-pool 2, ReLU; dense 800→256, ReLU, dense
10; Adam (lr 0.01, betas 0.7/0.9), OneCycleLR over one epoch, batch 256, the 60,000 training
images held in memory as one normalized tensor. digits: `digits train --model fast --seed S`,
defaults otherwise (the same net, one epoch; 55,000 images, 5,000 held out for validation).

Each run is timed from process start to the checkpoint written (torch.save for PyTorch), and
scored on the 10,000 test images. PyTorch's time inside the process (after `import torch`) is
printed as well. The ratio is digits/PyTorch wall time: below 1, digits is faster.

    VENV/bin/python scripts/time-to-accuracy.py [--seeds 0,1,2,3,4] [--threads 2] [--json OUT]
                                                [--recipe "NAME=TRAIN OPTIONS"]...

--recipe adds a digits recipe to every seed's round (`digits train OPTIONS --seed S`), reported
with its time as a multiple of PyTorch's time to 99%: how `docs/speed.md` measures "99.5% in
at most 4x PyTorch's 99% time".

Needs torch and numpy in the Python that runs it (a venv under .build/, never a dependency of the
project); digits must be built in release mode (.build/release/digits).
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def compare_peers():
    """scripts/compare-peers.py as a module (its name has a dash): its IDX reader."""
    import importlib.util
    sys.dont_write_bytecode = True
    spec = importlib.util.spec_from_file_location("compare_peers", os.path.join(os.path.dirname(__file__), "compare-peers.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def torch_run(seed, data, threads, output):
    """One run of the published recipe, in this process; prints one JSON line."""
    started = time.perf_counter()
    import torch
    from torch import nn
    torch.set_num_threads(threads)
    imported = time.perf_counter()
    read_idx = compare_peers().read_idx
    torch.manual_seed(seed)

    def load(split):
        images = read_idx(os.path.join(data, f"{split}-images-idx3-ubyte.gz"))
        labels = read_idx(os.path.join(data, f"{split}-labels-idx1-ubyte.gz"))
        x = (torch.from_numpy(images.copy()).float().div_(255).sub_(0.1307).div_(0.3081)).unsqueeze(1)
        return x, torch.from_numpy(labels.astype("int64"))

    x, y = load("train")
    test_x, test_y = load("t10k")
    model = nn.Sequential(nn.Conv2d(1, 24, 5), nn.MaxPool2d(2), nn.ReLU(),
                          nn.Conv2d(24, 32, 3), nn.MaxPool2d(2), nn.ReLU(),
                          nn.Flatten(), nn.Linear(800, 256), nn.ReLU(), nn.Linear(256, 10))
    batch = 256
    steps = (len(x) + batch - 1) // batch
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01, betas=(0.7, 0.9))
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.01, total_steps=steps)
    loss_function = nn.CrossEntropyLoss()
    model.train()
    permutation = torch.randperm(len(x))
    for begin in range(0, len(x), batch):
        index = permutation[begin:begin + batch]
        optimizer.zero_grad(set_to_none=True)
        loss_function(model(x[index]), y[index]).backward()
        optimizer.step()
        schedule.step()
    model.eval()
    with torch.no_grad():
        correct = sum(int((model(test_x[i:i + 2000]).argmax(1) == test_y[i:i + 2000]).sum()) for i in range(0, len(test_x), 2000))
    torch.save(model.state_dict(), output)
    done = time.perf_counter()
    print(json.dumps({"accuracy": correct / len(test_x), "seconds_in_process": done - imported,
                      "seconds_with_import": done - started}))


def timed(command):
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"time-to-accuracy: {' '.join(command[:3])} ... failed ({result.returncode}): {result.stderr.strip()[-400:]}")
    return seconds, result.stdout


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", default="0,1,2,3,4")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--data", default="datasets/mnist")
    parser.add_argument("--digits", default=".build/release/digits")
    parser.add_argument("--json", dest="json_out")
    parser.add_argument("--recipe", action="append", default=[], metavar="NAME=OPTIONS",
                        help="another digits recipe to time, such as '99.5=--model fast --epochs 6 --augment shift=2'")
    parser.add_argument("--torch-run", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--output", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.torch_run is not None:
        torch_run(args.torch_run, args.data, args.threads, args.output)
        return
    seeds = [int(s) for s in args.seeds.split(",")]
    recipes = []
    for recipe in args.recipe:
        name, separator, options = recipe.partition("=")
        if not separator or not name or not options.strip():
            sys.exit(f"time-to-accuracy: --recipe takes NAME=OPTIONS, such as '99.5=--model fast --epochs 6'; got {recipe!r}")
        recipes.append((name, options))
    print(f"time to accuracy on {cpu_model()}, {args.threads} threads; seeds {args.seeds}")
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for seed in seeds:
            # Alternating the two, so a slow spell of the machine falls on both.
            torch_seconds, out = timed([sys.executable, __file__, "--torch-run", str(seed), "--data", args.data,
                                        "--threads", str(args.threads), "--output", os.path.join(scratch, "torch.pt")])
            torch_result = json.loads(out.strip().splitlines()[-1])
            digits_seconds, out = timed([args.digits, "train", "--model", "fast", "--seed", str(seed), "--data", args.data,
                                         "--threads", str(args.threads), "--output", os.path.join(scratch, "fast.safetensors"),
                                         "--json"])
            digits_accuracy = json.loads(out.strip().splitlines()[-1])["test_accuracy"]
            row = {"seed": seed, "torch_seconds": torch_seconds, "torch_seconds_in_process": torch_result["seconds_in_process"],
                   "torch_accuracy": torch_result["accuracy"], "digits_seconds": digits_seconds, "digits_accuracy": digits_accuracy,
                   "ratio": digits_seconds / torch_seconds}
            for name, options in recipes:
                seconds, out = timed([args.digits, "train", *options.split(), "--seed", str(seed), "--data", args.data,
                                      "--threads", str(args.threads), "--output", os.path.join(scratch, "recipe.safetensors"),
                                      "--json"])
                row[f"{name}_seconds"] = seconds
                row[f"{name}_accuracy"] = json.loads(out.strip().splitlines()[-1])["test_accuracy"]
            rows.append(row)
            extra = "".join(f"; {name} {row[f'{name}_seconds']:.2f} s, {100 * row[f'{name}_accuracy']:.2f}%" for name, _ in recipes)
            print(f"seed {seed}: PyTorch {torch_seconds:.2f} s ({torch_result['seconds_in_process']:.2f} s after import), "
                  f"{100 * torch_result['accuracy']:.2f}%; digits fast {digits_seconds:.2f} s, {100 * digits_accuracy:.2f}%; "
                  f"ratio {row['ratio']:.2f}{extra}", flush=True)

    def summary(key, scale=1.0, digits=2):
        values = [row[key] * scale for row in rows]
        spread = statistics.stdev(values) if len(values) > 1 else 0.0
        return f"{statistics.mean(values):.{digits}f} ± {spread:.{digits}f} ({min(values):.{digits}f}–{max(values):.{digits}f})"
    print(f"PyTorch published recipe: {summary('torch_seconds')} s, {summary('torch_accuracy', 100)}%")
    print(f"digits --model fast:      {summary('digits_seconds')} s, {summary('digits_accuracy', 100)}%")
    total_ratio = sum(r["digits_seconds"] for r in rows) / sum(r["torch_seconds"] for r in rows)
    total_in_process = sum(r["digits_seconds"] for r in rows) / sum(r["torch_seconds_in_process"] for r in rows)
    print(f"ratio digits/PyTorch (wall, summed over seeds): {total_ratio:.2f}; against PyTorch's time after import: {total_in_process:.2f}")
    torch_mean = statistics.mean(r["torch_seconds"] for r in rows)
    for name, options in recipes:
        print(f"digits {options}: {summary(name + '_seconds')} s, {summary(name + '_accuracy', 100)}%; "
              f"{statistics.mean(r[name + '_seconds'] for r in rows) / torch_mean:.2f}x PyTorch's time to 99% (means)")
    if args.json_out:
        with open(args.json_out, "w") as handle:
            json.dump({"cpu": cpu_model(), "threads": args.threads, "runs": rows, "ratio": total_ratio,
                       "ratio_after_import": total_in_process}, handle, indent=2)


if __name__ == "__main__":
    main()
