"""Unwritable or damaged state files through the real CLI: the grade stands, the exit code
is the checks', and one line says what happened to the file. Permission cases run the
CLI as a user the permission bits apply to (nobody, when the tests run as root)."""

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace

import pytest

from lab.engine.progress import load
from tests.support.otheruser import as_another_user
from tests.support.paths import COURSE, REPO
from tests.support.progress_files import entry, progress_text

GOOD_GRADE = [
    "good: Everything passes",
    "  ✓ the shell echoes a quoted argument back (2/2)",
    "  ✓ the root user exists (1/1)",
    "  ✓ a value that settles within the time given is seen (3/3)",
    "  ○ a check about a Vagrant VM itself, not applicable on other guests (0/0)",
    "      not applicable: a check of vagrant:// guests only; this guest is local://, so it counts neither way",
    "",
    "good: 6/6",
]


# --- the real CLI: the grade stands whatever happens to the state files ---------------------

@pytest.fixture
def lab(request):
    """A lab folder owned by the user the CLI runs as, in a folder every user can reach
    (pytest's own tmp_path is private to root)."""
    prefix, uid = as_another_user()
    base = Path(tempfile.mkdtemp(prefix="lab-state-", dir="/tmp"))
    base.chmod(0o755)
    folder = base / "lab"
    folder.mkdir()
    os.chown(folder, uid, -1)
    yield SimpleNamespace(path=folder, prefix=prefix, uid=uid, home=base)
    for path in [base, *base.rglob("*")]:  # give the owner back what the test took away, then remove it all
        if not path.is_symlink():
            path.chmod(0o755)
    shutil.rmtree(base)


def lab_check(lab, *args):
    # PYTHONPATH: the code of this checkout, not whatever copy of lab/ the venv has installed.
    env = {**os.environ, "PYTHONIOENCODING": "utf-8", "PYTHONPATH": str(REPO), "HOME": str(lab.home),
           "PYTHONDONTWRITEBYTECODE": "1"}
    run = subprocess.run([*lab.prefix, sys.executable, "-m", "lab.check", *args], cwd=lab.path, env=env,
                         capture_output=True, text=True, timeout=60)
    assert "Traceback" not in run.stdout + run.stderr and "internal error" not in run.stderr, run.stderr
    return run


def grade_good(lab):
    return lab_check(lab, "--course", str(COURSE), "good", "--guest", "local://")


def make_state(lab, progress):
    state = lab.path / ".lab"
    state.mkdir()
    (state / "progress.json").write_text(progress)
    for path in (state, state / "progress.json"):
        os.chown(path, lab.uid, -1)
    return state


def assert_graded_but_unsaved(run):
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == GOOD_GRADE
    warning = run.stderr.splitlines()
    assert len(warning) == 1 and warning[0].startswith("lab.check: progress could not be saved"), run.stderr


def test_a_read_only_lab_folder(lab):
    lab.path.chmod(0o555)
    run = grade_good(lab)
    assert_graded_but_unsaved(run)
    assert not (lab.path / ".lab").exists()


def test_a_read_only_state_folder(lab):
    old = progress_text({"good": entry(1, 5)})
    state = make_state(lab, old)
    state.chmod(0o555)
    assert_graded_but_unsaved(grade_good(lab))
    assert (state / "progress.json").read_text() == old
    assert sorted(p.name for p in state.iterdir()) == ["progress.json"]


def test_an_unreadable_progress_file_is_not_overwritten(lab):
    old = progress_text({"good": entry(1, 5)})
    state = make_state(lab, old)
    (state / "progress.json").chmod(0o000)
    run = grade_good(lab)
    assert_graded_but_unsaved(run)
    assert (state / "progress.json").read_text() == old, "the best score in it must not be lost"


def test_a_read_only_progress_file_in_a_writable_folder(lab):
    """POSIX lets a rename replace a read-only file, as it lets the owner delete
    it: the scores are saved, the grade stands, nothing is said."""
    state = make_state(lab, progress_text({"good": entry(1, 5)}))
    (state / "progress.json").chmod(0o444)
    run = grade_good(lab)
    assert run.returncode == 0 and run.stdout.splitlines() == GOOD_GRADE and run.stderr == ""
    assert load(state)["good"] == {**load(state)["good"], "last": 6, "best": 6}


def test_a_progress_file_nested_too_deeply_is_set_aside_and_the_grade_stands(lab):
    deep = "[" * 100_000
    state = make_state(lab, deep)
    run = grade_good(lab)
    assert run.returncode == 0 and run.stdout.splitlines() == GOOD_GRADE, run.stderr
    [aside] = state.glob("progress.json.corrupt-*")
    assert aside.read_text() == deep
    assert run.stderr.splitlines() == [f"lab.check: {state / 'progress.json'} was damaged (it is nested too "
                                       f"deeply to read); it was set aside as {aside} and a new one was started"]
    assert load(state)["good"]["best"] == 6
    status = lab_check(lab, "--course", str(COURSE), "status")
    assert status.returncode == 0 and "6/6" in status.stdout


def test_a_damaged_progress_file_is_reported_in_one_line(lab):
    state = make_state(lab, progress_text([]))
    run = grade_good(lab)
    assert run.returncode == 0 and run.stdout.splitlines() == GOOD_GRADE
    aside = list(state.glob("progress.json.corrupt-*"))
    assert len(aside) == 1 and aside[0].read_text() == progress_text([])
    assert run.stderr.splitlines() == [f"lab.check: {state / 'progress.json'} was damaged (\"steps\" is a list, "
                                       f"not an object of step ids); it was set aside as {aside[0]} and a new one "
                                       f"was started"]
    assert load(state)["good"]["best"] == 6
