"""`lab.grade` in process: a roster read or refused line by line, students graded at once
with one's hang never holding up the others, and the gradebook's rows."""

import contextlib
import sys
import time
from pathlib import Path

import pytest

from lab import Registry
from lab.core.manifest import Step
from lab.engine.context import Settings
from lab.engine.runner import PrintCapture
from lab.grade import main
from lab.tools.gradebook import grade_row, gradebook
from lab.tools.grading import Progress, grade_all
from lab.tools.roster import RosterError, Student, read_roster, safe_name
from tests.support.paths import COURSE
from tests.support.roster import write_roster

# --- the roster -----------------------------------------------------------------------------

def test_roster_keeps_its_own_columns_in_order(tmp_path):
    path = write_roster(tmp_path, "\ufeffStudent, guest ,section\n"
                                  "alice,local://,A\n"
                                  "\n"
                                  '"O\'Neil, Carol",ssh://me@10.0.0.5:2222?key=/k,"B, late"\n')
    header, students = read_roster(path)
    assert header == ["Student", "guest", "section"]
    assert [(s.name, s.guest, s.line, s.folder) for s in students] == [
        ("alice", "local://", 2, "alice"), ("O'Neil, Carol", "ssh://me@10.0.0.5:2222?key=/k", 4, "O_Neil__Carol")]
    assert students[1].columns == {"Student": "O'Neil, Carol", "guest": "ssh://me@10.0.0.5:2222?key=/k",
                                   "section": "B, late"}


@pytest.mark.parametrize("text, error", [
    ("", "roster.csv:1: the file is empty"),
    ("\n\n", "roster.csv:1: the file is empty"),
    ("student,url\nalice,local://\n", "roster.csv:1: the header has no 'guest' column"),
    ("name,url\n", "roster.csv:1: the header has no 'student' and no 'guest' column"),
    ("student,guest,Guest\n", "roster.csv:1: the header has the column 'Guest' twice"),
    ("student,guest,\n", "roster.csv:1: column 3 of the header has no name"),
    ("student,guest,total\n", "roster.csv:1: the column 'total' is one the gradebook writes itself"),
    ("student,guest,good\n", "roster.csv:1: the column 'good' is one the gradebook writes itself"),
    ("student,guest\n", "roster.csv:1: no students below the header"),
    ("student,guest\nalice,local://\n\nalice,local://\n", "roster.csv:4: 'alice' is already on line 2"),
    ("student,guest\nalice,vagrant://default\n", "roster.csv:2: alice's guest is vagrant://default: "
                                                 "a class is graded over SSH"),
    ("student,guest\nalice,ftp://host\n", "roster.csv:2: alice: unknown guest address 'ftp://host'"),
    ("student,guest\nalice,ssh://me@host:99999\n", "roster.csv:2: alice: the guest address "
                                                   "'ssh://me@host:99999': the port '99999' is not a number"),
    ("student,guest\nalice,ssh://?key=k\n", "roster.csv:2: alice: the guest address 'ssh://?key=k' names no host"),
    ("student,guest\nalice,\n", "roster.csv:2: alice has no guest address"),
    ("student,guest\n ,local://\n", "roster.csv:2: no student name"),
    ("student,guest\nalice,local://,A\n", "roster.csv:2: 3 values, but the header has 2 columns"),
    ("student,guest\n...,local://\n", "roster.csv:2: '...' makes no usable file name"),
    ("student,guest\nBob,local://\nbob,local://\n", "roster.csv:3: 'bob' and 'Bob' (line 2) would share "
                                                    "the file name 'bob'"),
    ("student,guest\na b,local://\na_b,local://\n", "roster.csv:3: 'a_b' and 'a b' (line 2) would share"),
    ("student,guest\ngradebook.csv,local://\n", "roster.csv:2: 'gradebook.csv' and the gradebook.csv file"),
    ('student,guest\nbob,local://\n"alice,local://\n', "roster.csv:3: not CSV this tool can read "
                                                        "(unexpected end of data); is a double quote left open?"),
])
def test_a_bad_roster_is_one_line_naming_the_row(tmp_path, text, error):
    path = write_roster(tmp_path, text)
    with pytest.raises(RosterError) as raised:
        read_roster(path, reserved=["good", "total"])
    message = str(raised.value)
    assert message.startswith(str(tmp_path)) and error in message and "\n" not in message


def test_a_roster_that_is_not_utf8_or_not_there(tmp_path):
    (tmp_path / "roster.csv").write_bytes(b"student,guest\ncaf\xe9,local://\n")
    with pytest.raises(RosterError, match="not UTF-8 text; save it as CSV UTF-8"):
        read_roster(tmp_path / "roster.csv")
    with pytest.raises(RosterError, match="there is no such file"):
        read_roster(tmp_path / "nobody.csv")


@pytest.mark.parametrize("name, safe", [
    ("alice", "alice"), ("Carol O'Neil", "Carol_O_Neil"), ("José", "José"), ("../etc/passwd", "_etc_passwd"),
    (".hidden", "hidden"), ("-rf", "rf"), ("CON", "_CON"), ("nul.txt", "_nul.txt"), ("//", ""), ("..", ""),
])
def test_safe_file_names(name, safe):
    assert safe_name(name) == safe


def test_cli_errors_are_one_line_and_exit_2(tmp_path, capsys):
    roster = write_roster(tmp_path, "student,guest\nalice,local://\nalice,local://\n")
    assert main([str(roster), "--course", str(COURSE), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err == f"lab.grade: {roster}:3: 'alice' is already on line 2; give each student one row\n"
    assert not (tmp_path / "out").exists()  # nothing is graded or written from a bad roster

    roster = write_roster(tmp_path, "student,guest\nalice,local://\n")
    assert main([str(roster), "--course", str(COURSE), "--only", "alice,zoe"]) == 2
    assert capsys.readouterr().err == f"lab.grade: --only: {roster} has no student 'zoe'\n"
    assert main([str(roster), "--course", str(COURSE), "--steps", "good,nope"]) == 2
    assert capsys.readouterr().err.startswith("lab.grade: there is no step 'nope'")


# --- grading several students at once ------------------------------------------------------

def make_step(step_id, *checks):
    for check in checks:
        check.step = step_id
    return Step(step_id, f"step {step_id}", Path(), Path(), Path(), Path(), checks=list(checks))


def run_class(students, step, jobs, timeout, tmp_path):
    wanted = list(step.checks)
    return dict((s.name, r) for s, r in grade_all(
        students, lambda s: Settings(root=tmp_path, guest_url=s.guest), [step], {step.id: wanted}, wanted,
        jobs, timeout))


def local_students(*names):
    return [Student(n, "local://", {"student": n, "guest": "local://"}, i + 2, n) for i, n in enumerate(names)]


def test_a_hung_student_is_cut_off_and_their_run_stops_at_the_next_check(tmp_path):
    ran_after = []
    check = Registry()

    @check(timeout=10)
    def slow_for_some(ctx):
        """a check that hangs on one guest"""
        if ctx.settings.guest_url.endswith("hang"):
            time.sleep(1.0)

    @check
    def after(ctx):
        """a check after it"""
        ran_after.append(ctx.settings.guest_url)

    step = make_step("hang", *check)
    students = local_students("alice", "bob", "carol")
    students[1].guest = "local://?http=http://hang"  # a distinct, valid address
    started = time.monotonic()
    reports = run_class(students, step, jobs=3, timeout=0.4, tmp_path=tmp_path)
    assert time.monotonic() - started < 0.9  # the others did not wait for bob's hung check
    assert reports["bob"].fault.startswith("did not finish within 0.4 s")
    assert reports["alice"].fault is None and reports["alice"].score == 2
    time.sleep(1.2)  # bob's hung check ends by now; his run, told to stop, runs no more checks
    assert sorted(ran_after) == ["local://", "local://"]


def test_parallel_students_keep_their_prints_apart(tmp_path, capsys):
    check = Registry()

    @check
    def chatty(ctx):
        """a check that prints"""
        for n in range(50):
            print(f"{ctx.settings.guest_url} line {n}")
            time.sleep(0.001)

    step = make_step("chat", *check)
    students = local_students(*(f"s{n}" for n in range(12)))
    for n, student in enumerate(students):
        student.guest = f"local://?http=http://s{n}"  # distinct, valid addresses
    reports = run_class(students, step, jobs=12, timeout=30, tmp_path=tmp_path)
    for student in students:
        assert reports[student.name].steps[0].results[0].log == [f"{student.guest} line {n}" for n in range(50)]
    assert capsys.readouterr().out == ""
    assert not isinstance(sys.stdout, PrintCapture)  # gone once every check has ended


def test_a_check_whose_thread_starts_late_still_prints_into_its_log(tmp_path, capsys, monkeypatch):
    # A machine busy grading a class may start a check's thread late: later than its timeout.
    capture_into = PrintCapture.into

    @contextlib.contextmanager
    def late(self, log):
        time.sleep(0.1)
        with capture_into(self, log):
            yield

    monkeypatch.setattr(PrintCapture, "into", late)
    check = Registry()

    @check(timeout=0.01)
    def abandoned(ctx):
        """a check whose thread gets going late, then takes too long"""
        print("printed by a slow check")
        time.sleep(0.2)

    reports = run_class(local_students("alice", "bob"), make_step("late", *check), jobs=2, timeout=30,
                        tmp_path=tmp_path)
    time.sleep(0.3)
    for report in reports.values():
        result = report.steps[0].results[0]
        assert (result.status, result.log) == ("could not check", ["printed by a slow check"])
    assert capsys.readouterr().out == ""
    assert not isinstance(sys.stdout, PrintCapture)


# --- the gradebook --------------------------------------------------------------------------

def results_of(fault=None, steps=()):
    return {"score": sum(s["score"] for s in steps), "max_score": sum(s["max_score"] for s in steps),
            "fault": fault, "steps": list(steps)}


def step_entry(step_id, score, max_score, statuses=("passed",), **extra):
    return {"id": step_id, "score": score, "max_score": max_score, **extra,
            "checks": [{"name": f"c{n}", "step": step_id, "status": s, "rationale": f"why {n}"}
                       for n, s in enumerate(statuses)]}


def test_grade_row_reads_kit_solved_when_there_and_notes_checks_not_checked():
    row = grade_row(results_of(steps=[step_entry("step1", 5, 7, ("passed", "could not check"), kit_solved=True),
                                      step_entry("step2", 0, 3, ("not applicable",), kit_solved=False),
                                      step_entry("step3", 2, 2)]),
                    ["step1", "step2", "step3", "step4"], 99)
    assert row == {"step1": 5, "step2": 0, "step3": 2, "step4": "", "total": 7, "max": 12, "status": "graded",
                   "reason": "1 check could not be checked, first step1.c1: why 1", "kit_solved": "step1"}
    counted = grade_row(results_of(steps=[step_entry("step1", 7, 7, kit_solved="2026-11-21T08:30:00Z",
                                                   kit_policy="count")]), ["step1"], 7)
    assert counted["kit_solved"] == ""  # the course counts them as the student's own: no flag
    row = grade_row(results_of(fault="SSH at h:22 refused the connection"), ["step1"], 7)
    assert row == {"step1": "", "total": "", "max": 7, "status": "could not check",
                   "reason": "SSH at h:22 refused the connection", "kit_solved": ""}


def test_regrading_some_keeps_the_other_rows():
    header = ["student", "guest", "section"]
    students = local_students("alice", "bob")
    students[0].columns["section"], students[1].columns["section"] = "A2", "B"
    old_rows = {"alice": {"student": "alice", "guest": "local://", "section": "A", "step1": "5", "total": "5"},
                "zoe": {"student": "zoe", "guest": "ssh://z@h", "section": "C", "step1": "1", "total": "1"}}
    old_header = ["student", "guest", "section", "step1", "total", "max", "status", "reason", "kit_solved"]
    columns, rows = gradebook(header, students, {"bob": {"step2": 3, "total": 3}}, old_header, old_rows,
                              ["step2"], ["step1", "step2"], keep_others=True)
    assert columns == header + ["step1", "step2", "total", "max", "status", "reason", "kit_solved"]
    assert [(r["student"], r.get("section"), r.get("step1"), r.get("step2"), r["total"]) for r in rows] == [
        ("alice", "A2", "5", None, "5"), ("bob", "B", None, 3, 3), ("zoe", "C", "1", None, "1")]
    columns, rows = gradebook(header, students, {"bob": {"step2": 3}}, old_header, old_rows, ["step2"],
                              ["step1", "step2"], keep_others=False)
    assert columns == header + ["step2", "total", "max", "status", "reason", "kit_solved"]
    assert [r["student"] for r in rows] == ["bob"]


def test_separate_questions_get_columns_beside_each_step_and_the_totals():
    header = ["student", "guest"]
    students = local_students("alice", "bob")
    steps = [step_entry("step1", 5, 7, questions_score=2, questions_max_score=3),
             step_entry("step2", 4, 4, questions_score=0, questions_max_score=0)]
    graded = {**results_of(steps=steps), "questions_score": 2, "questions_max_score": 3}
    rows = {"alice": grade_row(graded, ["step1", "step2"], 11, 3),
            "bob": grade_row(results_of(fault="SSH at h:22 refused the connection"), ["step1", "step2"], 11, 3)}
    columns, book = gradebook(header, students, rows, [], {}, ["step1", "step2"], ["step1", "step2"],
                              keep_others=False, question_steps=["step1"])
    assert columns == header + ["step1", "step1.questions", "step2", "total", "max", "questions_total",
                                "questions_max", "status", "reason", "kit_solved"]
    alice, bob = ({c: row.get(c) for c in columns[2:-3]} for row in book)
    assert alice == {"step1": 5, "step1.questions": 2, "step2": 4, "total": 9, "max": 11, "questions_total": 2,
                     "questions_max": 3}
    assert bob == {"step1": "", "step1.questions": "", "step2": "", "total": "", "max": 11, "questions_total": "",
                   "questions_max": 3}  # the max of everyone graded beside them

    # Regraded with --only, the columns of the gradebook before are kept for the others' rows.
    old_header = columns
    columns, _ = gradebook(header, students, {"bob": rows["alice"]}, old_header, {"alice": book[0]}, ["step2"],
                           ["step1", "step2"], keep_others=True, question_steps=[])
    assert columns == old_header


def test_progress_rewrites_one_line_on_a_terminal_and_prints_lines_elsewhere():
    class Stream:
        def __init__(self, tty):
            self.text, self.tty = "", tty

        def write(self, text):
            self.text += text

        def flush(self):
            pass

        def isatty(self):
            return self.tty

    alice, bob = local_students("alice", "bob")
    for tty in (True, False):
        stream = Stream(tty)
        progress = Progress(stream, 2)
        progress.start()
        progress.finished(alice, results_of(fault="SSH at h:22 refused the connection"))
        progress.finished(bob, results_of(steps=[step_entry("step1", 5, 7)]))
        progress.end()
        if tty:
            assert stream.text == ("\rgraded 0/2, 0 could not be checked\rgraded 1/2, 1 could not be checked"
                                   "\rgraded 2/2, 1 could not be checked\n")
        else:
            assert stream.text == ("[1/2] alice: could not check: SSH at h:22 refused the connection\n"
                                   "[2/2] bob: 5/7 points\n")
