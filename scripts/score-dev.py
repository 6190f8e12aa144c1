#!/usr/bin/env python3
"""Scores `digits classify` on a labelled folder of pictures: a dev set such as
../shared/datasets/dev/semeion (labels.csv: file,label) or ../shared/datasets/dev/not-digits
(labels.csv: file,kind; every picture should be refused as not a digit).

    score-dev.py DIGITS SET_DIR [--model FILE] [--json OUT.json] [-- extra classify options]

Prints accuracy (digits read right), refused (rejected as not a digit), errors (no answer) and
per-class figures. Standard library only."""
import argparse
import csv
import json
import signal
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # quiet when piped into head


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("digits")
    parser.add_argument("set_dir")
    parser.add_argument("--model")
    parser.add_argument("--json", dest="json_out")
    # Everything after "--" goes to `digits classify` unchanged (argparse would take "--accept-all"
    # for an option of its own).
    argv = sys.argv[1:]
    split = argv.index("--") if "--" in argv else len(argv)
    args = parser.parse_args(argv[:split])
    args.extra = argv[split + 1:]
    root = Path(args.set_dir)
    rows = list(csv.DictReader(open(root / "labels.csv")))
    files = [str(root / row["file"]) for row in rows]
    command = [args.digits, "classify", "--json"] + (["--model", args.model] if args.model else []) + args.extra
    records = []
    for start in range(0, len(files), 400):
        out = subprocess.run(command + files[start:start + 400], capture_output=True, text=True)
        records += json.loads(out.stdout)
    by_file = {r["file"]: r for r in records}
    digits = "label" in rows[0]
    correct = refused = errors = 0
    per_class = defaultdict(Counter)
    confidences = []
    for row, file in zip(rows, files):
        r = by_file[file]
        truth = row["label"] if digits else row["kind"].split("-")[1] if "-" in row["kind"] else row["kind"]
        if "error" in r:
            errors += 1
            per_class[truth]["error"] += 1
            continue
        if r.get("rejected"):
            refused += 1
            per_class[truth]["refused"] += 1
        elif digits and r["digit"] == int(row["label"]):
            correct += 1
            per_class[truth]["correct"] += 1
        confidences.append(r.get("confidence", min((d["confidence"] for d in r.get("digits", [])), default=0)))
        per_class[truth]["total"] += 1
    n = len(rows)
    summary = {"set": str(root), "pictures": n, "errors": errors, "refused": refused,
               "refused_share": refused / n}
    if digits:
        summary["accuracy"] = correct / n
        summary["per_class_accuracy"] = {k: per_class[k]["correct"] / max(1, per_class[k]["total"] + per_class[k]["error"])
                                         for k in sorted(per_class)}
        print(f"{root}: {correct}/{n} read right ({100 * correct / n:.2f}%), {refused} refused as not a digit, {errors} errors")
        print("  per digit: " + ", ".join(f"{k} {100 * v:.1f}%" for k, v in summary["per_class_accuracy"].items()))
    else:
        summary["per_kind_refused"] = {k: per_class[k]["refused"] / max(1, per_class[k]["total"]) for k in sorted(per_class)}
        confidences.sort()
        median = confidences[len(confidences) // 2] if confidences else 0
        print(f"{root}: {refused}/{n} refused as not a digit ({100 * refused / n:.2f}%), {errors} errors, median confidence {median:.2f}")
        print("  per kind: " + ", ".join(f"{k} {100 * v:.1f}%" for k, v in summary["per_kind_refused"].items()))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()
