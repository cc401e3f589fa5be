"""The checker installed as step 1 tells a student to, typed as they type it:
the macOS/Linux lines of step 1 in one shell, with the system's Python (which
refuses `pip install` outside a venv on Debian 12, PEP 668), in a lab folder
whose path has a space and a non-ASCII letter, as on a student's laptop."""

import os
import shutil
import subprocess

import pytest

from lab.tools import exercise
from tests.support.localservers import REPO

STEP1 = REPO / "exercises" / "step01-vm.md"
SYSTEM_PYTHON = "/usr/bin/python3"


def install_block():
    """The host block of step 1 that makes the venv (the replay skips it: it would install into the kit)."""
    found = [b for b in exercise.blocks(STEP1) if b.kind == "host" and not b.windows
             and any("venv" in text for _, text in b.lines)]
    assert len(found) == 1, found
    return [text for _, text in found[0].lines]


def test_step1_names_the_windows_forms_of_its_install_lines():
    windows = [b for b in exercise.blocks(STEP1) if b.windows and any("venv" in t for _, t in b.lines)]
    assert [t for _, t in windows[0].lines] == ["py -m venv .venv", r".venv\Scripts\activate",
                                               "python -m pip install -e ."]


@pytest.mark.skipif(not os.path.exists(SYSTEM_PYTHON), reason="needs the system's Python")
def test_the_install_lines_of_step1_work_in_a_folder_with_a_space_and_an_accent(tmp_path):
    lab = tmp_path / "Jane Doé" / "my lab"
    files = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    for name in filter(None, files.decode().split("\0")):
        (lab / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, lab / name)
    # Only the system's programs, as in a new terminal: not the test suite's venv.
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": os.environ.get("HOME", str(tmp_path)),
           "LANG": "C.UTF-8", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    lines = install_block()
    script = "set -e\n" + "\n".join(lines) + "\npython -m lab lint\n"
    run = subprocess.run(["bash", "-c", script], cwd=lab, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert run.stdout.rstrip().endswith("no problems")
    assert (lab / ".venv" / "bin" / "python").exists()


@pytest.mark.skipif(not os.path.exists(SYSTEM_PYTHON), reason="needs the system's Python")
def test_pip_outside_a_venv_is_what_step1_warns_about():
    """Why step 1 makes a venv: Debian's own Python refuses to install into itself."""
    probe = "import pip, sys, sysconfig, pathlib; print(pathlib.Path(sysconfig.get_path('stdlib'), 'EXTERNALLY-MANAGED'))"
    marker = subprocess.run([SYSTEM_PYTHON, "-c", probe], capture_output=True, text=True)
    if marker.returncode != 0 or not os.path.exists(marker.stdout.strip()):
        pytest.skip("the system's Python has no pip, or is not marked as externally managed")
    run = subprocess.run([SYSTEM_PYTHON, "-m", "pip", "install", "--dry-run", "-e", str(REPO)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode != 0 and "externally-managed-environment" in run.stdout + run.stderr
    assert "externally-managed-environment" in STEP1.read_text()
