"""The selftest's Vagrant machine: its `vagrant` calls have time limits like the
transport's, and it grades through the engine's session like every entry point."""

import os

import pytest

from lab import selftest
from lab.engine.context import Settings
from tests.support.localservers import REPO


def fake_vagrant(tmp_path, monkeypatch, body):
    """A `vagrant` first on PATH that runs body (sh)."""
    folder = tmp_path / "bin"
    folder.mkdir()
    vagrant = folder / "vagrant"
    vagrant.write_text(f"#!/bin/sh\n{body}\n")
    vagrant.chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")


def test_a_hung_vagrant_provision_is_stopped_at_the_time_limit(tmp_path, monkeypatch, capsys):
    fake_vagrant(tmp_path, monkeypatch, 'case "$1" in provision) exec sleep 60;; esac')
    monkeypatch.setattr(selftest, "PROVISION_TIMEOUT", 1)
    machine = selftest.VagrantMachine(Settings(root=REPO))
    with pytest.raises(selftest.CouldNotCheck, match=r"`vagrant provision --provision-with solution` did not "
                                                     r"answer within 1 s"):
        machine.vagrant("provision", "--provision-with", "solution", LAB_SOLVE_TO="step1")


def test_a_failed_vagrant_call_says_what_vagrant_said(tmp_path, monkeypatch):
    fake_vagrant(tmp_path, monkeypatch, 'echo "the box is gone"; echo "and this went to stderr" >&2; exit 1')
    machine = selftest.VagrantMachine(Settings(root=REPO))
    with pytest.raises(RuntimeError) as caught:
        machine.vagrant("reload")
    assert str(caught.value) == "`vagrant reload` failed:\nthe box is gone\nand this went to stderr\n"


def test_the_variables_a_step_is_solved_with_reach_vagrant(tmp_path, monkeypatch):
    log = tmp_path / "env.log"
    fake_vagrant(tmp_path, monkeypatch, f'echo "$LAB_SOLVE_TO $LAB_COURSE" > "{log}"')
    selftest.VagrantMachine(Settings(root=REPO)).vagrant("provision", LAB_SOLVE_TO="step3", LAB_COURSE="courses/a b")
    assert log.read_text() == "step3 courses/a b\n"


FLAG_CHECKS = '''"""A step whose solution writes a flag file."""

import os

from lab import Fail, Registry

check = Registry()


@check(points=2)
def flag_written(ctx):
    """the flag file exists"""
    if not os.path.exists(os.environ["LAB_TEST_FLAG"]):
        raise Fail("there is no flag file")
'''


@pytest.fixture(scope="module")
def flag_manifest(tmp_path_factory):
    """A course of one step (read once: a check module is imported once per process)."""
    course = tmp_path_factory.mktemp("selftest") / "course"
    (course / "selftest_flag_checks").mkdir(parents=True)
    (course / "selftest_flag_checks" / "flag.py").write_text(FLAG_CHECKS)
    (course / "exercises").mkdir()
    (course / "exercises" / "flag.md").write_text("# Write the flag\n")
    (course / "steps.toml").write_text('format_version = 1\nreplace = true\n\n[[steps]]\nid = "flag"\n'
                                       'title = "Write the flag"\nexercise = "exercises/flag.md"\n'
                                       'checks = "selftest_flag_checks/flag.py"\nsolution = "flag.sh"\n')
    return selftest.manifest_mod.load(course=course)


@pytest.fixture
def flag_course(flag_manifest, tmp_path, monkeypatch):
    """The course graded on this machine (local://) through the engine's session."""
    flag = tmp_path / "flag"
    monkeypatch.setenv("LAB_TEST_FLAG", str(flag))
    manifest = flag_manifest
    machine = selftest.VagrantMachine(Settings(root=tmp_path, guest_url="local://"))
    machine.connect()
    yield manifest, machine, flag
    machine.close()


def test_a_solution_that_makes_its_checks_pass_is_ok(flag_course, monkeypatch):
    manifest, machine, flag = flag_course
    monkeypatch.setattr(machine, "solve", lambda step: flag.write_text("") or 7.0)
    lines = []
    assert selftest.selftest(manifest, manifest.steps, machine, out=lines.append)
    assert lines[1:] == ["flag         0/2        7s     2/2  all pass             ok"]


def test_a_solution_that_leaves_a_check_failing_is_a_miss(flag_course, monkeypatch):
    manifest, machine, flag = flag_course
    monkeypatch.setattr(machine, "solve", lambda step: 3.0)
    lines = []
    assert not selftest.selftest(manifest, manifest.steps, machine, out=lines.append)
    assert lines[1:] == ["flag         0/2        3s     0/2  all pass             MISS",
                         "  miss: flag: the solution leaves 0/2: flag_written: failed (there is no flag file)"]


SECOND_FLAG_CHECKS = FLAG_CHECKS.replace("LAB_TEST_FLAG", "LAB_TEST_SECOND_FLAG").replace(
    "def flag_written", "def second_flag_written").replace("the flag file", "the second flag file")


@pytest.fixture(scope="module")
def three_step_manifest(tmp_path_factory):
    """Three steps: the first and the third each write a flag, the second may take the first's away."""
    course = tmp_path_factory.mktemp("selftest") / "course"
    (course / "selftest_three_checks").mkdir(parents=True)
    (course / "selftest_three_checks" / "first.py").write_text(FLAG_CHECKS)
    (course / "selftest_three_checks" / "second.py").write_text(SECOND_FLAG_CHECKS)
    (course / "selftest_three_checks" / "third.py").write_text(
        SECOND_FLAG_CHECKS.replace("LAB_TEST_SECOND_FLAG", "LAB_TEST_THIRD_FLAG"))
    (course / "exercises").mkdir()
    (course / "exercises" / "flag.md").write_text("# Write the flags\n")
    steps = "".join(f'\n[[steps]]\nid = "{name}"\ntitle = "The {name} flag"\nexercise = "exercises/flag.md"\n'
                    f'checks = "selftest_three_checks/{name}.py"\nsolution = "flag.sh"\n'
                    for name in ("first", "second", "third"))
    (course / "steps.toml").write_text(f"format_version = 1\nreplace = true\n{steps}")
    return selftest.manifest_mod.load(course=course)


@pytest.fixture
def three_flags(three_step_manifest, tmp_path, monkeypatch):
    flags = {name: tmp_path / name for name in ("first", "second", "third")}
    for name, variable in (("first", "LAB_TEST_FLAG"), ("second", "LAB_TEST_SECOND_FLAG"),
                           ("third", "LAB_TEST_THIRD_FLAG")):
        monkeypatch.setenv(variable, str(flags[name]))
    machine = selftest.VagrantMachine(Settings(root=tmp_path, guest_url="local://"))
    machine.connect()
    yield three_step_manifest, machine, flags
    machine.close()


def solving(flags, second_takes_first, third_mends):
    """A solve() that writes each step's flag; the second may remove the first's, the third put it back."""
    def solve(step):
        flags[step.id].write_text("")
        if step.id == "second" and second_takes_first:
            flags["first"].unlink()
        if step.id == "third" and third_mends:
            flags["first"].write_text("")
        return 1.0
    return solve


def test_a_solution_that_undoes_an_earlier_step_is_caught_after_the_last_step(three_flags, monkeypatch):
    manifest, machine, flags = three_flags
    monkeypatch.setattr(machine, "solve", solving(flags, second_takes_first=True, third_mends=False))
    lines = []
    assert not selftest.selftest(manifest, manifest.steps, machine, out=lines.append)
    assert lines[1:] == ["first        0/2        1s     2/2  at the end           ok",
                         "second       0/2        1s     2/2  at the end           ok",
                         "third        0/2        1s     2/2  first 0/2            MISS",
                         "  miss: after third's solution, first no longer passes: "
                         "flag_written: failed (there is no flag file)"]


def test_with_each_a_break_a_later_step_mends_is_caught_where_it_happened(three_flags, monkeypatch):
    manifest, machine, flags = three_flags
    monkeypatch.setattr(machine, "solve", solving(flags, second_takes_first=True, third_mends=True))
    lines = []
    assert selftest.selftest(manifest, manifest.steps, machine, out=lines.append)  # mended: the end is whole
    for name in flags.values():
        name.unlink()
    lines = []
    assert not selftest.selftest(manifest, manifest.steps, machine, out=lines.append, each=True)
    assert lines[1:] == ["first        0/2        1s     2/2  all pass             ok",
                         "second       0/2        1s     2/2  first 0/2            MISS",
                         "third        0/2        1s     2/2  all pass             ok",
                         "  miss: after second's solution, first no longer passes: "
                         "flag_written: failed (there is no flag file)"]
