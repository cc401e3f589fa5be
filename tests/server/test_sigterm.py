"""SIGTERM (`kill`, a cancelled CI job, a stopped container) is taken as Ctrl-C is
(issue 17): the running check finishes and puts the guest back, lab.check says so
in one line, and lab.grade still writes its gradebook."""

import csv
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.support.localservers import REPO
from tests.support.paths import FIXTURES

COURSE = FIXTURES / "unruly_course"
ENV = {**os.environ, "PYTHONIOENCODING": "utf-8", "PYTHONPATH": str(REPO)}


def wait_for(predicate, proc, seconds=20):
    deadline = time.monotonic() + seconds
    while not predicate():
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.05)


def test_sigterm_lets_the_check_clean_up_and_says_so(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "lab.check", "--course", str(COURSE), "cleanup",
                             "--guest", "local://", "--root", str(tmp_path)], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    changed = tmp_path / "changed-by-check"
    wait_for(changed.exists, proc)
    proc.terminate()
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 128 + signal.SIGTERM, stdout + stderr
    assert not changed.exists(), "the check's finally block should have put the guest back"
    assert stderr.splitlines() == [
        'terminated: letting "a check that changes the guest and puts it back" finish and clean up '
        "(at most 20 s); send SIGTERM again to quit at once",
        "lab.check: terminated (SIGTERM)",
    ]


def running_under(ancestor, command):
    """Whether a process whose command line is `command` descends from the process ancestor (Linux /proc)."""
    parents, lines = {}, {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    parents[int(entry)] = int(f.read().rsplit(")", 1)[1].split()[1])
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    lines[int(entry)] = f.read().split(b"\0")[:-1]
            except (OSError, ValueError, IndexError):
                continue
    for pid, line in lines.items():
        if line == [word.encode() for word in command]:
            while pid in parents and pid > 1:
                pid = parents[pid]
                if pid == ancestor:
                    return True
    return False


def grade_in_the_middle_of_a_change(tmp_path):
    """lab.grade of one local:// student, returned once the check has made its change and not yet
    put it back (its `sleep 4`); the change is made in tmp_path, to be seen afterwards."""
    (tmp_path / "roster.csv").write_text("student,guest\nalice,local://\n")
    proc = subprocess.Popen([sys.executable, "-m", "lab.grade", "roster.csv", "--course", str(COURSE),
                             "--steps", "cleanup", "--out", "out"], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**ENV, "UNRULY_CHANGES_IN": str(tmp_path)})
    wait_for(lambda: running_under(proc.pid, ["sleep", "4"]), proc)
    return proc


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="sees the check's command through /proc")
def test_sigterm_during_a_grade_still_writes_the_gradebook(tmp_path):
    proc = grade_in_the_middle_of_a_change(tmp_path)
    proc.terminate()
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 128 + signal.SIGTERM, stdout + stderr
    assert "Traceback" not in stderr
    assert stderr.splitlines()[-1] == "lab.grade: terminated (SIGTERM): 1 not graded; grade them with --only alice"
    # The check in the middle of its change was let finish, so alice's guest is as it was.
    assert not (tmp_path / "changed-by-check").exists(), "the check's finally block should have put the guest back"
    assert "waiting up to 20 s for 1 running check to put its guest back" in stderr
    with open(tmp_path / "out" / "gradebook.csv", encoding="utf-8-sig", newline="") as f:
        assert csv.DictReader(f).fieldnames[:3] == ["student", "guest", "cleanup"]


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="sees the check's command through /proc")
def test_a_second_sigterm_while_checks_finish_stops_at_once_in_one_line(tmp_path):
    proc = grade_in_the_middle_of_a_change(tmp_path)
    proc.terminate()
    waiting = proc.stderr.readline()
    assert waiting.startswith("lab.grade: waiting up to 20 s for 1 running check"), waiting
    proc.terminate()  # and again, while the check is still putting things back
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 128 + signal.SIGTERM, stdout + stderr
    assert "Traceback" not in stderr and "Exception ignored" not in stderr, stderr
    assert stderr.splitlines() == ["lab.grade: terminated (SIGTERM): 1 not graded; grade them with --only alice"]
    assert (tmp_path / "out" / "gradebook.csv").exists()
