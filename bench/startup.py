#!/usr/bin/env python3
"""How long the checker takes to start, against a bare Python on the same machine.

    python bench/startup.py [--runs 15]

Times `python -m lab.check --list` (reads the manifest and imports every step's
checks, the most a command does before it reaches the guest), `--help` and a
plain `import lab`, each as a new process, against `python -c pass`: the
median of --runs runs each, in turns so that a busy moment on the machine
falls on every command alike. Then the modules `--list` imports that cost the
most, from `python -X importtime`. The goal is under 100 ms above bare Python;
run it by hand, as no test asserts a time.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
COMMANDS = [
    ("bare Python", ["-c", "pass"]),
    ("import lab", ["-c", "import lab"]),
    ("lab.check --help", ["-m", "lab.check", "--help"]),
    ("lab.check --list", ["-m", "lab.check", "--list"]),
]
GOAL_MS = 100
# As on a student's laptop: Python keeps the compiled modules (__pycache__), which
# PYTHONDONTWRITEBYTECODE, set on some CI machines and shells, would forbid; the
# warm-up run below writes them.
ENV = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}


def once(args):
    started = time.perf_counter()
    subprocess.run([sys.executable, *args], cwd=REPO, check=True, stdout=subprocess.DEVNULL, env=ENV)
    return (time.perf_counter() - started) * 1000


def costliest_imports(args, count):
    """[(self ms, cumulative ms, module)] of the imports with the most time of their own."""
    run = subprocess.run([sys.executable, "-X", "importtime", *args], cwd=REPO, capture_output=True, text=True,
                         check=True, env=ENV)
    rows = []
    for line in run.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        own, cumulative, name = line.split(":", 1)[1].split("|")
        rows.append((int(own) / 1000, int(cumulative) / 1000, name.rstrip()))
    return sorted(rows, reverse=True)[:count]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    for _, command in COMMANDS:  # warm the file cache and the .pyc files first
        once(command)
    times = {name: [] for name, _ in COMMANDS}
    for _ in range(args.runs):
        for name, command in COMMANDS:
            times[name].append(once(command))
    bare = statistics.median(times["bare Python"])

    print(f"\nPython {sys.version.split()[0]} ({sys.executable}), median of {args.runs} runs\n")
    print(f"| {'command':<18} | {'ms':>6} | {'above bare':>10} | {'× bare':>6} |")
    print(f"|{'-' * 20}|{'-' * 8}|{'-' * 12}|{'-' * 8}|")
    for name, _ in COMMANDS:
        ms = statistics.median(times[name])
        print(f"| {name:<18} | {ms:>6.0f} | {ms - bare:>+10.0f} | {ms / bare:>6.2f} |")
    above = statistics.median(times["lab.check --list"]) - bare
    print(f"\n`--list` starts {above:.0f} ms above bare Python "
          f"(goal: under {GOAL_MS} ms, {'met' if above < GOAL_MS else 'NOT met'}).")
    print("\nIts costliest imports (ms of their own, ms with what they import):")
    for own, cumulative, name in costliest_imports(["-m", "lab.check", "--list"], 12):
        print(f"  {own:6.1f} {cumulative:7.1f}  {name}")


if __name__ == "__main__":
    main()
