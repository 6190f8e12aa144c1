#!/usr/bin/env python3
"""Epoch time with an augmentation recipe against --augment none, measured in the same run.

Runs `digits train --epochs 8` alternately with `--augment none` and with the recipe, ROUNDS
times each, and compares the median epoch times (the first epoch of each run is left out as a
warm-up). Usage, from the repository root after a release build:

    scripts/augment-cost.py [RECIPE] [ROUNDS] [extra digits train options...]
    scripts/augment-cost.py shift=1 6 --threads 2
"""
import json
import statistics
import subprocess
import sys
import tempfile

recipe = sys.argv[1] if len(sys.argv) > 1 else "shift=1"
rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 6
extra = sys.argv[3:]
binary = ".build/release/digits"
times = {"none": [], recipe: []}
with tempfile.TemporaryDirectory() as directory:
    for _ in range(rounds):
        for augment in ["none", recipe]:
            command = [binary, "train", "--augment", augment, "--epochs", "8", "--json",
                       "--output", f"{directory}/cost.safetensors"] + extra
            result = subprocess.run(command, capture_output=True, text=True)
            if result.returncode != 0:
                sys.exit(f"augment-cost: {' '.join(command)} failed:\n{result.stderr}")
            epochs = [json.loads(line)["seconds"] for line in result.stdout.splitlines() if '"epoch"' in line]
            times[augment] += epochs[1:]
for augment, seconds in times.items():
    print(f"{augment:32s} epoch seconds: median {statistics.median(seconds):.4f}  "
          f"min {min(seconds):.4f}  max {max(seconds):.4f}  ({len(seconds)} epochs)")
print(f"ratio {recipe}/none: {statistics.median(times[recipe]) / statistics.median(times['none']):.3f} (medians)")
