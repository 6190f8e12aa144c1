#!/usr/bin/env python3
"""Scores `digits classify` on a folder of numbers made by scripts/make-numbers.py
(labels.csv: file,number,digits,touching,source).

    score-numbers.py DIGITS SET_DIR [--model FILE] [--json OUT.json] [--errors N]

Prints the share of whole numbers read exactly, overall, where no digits touch and where some
do; by the source of the digits (MNIST test, Semeion) and by length; the digit count found too short or too long; and the first N misreadings.
Standard library only."""
import argparse
import csv
import json
import signal
import subprocess
from collections import Counter, defaultdict
from pathlib import Path

signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # quiet when piped into head


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("digits")
    parser.add_argument("set_dir")
    parser.add_argument("--model")
    parser.add_argument("--json", dest="json_out")
    parser.add_argument("--errors", type=int, default=10)
    args = parser.parse_args()
    root = Path(args.set_dir)
    rows = list(csv.DictReader(open(root / "labels.csv")))
    files = [str(root / row["file"]) for row in rows]
    command = [args.digits, "classify", "--json"] + (["--model", args.model] if args.model else [])
    records = []
    for start in range(0, len(files), 200):
        out = subprocess.run(command + files[start:start + 200], capture_output=True, text=True)
        records += json.loads(out.stdout)
    by_file = {r["file"]: r for r in records}
    groups = defaultdict(Counter)
    errors = []
    for row, file in zip(rows, files):
        r = by_file[file]
        read = r.get("number") if "error" not in r else None
        right = read == row["number"]
        source = row["source"].split("/")[0]
        for key in ["all", "touching" if row["touching"] == "1" else "apart", f"{row['digits']} digits", source,
                    f"{source} {'touching' if row['touching'] == '1' else 'apart'}"]:
            groups[key]["total"] += 1
            groups[key]["right"] += right
        if read is not None and len(read) != len(row["number"]):
            groups["all"]["too short" if len(read) < len(row["number"]) else "too long"] += 1
        if not right:
            errors.append(f"{row['file']}: {row['number']} read as {read if read is not None else r.get('error')}")
    summary = {k: {"right": v["right"], "total": v["total"], "share": v["right"] / v["total"]} for k, v in groups.items()}
    summary["all"].update({"too_short": groups["all"]["too short"], "too_long": groups["all"]["too long"]})
    line = lambda k: f"{summary[k]['right']}/{summary[k]['total']} ({100 * summary[k]['share']:.2f}%)"
    print(f"{root}: {line('all')} numbers read exactly; digits apart {line('apart')}, touching "
          f"{line('touching') if 'touching' in summary else 'none'}; wrong digit count: "
          f"{summary['all']['too_short']} too few, {summary['all']['too_long']} too many")
    print("  by source: " + ", ".join(f"{k} {line(k)}" for k in sorted(summary) if k.split()[0] in ("mnist", "semeion")))
    print("  by length: " + ", ".join(f"{k} {100 * summary[k]['share']:.1f}%" for k in sorted(summary) if k.endswith("digits")))
    for error in errors[:args.errors]:
        print("  " + error)
    if args.json_out:
        json.dump(summary, open(args.json_out, "w"), indent=2)


if __name__ == "__main__":
    main()
