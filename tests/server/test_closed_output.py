"""Every command whose reader has gone (`| head -1`, a pager that was quit) goes quiet
as Unix tools do, and still finishes its work: the grade saved, every file written,
its own exit code; never "internal error: BrokenPipeError" (issue 17)."""

import csv
import json
import os
import shlex
import subprocess
import sys

import pytest

from tests.support.localservers import REPO
from tests.support.paths import COURSE

ENV = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONIOENCODING": "utf-8", "PYTHONDONTWRITEBYTECODE": "1"}


def into_a_closed_pipe(*args, cwd, stderr_too=False):
    """Run python -m ARGS with its standard output a pipe nobody reads any more: its read
    end is closed before it starts, so that the first write fails for certain."""
    read, write = os.pipe()
    os.close(read)
    try:
        return subprocess.run([sys.executable, "-m", *args], cwd=cwd, stdin=subprocess.DEVNULL, stdout=write,
                              stderr=write if stderr_too else subprocess.PIPE, env=ENV, timeout=120)
    finally:
        os.close(write)


def through_head(*args, cwd):
    """`python -m ARGS | head -1` as a shell runs it; (the first line, python's stderr, its exit code)."""
    command = " ".join(shlex.quote(a) for a in [sys.executable, "-m", *args])
    script = f'{{ {command} 2>err.txt; echo $? > rc.txt; }} | head -1'
    run = subprocess.run(["sh", "-c", script], cwd=cwd, capture_output=True, text=True, env=ENV, timeout=120)
    return run.stdout, (cwd / "err.txt").read_text(), int((cwd / "rc.txt").read_text())


def test_a_check_into_a_closed_pipe_still_saves_its_grade_and_reports(tmp_path):
    run = into_a_closed_pipe("lab.check", "--course", str(COURSE), "good", "--guest", "local://",
                             "--root", str(tmp_path), "--junit", str(tmp_path / "junit.xml"),
                             "--html", str(tmp_path / "report.html"), cwd=tmp_path)
    assert run.stderr.decode() == "" and run.returncode == 0
    assert json.loads((tmp_path / ".lab" / "progress.json").read_text())["steps"]["good"]["best"] == 6
    assert "<testsuites" in (tmp_path / "junit.xml").read_text()
    assert "Everything passes" in (tmp_path / "report.html").read_text()


def test_a_failing_check_keeps_its_exit_code_into_a_closed_pipe(tmp_path):
    run = into_a_closed_pipe("lab.check", "--course", str(COURSE), "mixed", "--guest", "local://", "--json",
                             "--root", str(tmp_path), cwd=tmp_path)
    assert run.stderr.decode() == "" and run.returncode == 1


def test_errors_into_a_closed_pipe_too_still_exit_2(tmp_path):
    run = into_a_closed_pipe("lab.check", "--course", str(COURSE), "nosuchstep", "--guest", "local://",
                             "--root", str(tmp_path), cwd=tmp_path, stderr_too=True)
    assert run.returncode == 2


@pytest.mark.parametrize("args", [("--list",), ("--list", "--json"), ("status",), ("--help",)],
                         ids=["list", "list-json", "status", "help"])
def test_the_other_check_commands_into_a_closed_pipe(tmp_path, args):
    run = into_a_closed_pipe("lab.check", "--course", str(COURSE), "--root", str(tmp_path), *args, cwd=tmp_path)
    assert (run.returncode, run.stderr.decode()) == (0, "")


def test_a_class_graded_into_a_closed_pipe_still_gets_its_gradebook(tmp_path):
    (tmp_path / "roster.csv").write_text("student,guest\nalice,local://\nbob,local://\n")
    run = into_a_closed_pipe("lab.grade", "roster.csv", "--course", str(COURSE), "--steps", "good",
                             "--out", "out", cwd=tmp_path)
    assert (run.returncode, run.stderr.decode()) == (0, "")
    with open(tmp_path / "out" / "gradebook.csv", encoding="utf-8-sig", newline="") as f:
        assert [(r["student"], r["total"]) for r in csv.DictReader(f)] == [("alice", "6"), ("bob", "6")]
    for student in ("alice", "bob"):
        assert sorted(p.name for p in (tmp_path / "out" / student).iterdir()) == [
            "gradescope.json", "report.html", "results.json"]


def test_lint_into_a_closed_pipe(tmp_path):
    run = into_a_closed_pipe("lab", "lint", cwd=REPO)
    assert run.stderr.decode() == "" and run.returncode in (0, 1)


@pytest.mark.parametrize("command", [
    ("lab.check", "--course", str(COURSE), "good", "--guest", "local://"),
    ("lab.check", "--list"),
    ("lab.grade", "roster.csv", "--course", str(COURSE), "--steps", "good", "--out", "out"),
], ids=["check", "list", "grade"])
def test_head_1_takes_the_first_line_and_nothing_breaks(tmp_path, command):
    (tmp_path / "roster.csv").write_text("student,guest\nalice,local://\n")
    first, err, rc = through_head(*command, "--root", str(tmp_path), cwd=tmp_path) if command[0] == "lab.check" \
        else through_head(*command, cwd=tmp_path)
    assert first.strip() and err == "" and rc == 0
    if command[0] == "lab.grade":
        assert (tmp_path / "out" / "gradebook.csv").is_file()


def test_selftest_into_a_closed_pipe_keeps_its_exit_code(tmp_path):
    run = into_a_closed_pipe("lab.selftest", "nosuchstep", "--root", str(tmp_path), cwd=tmp_path)
    assert (run.returncode, run.stderr.decode()) == (2, "")


@pytest.mark.parametrize("closed", ["1", "2", "1 2"], ids=["stdout", "stderr", "both"])
def test_a_standard_stream_closed_before_the_start_is_no_internal_error(tmp_path, closed):
    # `>&-` (some cron and CI set-ups): Python makes such a stream None.
    redirects = " ".join(f"{fd}>&-" for fd in closed.split())
    command = " ".join(shlex.quote(a) for a in [sys.executable, "-m", "lab.check", "--course", str(COURSE), "good",
                                                 "--guest", "local://", "--root", str(tmp_path)])
    script = f"{command} {redirects}; echo $? > rc.txt"
    run = subprocess.run(["sh", "-c", script], cwd=tmp_path, capture_output=True, text=True, env=ENV, timeout=120)
    assert "internal error" not in run.stdout + run.stderr and "Traceback" not in run.stdout + run.stderr
    assert (tmp_path / "rc.txt").read_text().strip() == "0"
    assert json.loads((tmp_path / ".lab" / "progress.json").read_text())["steps"]["good"]["best"] == 6
