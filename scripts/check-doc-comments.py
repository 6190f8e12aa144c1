#!/usr/bin/env python3
"""Lists DigitsKit's public symbols that have no doc comment, from the symbol graph.

Usage: scripts/check-doc-comments.py SYMBOLGRAPH_DIR [--module DigitsKit]
The directory is what `swift package dump-symbol-graph --minimum-access-level public`
writes. Exits 1, naming each symbol by file and line, if any public symbol declared in the
module's sources has no `///` comment. Symbols the compiler synthesizes (memberwise
Equatable, Codable and so on) and members inherited from protocols declared elsewhere are
not the module's own declarations and are not counted.
"""
import json
import os
import sys


def main():
    args = sys.argv[1:]
    if not args or args[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if args else 2
    directory = args[0]
    module = args[args.index("--module") + 1] if "--module" in args else "DigitsKit"
    path = os.path.join(directory, f"{module}.symbols.json")
    try:
        with open(path) as file:
            graph = json.load(file)
    except (OSError, ValueError) as error:
        print(f"check-doc-comments: cannot read {path}: {error}", file=sys.stderr)
        return 2
    declared, missing = 0, []
    for symbol in graph["symbols"]:
        if "::SYNTHESIZED::" in symbol["identifier"]["precise"] or "location" not in symbol:
            continue
        declared += 1
        comment = symbol.get("docComment", {}).get("lines", [])
        if not any(line.get("text", "").strip() for line in comment):
            location = symbol["location"]
            file = location["uri"].split(f"/Sources/{module}/")[-1]
            line = location["position"]["line"] + 1
            title = ".".join(symbol["pathComponents"])
            missing.append(f"{file}:{line}: {symbol['kind']['displayName'].lower()} {title}")
    if missing:
        print(f"check-doc-comments: {len(missing)} of {declared} public symbols of {module} have no doc comment:")
        for entry in sorted(missing):
            print("  " + entry)
        return 1
    print(f"check-doc-comments: all {declared} public symbols of {module} have a doc comment")
    return 0


if __name__ == "__main__":
    sys.exit(main())
