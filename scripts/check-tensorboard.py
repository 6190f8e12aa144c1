#!/usr/bin/env python3
"""Reads a `digits train --logdir` run with TensorBoard's own EventAccumulator and checks it
against the run's `--json` lines: every epoch's train and validation loss and accuracy and
learning rate equal the JSON numbers (to float32 rounding: TensorBoard stores scalars as
float32), the --monitor figures are there per weight, each weight has a histogram per epoch,
the running loss is logged every N steps, the options are a text tensor, and the augmented
samples and test errors are PNG images.

    check-tensorboard.py LOGDIR RUN.json [--every 50]

Prints one line starting with "match", or the first difference and exits 1. Needs tensorboard
(scripts/check-onnx's venv, .build/interop-venv, has it).
"""
import argparse
import json
import sys

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("logdir")
    parser.add_argument("run_json")
    parser.add_argument("--every", type=int, default=50)
    args = parser.parse_args()
    lines = [json.loads(line) for line in open(args.run_json) if line.startswith("{")]
    epochs, final = [line for line in lines if "epoch" in line], lines[-1]

    accumulator = EventAccumulator(args.logdir, size_guidance={"scalars": 0, "histograms": 0, "images": 0, "tensors": 0})
    accumulator.Reload()
    tags = accumulator.Tags()

    def close(a, b):
        return abs(a - b) <= 1e-6 * max(1.0, abs(b))

    checked = 0
    for tag, key in [("train/loss", "train_loss"), ("train/accuracy", "train_accuracy"), ("val/loss", "val_loss"),
                     ("val/accuracy", "val_accuracy"), ("learning_rate", "learning_rate")]:
        points = {event.step: event.value for event in accumulator.Scalars(tag)}
        for epoch in epochs:
            assert close(points[epoch["epoch"]], epoch[key]), (tag, epoch["epoch"], points[epoch["epoch"]], epoch[key])
            checked += 1
    for epoch in epochs:
        for health in epoch.get("health", []):
            for figure in ["gradient_norm", "weight_norm", "update_ratio"]:
                points = {e.step: e.value for e in accumulator.Scalars(f"health/{health['parameter']}/{figure}")}
                assert close(points[epoch["epoch"]], health[figure]), (health["parameter"], figure)
                checked += 1
    test = {event.step: event.value for event in accumulator.Scalars("test/accuracy")}
    assert close(list(test.values())[-1], final["test_accuracy"]), (test, final)
    running = [event.step for event in accumulator.Scalars("train/running_loss")]
    assert running and all(step % args.every == 0 for step in running), running[:5]
    weights = [tag for tag in tags["histograms"] if tag.startswith("weights/")]
    assert weights and all(len(accumulator.Histograms(tag)) == len(epochs) for tag in weights), weights
    assert all(accumulator.Histograms(tag.replace("weights/", "gradients/")) for tag in weights)
    histogram = accumulator.Histograms(weights[0])[-1].histogram_value
    assert histogram.num > 0 and histogram.min <= histogram.max and abs(sum(histogram.bucket) - histogram.num) < 1e-6, histogram
    options = accumulator.Tensors("options")[0].tensor_proto.string_val[0].decode()
    assert "| seed |" in options, options[:200]
    for tag in ["augmented_samples", "test_errors"]:
        image = accumulator.Images(tag)[0]
        assert image.encoded_image_string[:8] == b"\x89PNG\r\n\x1a\n" and image.width > 0, tag
    print(f"match {args.logdir}: TensorBoard's EventAccumulator read {len(tags['scalars'])} scalar tags, {len(tags['histograms'])} "
          f"histograms, {len(tags['images'])} images and the options text; {checked} per-epoch figures equal --json's, "
          f"the test accuracy too, the running loss every {args.every} steps ({len(running)} points)")


if __name__ == "__main__":
    try:
        main()
    except (AssertionError, KeyError, IndexError) as error:
        print(f"MISMATCH {sys.argv[1]}: {error!r}")
        sys.exit(1)
