#!/usr/bin/env python3
"""Checks that DigitsKit's folders depend on each other in one direction only: for each folder,
the top-level types it uses from the others (comments and string literals left out), and any
cycle among them. Prints the graph; exits 1 on a cycle. Standard library only.

    scripts/check-folders.py [Sources/DigitsKit]
"""
import collections
import glob
import os
import re
import sys

root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "Sources", "DigitsKit")
files = sorted(glob.glob(os.path.join(root, "*", "*.swift")))
declaration = re.compile(r"^(?:(?:public|package|internal|private|fileprivate|final|@\w+(?:\(\w+\))?)\s+)*"
                         r"(?:class|struct|enum|protocol|typealias|actor)\s+(\w+)", re.M)
home = {}
for path in files:
    for match in declaration.finditer(open(path).read()):
        home.setdefault(match.group(1), os.path.basename(os.path.dirname(path)))

def code(path):
    text = re.sub(r"//.*", "", open(path).read())
    return re.sub(r'"(?:[^"\\\n]|\\.)*"', '""', text)

uses = collections.defaultdict(lambda: collections.defaultdict(set))  # folder -> folder -> {type}
for path in files:
    folder = os.path.basename(os.path.dirname(path))
    words = set(re.findall(r"\b[A-Z]\w*\b", code(path)))
    for name in words:
        if name in home and home[name] != folder:
            uses[folder][home[name]].add(name)

graph = {folder: set(targets) for folder, targets in uses.items()}
for folder in sorted(graph):
    print(f"{folder} -> {', '.join(sorted(graph[folder]))}")

def reaches(start, goal, seen):
    return start == goal or any(reaches(n, goal, seen | {start}) for n in graph.get(start, ()) if n not in seen)

cycles = [(a, b) for a in graph for b in graph[a] if reaches(b, a, set())]
for a, b in sorted(cycles):
    print(f"cycle: {a} -> {b} ({', '.join(sorted(uses[a][b]))}) and back", file=sys.stderr)
if cycles:
    sys.exit(1)
print(f"{len(set(home.values()))} folders, no cycle")
