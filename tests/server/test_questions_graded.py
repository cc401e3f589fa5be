"""Concept questions graded for real, on this machine through local://: `python -m lab.check`
reads the answers in the lab folder on the student's computer, `python -m lab.grade` reads
them in the guest's lab folder and collects the free-text answers for the instructor."""

import json
import os
import subprocess
import sys

from tests.server.test_grade import read_book, spreadsheet_cells
from tests.support.gradescope import gradescope_of
from tests.support.paths import REPO
from tests.support.roster import write_roster
from tests.unit.test_questions import PAGE

CHECKS = '''"""A step whose one check passes anywhere: the rest of its grade is its questions."""

from lab import Registry

check = Registry()


@check
def always(ctx):
    """the guest answers"""
    ctx.guest.run("true")
'''


def quiz_course(tmp_path, guest_folder, questions="count"):
    """A course of one step, quiz, whose lab folder in the guest is guest_folder."""
    course = tmp_path / "course"
    for folder in ("exercises", "quiz_checks", "solutions"):
        (course / folder).mkdir(parents=True)
    (course / "steps.toml").write_text(
        f'format_version = 1\nreplace = true\n\n[course]\nlab_folder = "{guest_folder}"\n'
        f'questions = "{questions}"\n\n'
        '[[steps]]\nid = "quiz"\ntitle = "A quiz"\nexercise = "exercises/quiz.md"\n'
        'checks = "quiz_checks/quiz_step.py"\nsolution = "solutions/quiz.sh"\n')
    (course / "exercises" / "quiz.md").write_text(PAGE, encoding="utf-8")
    (course / "quiz_checks" / "quiz_step.py").write_text(CHECKS)
    (course / "solutions" / "quiz.sh").write_text("#!/bin/sh\ntrue\n")
    return course


def answers_in(folder, text):
    (folder / "answers").mkdir(parents=True, exist_ok=True)
    (folder / "answers" / "quiz.toml").write_text(text, encoding="utf-8")


def run(module, *args, cwd):
    done = subprocess.run([sys.executable, "-m", module, *args], cwd=cwd, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(REPO), "PYTHONIOENCODING": "utf-8", "NO_COLOR": "1"})
    assert "Traceback" not in done.stdout + done.stderr
    return done


def test_lab_check_grades_the_answers_in_the_host_lab_folder(tmp_path):
    guest = tmp_path / "guest lab"
    host = tmp_path / "my lab"  # paths with spaces, on both sides
    course = quiz_course(tmp_path, guest)
    answers_in(guest, 'q1 = "b"\nq2 = "systemctl daemon-reload"\nq3 = "from the guest"\n')
    answers_in(host, 'q1 = "a"\nq2 = "Systemctl Daemon-Reload"\nq3 = "from the host"\n')
    done = run("lab.check", "quiz", "--guest", "local://", "--course", str(course), "--root", str(host), "--json",
               cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    checks = {c["name"]: c for c in json.loads(done.stdout)["steps"][0]["checks"]}
    assert checks["q1"]["status"] == "failed" and checks["q1"]["rationale"].endswith("that is `kill -9`")
    assert checks["q2"]["status"] == "passed"
    assert checks["q3"]["log"] == ["free-text answer: from the host"]

    text = run("lab.check", "quiz", "--guest", "local://", "--course", str(course), "--root", str(host), cwd=tmp_path)
    assert "'a' is not the answer to q1: that is `kill -9`" in text.stdout
    assert "SIGTERM" not in text.stdout  # the right answer is never said


def test_lab_check_without_answers_says_how_to_answer(tmp_path):
    course = quiz_course(tmp_path, tmp_path / "guest")
    done = run("lab.check", "quiz", "--guest", "local://", "--course", str(course), "--root", str(tmp_path),
               cwd=tmp_path)
    assert done.returncode == 1
    assert "there is no answers file answers/quiz.toml yet" in done.stdout
    assert "`python -m lab answer quiz`" in done.stdout


def test_lab_grade_reads_the_guests_answers_and_collects_the_free_text(tmp_path):
    guest = tmp_path / "guest lab"
    course = quiz_course(tmp_path, guest)
    answers_in(guest, 'q1 = "b"\nq2 = "reboot"\nq3 = """Its own user:\na break-in stays small."""\n')
    roster = write_roster(tmp_path, "student,guest\nalice,local://\n")
    done = run("lab.grade", str(roster), "--course", str(course), "--steps", "quiz", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    book = (tmp_path / "grades" / "gradebook.csv").read_text(encoding="utf-8-sig")
    assert "alice,local://,3,3,4,graded" in book  # the check, q1 and q3; q2 is wrong
    page = (tmp_path / "grades" / "alice" / "free-text.md").read_text(encoding="utf-8")
    assert page == ("# Free-text answers of alice\n\n## quiz, question q3: Why run the app as its own user?\n\n"
                    "> Its own user:\n> a break-in stays small.\n")


# --- questions = "separate": a score of their own -------------------------------------------

def test_lab_check_says_the_questions_score_apart_from_the_steps(tmp_path):
    course = quiz_course(tmp_path, tmp_path / "guest", questions="separate")
    answers_in(tmp_path, 'q1 = "a"\nq2 = "systemctl daemon-reload"\nq3 = "mine"\n')
    common = ("quiz", "--guest", "local://", "--course", str(course), "--root", str(tmp_path))
    text = run("lab.check", *common, cwd=tmp_path)
    assert text.returncode == 1  # q1 is wrong, as with any course
    assert "quiz: 1/1, questions: 2/3" in text.stdout.splitlines()
    done = run("lab.check", *common, "--json", cwd=tmp_path)
    data = json.loads(done.stdout)
    assert (data["score"], data["max_score"], data["questions_score"], data["questions_max_score"]) == (1, 1, 2, 3)
    assert done.returncode == 1 and data["exit_code"] == 1
    listed = json.loads(run("lab.check", "--list", "--json", "--course", str(course), cwd=tmp_path).stdout)
    assert (listed["steps"][0]["max_score"], listed["steps"][0]["questions_max_score"]) == (1, 3)

    answers_in(tmp_path, 'q1 = "b"\nq2 = "systemctl daemon-reload"\nq3 = "mine"\n')
    assert run("lab.check", *common, cwd=tmp_path).returncode == 0


def test_lab_grade_keeps_the_questions_score_in_columns_of_its_own(tmp_path):
    guest = tmp_path / "guest lab"
    course = quiz_course(tmp_path, guest, questions="separate")
    answers_in(guest, 'q1 = "b"\nq2 = "reboot"\nq3 = "mine"\n')
    roster = write_roster(tmp_path, "student,guest\nalice,local://\nbob,ssh://root@127.0.0.1:1?key=/nonexistent\n")
    done = run("lab.grade", str(roster), "--course", str(course), "--steps", "quiz", cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr  # bob could not be checked
    assert "alice: 1/1 points, questions: 2/3" in done.stdout  # the line per student, in a log
    book = tmp_path / "grades" / "gradebook.csv"
    columns, rows = read_book(book)
    assert columns == ["student", "guest", "quiz", "quiz.questions", "total", "max", "questions_total",
                       "questions_max", "status", "reason", "kit_solved"]
    assert [rows["alice"][c] for c in columns[2:9]] == ["1", "2", "1", "1", "2", "3", "graded"]
    assert [rows["bob"][c] for c in columns[2:9]] == ["", "", "", "1", "", "3", "could not check"]

    results = json.loads((tmp_path / "grades" / "alice" / "results.json").read_text(encoding="utf-8"))
    assert (results["score"], results["questions_score"], results["questions_max_score"]) == (1, 2, 3)
    page = (tmp_path / "grades" / "alice" / "report.html").read_text(encoding="utf-8")
    assert "Lab check: 1/1 points, questions: 2/3</h1>" in page
    gradescope = gradescope_of(results)
    assert gradescope["score"] == 3 == sum(t["score"] for t in gradescope["tests"])
    assert json.loads((tmp_path / "grades" / "alice" / "gradescope.json").read_text(encoding="utf-8")) == gradescope

    # LibreOffice, as a teacher opens the file: the questions' scores are numbers, beside the others.
    cells = {(c.row, c.column): c.value for c in spreadsheet_cells(book, tmp_path)}
    assert [cells[(1, n)] for n in range(3, 9)] == columns[2:8]
    assert [cells[(2, n)] for n in range(3, 9)] == [1, 2, 1, 1, 2, 3]
