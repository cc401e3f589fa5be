"""Every `python -m lab...` started without its libraries (a venv not activated)
says in one line which one is missing and how to get it, exit code 2."""

import os
import re
import shutil
import subprocess
import sys

import pytest

import lab
from tests.support.paths import REPO

ENTRY_POINTS = [("lab.check", ["step1"]), ("lab", ["lint"]), ("lab.selftest", [])]


def run_without_site_packages(module, args, cwd, extra_path=()):
    """python -S: the interpreter without any site-packages, the checker found through PYTHONPATH only."""
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": os.pathsep.join([*map(str, extra_path), str(REPO)])}
    return subprocess.run([sys.executable, "-S", "-m", module, *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=60)


@pytest.fixture
def all_but_paramiko(tmp_path):
    """Stand-ins for every library but paramiko: the one a student's system Python most often lacks."""
    stubs = tmp_path / "stubs"
    for name in lab.LIBRARIES:
        if name != "paramiko":
            (stubs / name).mkdir(parents=True)
            (stubs / name / "__init__.py").write_text("")
    return stubs


def test_the_list_is_pyprojects_dependencies():
    from lab.core.manifest import tomllib  # tomli before Python 3.11, as the checker reads TOML

    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    # A distribution is imported by its name with "_" for "-" (tomli-w: tomli_w).
    names = {re.match(r"[A-Za-z0-9_.-]+", d).group().lower().replace("-", "_"): d for d in declared}
    for_this_python = [name for name, d in names.items() if "python_version < '3.11'" not in d
                       or sys.version_info < (3, 11)]
    assert sorted(lab.LIBRARIES) == sorted(for_this_python)


@pytest.mark.parametrize("module, args", ENTRY_POINTS, ids=[m for m, _ in ENTRY_POINTS])
def test_one_missing_library_is_one_line(tmp_path, all_but_paramiko, module, args):
    run = run_without_site_packages(module, args, tmp_path, [all_but_paramiko])
    assert run.returncode == 2
    assert run.stdout == ""
    assert run.stderr.count("\n") == 1
    assert run.stderr.startswith(f"{module}: the library 'paramiko' is missing: ")
    assert "`python -m pip install -e .` in the lab's folder" in run.stderr


def test_every_missing_library_is_named(tmp_path):
    run = run_without_site_packages("lab.check", ["step1"], tmp_path)
    assert run.returncode == 2
    quoted = [repr(name) for name in lab.LIBRARIES]
    assert run.stderr.startswith(f"lab.check: the libraries {', '.join(quoted[:-1])} and {quoted[-1]} are missing: ")


def test_importing_lab_without_its_libraries_is_left_alone(tmp_path):
    # A check module or a tool that imports lab decides for itself what it needs.
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(REPO)}
    run = subprocess.run([sys.executable, "-S", "-c", "import lab; print(lab.missing_libraries())"], cwd=tmp_path,
                         env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and "paramiko" in run.stdout


SYSTEM_PYTHON = shutil.which("python3", path="/usr/bin")


@pytest.mark.skipif(SYSTEM_PYTHON is None, reason="no /usr/bin/python3")
def test_the_system_python_without_the_venv(tmp_path):
    """What a student sees who runs python3 instead of the venv's: whatever that python lacks."""
    probe = subprocess.run([SYSTEM_PYTHON, "-c", "import sys; print(sys.version_info >= (3, 10))"],
                           capture_output=True, text=True)
    if probe.stdout.strip() != "True":
        pytest.skip("the system python is older than the checker supports")
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(REPO)}
    run = subprocess.run([SYSTEM_PYTHON, "-m", "lab.check", "step1"], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=60)
    # Only a clean run means this python has every library; anything else is the gate's to explain.
    has_all = subprocess.run([SYSTEM_PYTHON, "-c", "import lab; raise SystemExit(bool(lab.missing_libraries()))"],
                             env=env, capture_output=True).returncode == 0
    if has_all:
        pytest.skip("the system python has every library the checker needs")
    assert run.returncode == 2, run.stderr
    assert run.stderr.count("\n") == 1 and run.stderr.startswith("lab.check: the librar")
    assert "activate the lab's venv (`source .venv/bin/activate`)" in run.stderr
