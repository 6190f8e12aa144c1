#!/usr/bin/env python3
"""Classifies a set of labelled digit pictures with `digits classify --json` and reports the
accuracy overall, per capture style and per source (pen strokes or font), with the errors.

    scripts/score-drawings.py DIR [--digits .build/release/digits] [--model FILE] [--json OUT]

DIR holds labels.csv (file,label,style,source; paths relative to DIR), as written by
scripts/make-drawings. Standard library only.
"""
import argparse, collections, csv, json, os, signal, subprocess, sys

signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # quiet when piped into head

parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
parser.add_argument("directory")
parser.add_argument("--digits", default=".build/release/digits")
parser.add_argument("--model")
parser.add_argument("--json", help="write the scores as JSON to this file")
parser.add_argument("--save-preprocessed", help="pass --save-preprocessed DIR to digits classify")
args = parser.parse_args()

with open(os.path.join(args.directory, "labels.csv")) as f:
    rows = list(csv.DictReader(f))
files = [os.path.join(args.directory, row["file"]) for row in rows]
command = [args.digits, "classify", "--json", *files]
if args.model:
    command += ["--model", args.model]
if args.save_preprocessed:
    command += ["--save-preprocessed", args.save_preprocessed]
result = subprocess.run(command, capture_output=True, text=True)
try:
    answers = {answer["file"]: answer for answer in json.loads(result.stdout)}
except json.JSONDecodeError:
    sys.exit(f"score-drawings: digits classify printed no JSON (status {result.returncode}): {result.stderr.strip()}")

totals = collections.Counter()
correct = collections.Counter()
errors = []
for row, path in zip(rows, files):
    answer = answers.get(path, {"error": "missing from the output"})
    ok = answer.get("digit") == int(row["label"])
    source = row["source"].split(":")[0]
    for key in ("all", "style " + row["style"], "source " + source, "digit " + row["label"]):
        totals[key] += 1
        correct[key] += ok
    if not ok:
        errors.append((path, int(row["label"]), answer.get("digit"), answer.get("confidence"), answer.get("error")))

def line(key):
    return f"{key:24s} {correct[key]:5d} / {totals[key]:5d}  {100 * correct[key] / totals[key]:6.2f}%"

print(line("all"))
for key in sorted(k for k in totals if k != "all"):
    print("  " + line(key))
print(f"errors ({len(errors)}):")
for path, label, digit, confidence, error in errors:
    # A picture read as a number or refused has no digit; its confidence may be absent.
    detail = error if error else f"read {digit}" + (f" ({100 * confidence:.0f}%)" if confidence is not None else "")
    print(f"  {path}: label {label}, {detail}")
if args.json:
    with open(args.json, "w") as f:
        json.dump({k: {"correct": correct[k], "total": totals[k], "accuracy": correct[k] / totals[k]} for k in totals}, f, indent=1, sort_keys=True)
