"""What a grade is worth on each kind of guest: checks that don't apply there
(not applicable, counting neither way), steps the kit's reference solution
applied (its record in the guest, and the course's kit_solutions policy), and
the [course] settings that choose them."""

import datetime
import html
import json
import os
import textwrap
from types import SimpleNamespace

import pytest

from lab import Fail, Registry
from lab.core import solved
from lab.core.manifest import ManifestError, load
from lab.engine.context import Settings
from lab.engine.results import NOT_APPLICABLE, PASSED, Report, StepReport
from lab.engine.runner import run_checks
from lab.report import formats
from lab.report.html import to_html
from lab.report.terminal import Terminal
from lab.tools.lint import lint
from lab.transports.local import LocalTransport


def local_transport():
    return LocalTransport.from_url("local://?http=http://127.0.0.1:9", None)


def registry_with_a_vagrant_check():
    check = Registry()

    @check(points=2, applies_to="vagrant")
    def shared(ctx):
        """the shared folder works"""
        raise Fail("never runs off Vagrant", hint="-")

    @check(points=3, depends=shared)
    def after(ctx):
        """a check that builds on it"""

    for c in check:
        c.step = "vm"
    return check


# -- not applicable ------------------------------------------------------------------

def test_a_vagrant_check_is_not_applicable_elsewhere_and_blocks_nothing(tmp_path):
    checks = list(registry_with_a_vagrant_check())
    results = run_checks(checks, local_transport(), Settings(root=tmp_path))
    shared, after = (results[c] for c in checks)
    assert shared.status == NOT_APPLICABLE and "vagrant:// guests only; this guest is local://" in shared.rationale
    assert after.status == PASSED
    step = StepReport(SimpleNamespace(id="vm", title="VM"), [shared, after])
    # Counts neither way: a perfect deployment on a cloud server scores 100 %.
    assert (step.score, step.max_score) == (3, 3)
    assert Report([step]).exit_code == 0


def test_applies_to_names_kinds_of_guest():
    check = Registry()
    with pytest.raises(TypeError, match="applies_to names kinds of guest, from vagrant, ssh, local"):
        @check(applies_to="virtualbox")
        def odd(ctx):
            """odd"""


def test_lint_wants_a_declaration_not_a_look_at_the_transport(tmp_path, capsys):
    course = tmp_path / "course"
    (course / "course_checks").mkdir(parents=True)
    (course / "course_checks" / "__init__.py").write_text("")
    (course / "course_checks" / "early.py").write_text(textwrap.dedent('''\
        from lab import Registry

        check = Registry()


        @check(points=1)
        def forwarded(ctx):
            """the forwarded port is private"""
            if ctx.guest.transport.scheme != "vagrant":
                return
        '''))
    (course / "exercises").mkdir()
    (course / "exercises" / "early.md").write_text("# Early\n\n```sh host\npython -m lab.check early\n```\n")
    (course / "solutions").mkdir()
    (course / "solutions" / "early.sh").write_text("true\n")
    (course / "steps.toml").write_text(textwrap.dedent('''\
        format_version = 1
        replace = true

        [[steps]]
        id = "early"
        title = "Early"
        exercise = "exercises/early.md"
        checks = "course_checks/early.py"
        solution = "solutions/early.sh"
        '''))
    assert lint(course=str(course)) == 1
    said = capsys.readouterr()
    assert ("early.forwarded: it asks which kind of guest it runs on (`.scheme`, line 9); declare the kinds "
            "it is about instead") in said.out + said.err


# -- the kit's record of solved steps ------------------------------------------------

def test_the_record_keeps_the_last_time_of_each_step(tmp_path):
    path = tmp_path / "lab" / "solved.json"
    first = datetime.datetime(2026, 11, 20, 9, 0, tzinfo=datetime.timezone.utc)
    solved.record(["step1", "step2"], path, now=first)
    assert solved.record(["step2"], path)["step1"] == "2026-11-20T09:00:00Z"
    assert set(json.loads(path.read_text())) == {"step1", "step2"}
    assert oct(path.stat().st_mode & 0o777) == "0o644"


@pytest.mark.parametrize("text", ["", "not json", "[1, 2]", '{"Step 1": "x", "step2": 3}'])
def test_a_damaged_record_marks_nothing(text):
    assert solved.parse(text) == {}


def test_the_guest_record_reaches_every_report(tmp_path, monkeypatch):
    record = tmp_path / "solved.json"
    solved.record(["vm"], record, now=datetime.datetime(2026, 11, 21, 8, 30, tzinfo=datetime.timezone.utc))
    monkeypatch.setattr(solved, "SOLVED_FILE", str(record))  # local:// reads this machine's file
    from lab.engine.session import grade_guest

    checks = list(registry_with_a_vagrant_check())
    step = SimpleNamespace(id="vm", title="The VM", checks=checks)
    settings = Settings(root=tmp_path, guest_url="local://?http=http://127.0.0.1:9")
    results = grade_guest(settings, [step], {"vm": checks}, checks).as_dict()
    assert results["steps"][0]["kit_solved"] == "2026-11-21T08:30:00Z"
    note = "solved by the kit's reference solution (2026-11-21T08:30:00Z): its points count, flagged"
    assert note in formats.to_gradescope(results)
    assert html.unescape(to_html(results)).count(note) == 1
    lines = []
    Terminal(SimpleNamespace(write=lines.append, isatty=lambda: False, flush=lambda: None)).summary(results)
    assert any(note in line for line in lines)


@pytest.mark.parametrize("policy, score", [("count", 3), ("flag", 3), ("zero", 0)])
def test_the_course_decides_what_a_kit_solved_step_earns(tmp_path, policy, score):
    checks = list(registry_with_a_vagrant_check())
    results = run_checks(checks, local_transport(), Settings(root=tmp_path))
    step = StepReport(SimpleNamespace(id="vm", title="VM"), [results[c] for c in checks],
                      kit_solved="2026-11-21T08:30:00Z", kit_policy=policy)
    assert (step.score, step.max_score) == (score, 3)


# -- the [course] settings -------------------------------------------------------------

def course_with(tmp_path, table):
    (tmp_path / "steps.toml").write_text(f"format_version = 1\n\n[course]\n{table}\n")
    return str(tmp_path)


def test_a_course_sets_its_lab_folder_and_policies(tmp_path, monkeypatch):
    monkeypatch.setenv("LAB_FOLDER", "")  # so that monkeypatch puts back what load() changes
    table = 'lab_folder = "/home/student/lab"\nkit_solutions = "zero"\nquestions = "practice"'
    manifest = load(course=course_with(tmp_path, table), import_checks=False)
    assert manifest.course == {"lab_folder": "/home/student/lab", "kit_solutions": "zero", "questions": "practice"}
    separate = load(course=course_with(tmp_path, 'questions = "separate"'), import_checks=False)
    assert separate.course["questions"] == "separate"
    # provision/facts.py reads it from there, in the checker and in the solutions.
    assert os.environ["LAB_FOLDER"] == "/home/student/lab"


def test_the_kit_alone_keeps_the_defaults(monkeypatch):
    monkeypatch.delenv("LAB_COURSE", raising=False)
    assert load(import_checks=False).course == {"lab_folder": None, "kit_solutions": "flag", "questions": "count"}


@pytest.mark.parametrize("table, says", [
    ('kit_solutions = "sometimes"', 'kit_solutions must be one of "count", "flag" or "zero"'),
    ('questions = "bonus"', 'questions must be one of "count", "practice" or "separate"'),
    ('questions = "Separate"', 'questions must be one of "count", "practice" or "separate"'),
    ('questions = true', 'questions must be one of "count", "practice" or "separate"'),
    ('lab_folder = "lab"', "lab_folder must be an absolute path in the guest"),
    ('colour = "red"', "[course] has no setting 'colour'"),
])
def test_a_bad_course_setting_is_one_line(tmp_path, table, says):
    with pytest.raises(ManifestError, match=None) as caught:
        load(course=course_with(tmp_path, table), import_checks=False)
    assert says in str(caught.value) and "\n" not in str(caught.value)
