#!/usr/bin/env python3
"""docs/ARCHITECTURE.md's folder table against the tree: every source file under the mapped
folders is named in the row of its folder (the most specific row whose folder holds it: its path
below that folder, with or without the extension, or a pattern of the row such as `cmd_*.cpp`
or `rules_<family>.cpp`, not one as wide as `<family>.cpp`), and every file name with an extension a row gives in backticks exists
in that row's folder. Usage: architecture_map.py SOURCE_DIR"""
import fnmatch
import os
import re
import sys

root = sys.argv[1]
MAPPED = ["engine", "cli", "hub", "onnx_io", "registry", "common", "runner", "sweep", "board"]
SOURCES = (".cpp", ".h", ".cu", ".cuh", ".def", ".proto", ".cmake")

doc = open(os.path.join(root, "docs", "ARCHITECTURE.md"), encoding="utf-8").read()
table = doc[doc.index("## Folders"):doc.index("## Layers")]
rows = {}  # folder (or "engine/devices.*") -> the text of its rows
for line in table.split("\n"):
    m = re.match(r"\| `([^`]+?)/?` (?:\([^|]*\) )?\|", line)
    if m:
        rows[m.group(1)] = rows.get(m.group(1), "") + line + "\n"


def row_of(rel):
    """The most specific row whose folder holds `rel`, and `rel` below that folder."""
    best = None
    for key in rows:
        if key == rel:  # a row of its own
            return key, rel
        if key.endswith(".*"):
            if os.path.splitext(rel)[0] == key[:-2]:
                return key, os.path.basename(rel)
        elif rel.startswith(key + "/") and (best is None or len(key) > len(best)):
            best = key
    return best, rel[len(best) + 1:] if best else rel


def named(inner, text):
    names = {inner, os.path.splitext(inner)[0]}
    for name in names:
        if re.search(r"(?<![\w/.])" + re.escape(name) + r"(?![\w/])", text):
            return True
    for token in re.findall(r"`([^`\s]+)`", text):
        if "*" in token or "<" in token:
            pattern = re.sub(r"<[^>]+>", "*", token)
            # `cmd_*.cpp` names a kind of file; `<family>.cpp` would name every one
            if len(re.sub(r"\*|\.\w+$", "", pattern)) < 3:
                continue
            if any(fnmatch.fnmatchcase(name, pattern) for name in names):
                return True
    return False


problems = []
for top in MAPPED:
    for dirpath, dirs, files in os.walk(os.path.join(root, top)):
        dirs.sort()
        for name in sorted(files):
            if not name.endswith(SOURCES):
                continue
            rel = os.path.relpath(os.path.join(dirpath, name), root)
            key, inner = row_of(rel)
            if key is None:
                problems.append(f"{rel}: no row of docs/ARCHITECTURE.md's folder table holds its folder")
            elif not named(inner, rows[key]):
                problems.append(f"{rel}: the `{key}` row does not name it ({os.path.splitext(inner)[0]})")
for key, text in rows.items():
    folder = os.path.dirname(key) if key.endswith(".*") or os.path.isfile(os.path.join(root, key)) else key
    if not any(folder == top or folder.startswith(top + "/") for top in MAPPED):
        continue
    for token in re.findall(r"`([\w/.+-]+\.(?:cpp|h|cu|cuh|def|proto|cmake))`", text):
        # a name with a folder may be given from a parent folder (engine/cuda's `core/view_kernels.h`)
        bases = [folder]
        while "/" in bases[-1]:
            bases.append(os.path.dirname(bases[-1]))
        if not any(os.path.exists(os.path.join(root, base, token)) for base in bases + [""]):
            problems.append(f"docs/ARCHITECTURE.md: the `{key}` row names {token}, which is not in {folder}/")
for problem in problems:
    print(problem)
print(f"{len(problems)} problems")
sys.exit(1 if problems else 0)
