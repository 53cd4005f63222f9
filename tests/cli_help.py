#!/usr/bin/env python3
"""The help texts of `mhub` and every command and subcommand agree with what they parse. CLI11
builds each option list from the options a command parses, so this checks the prose around it:
every --option a text names is one the command it speaks of accepts (the text's own command, the
entry of a "Subcommands:" list, or another command named before it, "as finetune --precision"),
global options included; every text ends with the exit-code line of `mhub --help`, which lists
0-8 (common/error.h), and names no other code. Usage: cli_help.py MHUB"""
import concurrent.futures
import os
import re
import subprocess
import sys

mhub = sys.argv[1]


# A wait policy of our own: mhub then does not re-execute itself to choose one (half its start).
ENV = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")


def help_of(path):
    done = subprocess.run([mhub, *path, "--help"], capture_output=True, text=True, env=ENV)
    if done.returncode != 0:
        sys.exit(f"mhub {' '.join(path)} --help exited {done.returncode}: {done.stderr}")
    return done.stdout


def section(text, title):
    """The entry names of a help section ("Options:", "Subcommands:")."""
    lines = text.split("\n")
    try:
        start = lines.index(title) + 1
    except ValueError:
        return []
    names = []
    for line in lines[start:]:
        if not line.startswith("  "):
            break
        m = re.match(r"  (\S+)", line)
        if m and not line.startswith("    "):
            names.append(m.group(1))
    return names


def options(text):
    found = set()
    for entry in section(text, "Options:"):
        for name in entry.split(","):
            if name.startswith("--"):
                found.add(name.split(":")[0].split("=")[0])
    return found


helps, accepted = {}, {}


# One level of commands at a time, each level's texts read in parallel.
level = [()]
with concurrent.futures.ThreadPoolExecutor(8) as pool:
    while level:
        texts = list(pool.map(help_of, level))
        for path, text in zip(level, texts):
            helps[path], accepted[path] = text, options(text)
        level = [path + (sub,) for path, text in zip(level, texts) for sub in section(text, "Subcommands:")]
global_options = accepted[()]
commands = {p[0]: p for p in helps if len(p) == 1}
# A flag belongs to the command the line is about: the help's own, the entry a line of a
# "Subcommands:" list describes, or the last command the line names before it ("mhub eval
# fashion-cnn --data", "'finetune MODEL --data SPEC", "as finetune --precision").
naming = re.compile(r"\bmhub ([a-z]+)|'([a-z]+) |\b([a-z]+) (?=--)|(--[a-z][a-z0-9-]*)")
problems = []
for path, text in helps.items():
    in_subcommands, entry = False, path
    for line in text.split("\n"):
        if not line.startswith(" "):
            in_subcommands, entry = line == "Subcommands:", path
        named_entry = re.match(r"  ([a-z]+) ", line)
        if in_subcommands and named_entry:
            entry = path + (named_entry.group(1),)  # its description's further lines follow, indented
        about = entry
        for m in naming.finditer(line):
            named = m.group(1) or m.group(2) or m.group(3)
            if named:
                if named in commands:
                    about = commands[named]
                continue
            flag = m.group(4)
            if flag not in accepted[about] | global_options:
                problems.append(f"mhub {' '.join(path)} --help names {flag} for 'mhub {' '.join(about)}', which has no {flag}")
# Exit codes: the table every help text ends with, and no other code named anywhere.
codes = re.search(r"^Exit codes: (.*)$", helps[()], re.M)
table = {int(c) for c in re.findall(r"(?:^|, )(\d+) ", codes.group(1))} if codes else set()
if table != set(range(9)):
    problems.append(f"mhub --help: the exit-code line lists {sorted(table)}, not 0-8")
for path, text in helps.items():
    if codes and codes.group(0) not in text.split("\n"):
        problems.append(f"mhub {' '.join(path)} --help lacks the exit-code line")
    for m in re.finditer(r"\bexit(?: code| status)? (\d+)", text, re.I):
        if int(m.group(1)) not in table:
            problems.append(f"mhub {' '.join(path)} --help names exit code {m.group(1)}, not in the table")
for problem in sorted(set(problems)):
    print(problem)
print(f"{len(helps)} help texts, {len(set(problems))} problems")
sys.exit(1 if problems else 0)
