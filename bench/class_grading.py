#!/usr/bin/env python3
"""How much faster `python -m lab.grade` grades a class with more students at once.

    python3 bench/class_grading.py [--students 16] [--jobs 1,4,16] [--sleep 1]

Starts one real sshd on 127.0.0.1 per student (tests/support/sshd.py), writes
a roster of them and a small course whose checks wait on the guest as a slow
one does (two checks that each run `sleep 1` there, and a quick one), then
times the whole command, from start to exit, for each --jobs. Grading a class
is I/O-bound: a student's time goes to waiting on their guest, so N at once
should approach N times as fast. The goal: 16 jobs at least 8x faster than 1.
Run it by hand; the numbers depend on the machine, so no test asserts them.
"""

import argparse
import contextlib
import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.sshd import Sshd  # noqa: E402

COURSE_STEPS = """\
format_version = 1
replace = true

[[steps]]
id = "io"
title = "Checks that wait on the guest"
exercise = "exercises/io.md"
checks = "bench_class_checks/io.py"
solution = "solutions/io.sh"
"""

COURSE_CHECKS = '''\
from lab import Fail, Registry

check = Registry()


@check
def answers(ctx):
    """the guest answers a command"""
    if not ctx.guest.run("true").ok:
        raise Fail("`true` failed in the guest")


@check(depends=answers)
def waits_once(ctx):
    """a probe that takes a while in the guest"""
    ctx.guest.run("sleep %s", {sleep})


@check(depends=answers)
def waits_again(ctx):
    """another probe that takes a while in the guest"""
    ctx.guest.run("sleep %s", {sleep})
'''


def write_course(folder, sleep):
    (folder / "bench_class_checks").mkdir(parents=True)
    (folder / "bench_class_checks" / "__init__.py").write_text("")
    (folder / "bench_class_checks" / "io.py").write_text(COURSE_CHECKS.format(sleep=sleep))
    for name, text in (("exercises/io.md", "# Waiting on the guest\n"), ("solutions/io.sh", "#!/bin/sh\n")):
        (folder / name).parent.mkdir(exist_ok=True)
        (folder / name).write_text(text)
    (folder / "steps.toml").write_text(COURSE_STEPS)
    return folder


def grade(roster, course, jobs, out):
    """Seconds for the whole command; every student must be graded with full marks."""
    started = time.perf_counter()
    run = subprocess.run([sys.executable, "-m", "lab.grade", str(roster), "--course", str(course),
                          "--jobs", str(jobs), "--out", str(out)],
                         cwd=REPO, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    elapsed = time.perf_counter() - started
    with open(out / "gradebook.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    if run.returncode != 0 or any(row["total"] != row["max"] for row in rows):
        sys.exit(f"--jobs {jobs}: lab.grade exited with {run.returncode}:\n{run.stdout}{run.stderr}")
    return elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=16)
    parser.add_argument("--jobs", default="1,4,16", help="the --jobs to compare, commas between")
    parser.add_argument("--sleep", type=float, default=1.0, help="seconds each of the two slow probes waits")
    args = parser.parse_args()
    jobs_list = [int(j) for j in args.jobs.split(",")]

    with tempfile.TemporaryDirectory() as work, contextlib.ExitStack() as servers:
        work = Path(work)
        started = time.perf_counter()
        guests = [servers.enter_context(Sshd(work / f"sshd{n}")) for n in range(args.students)]
        start_s = time.perf_counter() - started
        course = write_course(work / "course", args.sleep)
        roster = work / "roster.csv"
        with open(roster, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(["student", "guest"])
            writer.writerows([f"student{n:02}", sshd.url()] for n, sshd in enumerate(guests))
        times = {jobs: grade(roster, course, jobs, work / f"grades-{jobs}") for jobs in jobs_list}

    base = times[jobs_list[0]]
    print(f"\n{os.uname().nodename}: {os.cpu_count()} cores, Python {sys.version.split()[0]}, "
          f"{args.students} students, each its own sshd on 127.0.0.1 (started in {start_s:.1f} s), "
          f"3 checks per student, 2 of them `sleep {args.sleep:g}` in the guest\n")
    speed_up = f"speed-up vs {jobs_list[0]}"
    print(f"| {'jobs':>4} | {'wall time (s)':>13} | {'students per minute':>19} | {speed_up:>15} |")
    print(f"|{'-' * 6}|{'-' * 15}|{'-' * 21}|{'-' * 17}|")
    for jobs in jobs_list:
        print(f"| {jobs:>4} | {times[jobs]:>13.2f} | {args.students * 60 / times[jobs]:>19.1f} | "
              f"{base / times[jobs]:>14.1f}x |")
    if 1 in times and 16 in times:
        ratio = times[1] / times[16]
        print(f"\n16 jobs vs 1: {ratio:.1f}x faster (goal >= 8x: {'met' if ratio >= 8 else 'MISSED'})")


if __name__ == "__main__":
    main()
