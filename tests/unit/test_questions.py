"""Concept questions: the reader and lint's rules on small pages, grading right, wrong,
missing and damaged answers, `python -m lab answer` with scripted input, the replay's
answers from the key, and the reports that carry the question checks."""

import io
import json
import os
import subprocess
import sys
from types import SimpleNamespace

import pytest

from lab import Registry
from lab.core import manifest as manifest_mod
from lab.core import questions
from lab.engine.results import PASSED, BadResults, Report, StepReport, check_results
from lab.engine.runner import run_checks
from lab.report import formats
from lab.report.html import to_html
from lab.report.terminal import Terminal
from lab.tools import answer as answer_mod
from lab.tools import exercise
from lab.tools import replay as replay_mod
from tests.support.engine_fakes import FakeTransport
from tests.support.engine_fakes import settings as settings_of
from tests.support.gradescope import GOOD_CHECKS, gradescope_of
from tests.support.paths import COURSE, REPO
from tests.unit.test_reports import valid_junit

PAGE = """# A step

```sh host
python -m lab.check quiz
```

## Check your understanding

Answer with `python -m lab answer quiz`.

**q1.** Which signal does a plain `kill` send?

- a) SIGKILL
- b) SIGTERM

<!-- key q1: b
if a: that is `kill -9`
-->

**q2.** Which command makes systemd read a changed
unit file?

<!-- key q2: accept systemctl daemon-reload
match: daemon.?reload
if systemctl restart likes: a restart uses the unit systemd already read
-->

**q3.** Why run the app as its own user?

<!-- key q3: free -->
"""


def page(tmp_path, text=PAGE, name="quiz.md"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def step_of(tmp_path, text=PAGE):
    return SimpleNamespace(id="quiz", title="A quiz", exercise=page(tmp_path, text))


# -- the reader, and lint's rules ----------------------------------------------------------

def test_the_reader_finds_each_kind_with_its_key_and_feedback(tmp_path):
    found, problems = questions.read(page(tmp_path))
    assert problems == []
    q1, q2, q3 = found
    assert (q1.kind, q1.answer, q1.choices, q1.feedback) == ("choice", "b", {"a": "SIGKILL", "b": "SIGTERM"},
                                                             {"a": "that is `kill -9`"})
    assert q2.kind == "short" and q2.accept == ["systemctl daemon-reload"] and q2.patterns == ["daemon.?reload"]
    assert q2.text == "Which command makes systemd read a changed unit file?"
    assert q3.kind == "free" and q3.line == 28
    assert exercise.problems(page(tmp_path), "quiz") == []


def test_a_page_without_the_section_has_no_questions(tmp_path):
    assert questions.read(page(tmp_path, "# A step\n\n**q1.** not in the section\n")) == ([], [])


@pytest.mark.parametrize("change, problem", [
    (("<!-- key q1: b", "<!-- key q1: c"), "q1's key names 'c', which is none of its options (a, b)"),
    (("<!-- key q1: b\n", ""), "q1 has no key; put `<!-- key q1: ... -->` right after it"),
    (("accept systemctl daemon-reload\n", "accept\n"), "q2's key accepts no answer"),
    (("match: daemon.?reload", "match: daemon(reload"), "q2's match: daemon(reload is no regular expression"),
    (("<!-- key q3: free -->", "<!-- key q3: free\nmatch: x\n-->"), "q3 is not a short answer, so no match: lines"),
    (("**q3.**", "**q2.**"), "the question id q2 is used twice on this page"),
    (("if a: that is", "if b: that is"), "q1 has feedback for 'b', which is not one of its wrong options"),
    (("if systemctl restart likes:", "if Systemctl Daemon-Reload:"),
     "q2 has feedback for 'systemctldaemon-reload', which it accepts"),
    (("<!-- key q3: free -->", "<!-- key q3: free\nif x: no\n-->"), "q3 is free text, which gets no feedback"),
    (("<!-- key q3: free -->", "<!-- key q1: free -->"), "a key for q1 must follow that question"),
    (("if a: that is `kill -9`", "a: that is `kill -9`"), "a key's further lines are `if WRONG: why` or `match: REGEX`"),
    (("<!-- key q3: free -->", "<!-- key q3: free"), "this key's comment is never closed with -->"),
    (("- a) SIGKILL\n- b) SIGTERM\n", ""), "the question has fewer than two options"),
])
def test_each_broken_question_is_a_problem_that_says_where(tmp_path, change, problem):
    path = page(tmp_path, PAGE.replace(*change, 1))
    found = exercise.problems(path, "quiz")
    assert any(problem in p for p in found), found
    assert all(p.startswith(f"{path}:") for p in found)


def test_lint_holds_the_kits_exercises_to_the_convention_and_every_step_asks_questions():
    manifest = manifest_mod.load(questions=True)
    for step in manifest.steps:
        asked = exercise.questions(step.exercise)
        assert len(asked) >= 3, step.id
        assert {q.kind for q in asked} >= {"choice"}, step.id
        assert exercise.problems(step.exercise, step.id) == []
        assert [c.name for c in step.checks][-len(asked):] == [q.id for q in asked]
        # the key's own answers pass, and each answer with feedback fails with exactly that feedback
        keyed = questions.key_answers(asked)
        for q in asked:
            assert questions.judge(q, keyed[q.id]) == (True, None), (step.id, q.id)
            for wrong, why in q.feedback.items():
                assert questions.judge(q, wrong) == (False, why), (step.id, q.id, wrong)


# -- judging and grading -------------------------------------------------------------------

@pytest.mark.parametrize("qid, given, right, why", [
    ("q1", "b", True, None),
    ("q1", " B) ", True, None),
    ("q1", "a", False, "that is `kill -9`"),
    ("q2", "sudo  Systemctl daemon-reload", True, None),
    ("q2", "`systemctl daemon-reload`", True, None),
    ("q2", "run a daemon reload", True, None),  # the pattern
    ("q2", "systemctl RESTART likes", False, "a restart uses the unit systemd already read"),
    ("q2", "reboot", False, None),
    ("q3", "so that a break-in stays small", True, None),
    ("q3", "  ", False, None),
])
def test_answers_are_judged_without_case_or_spaces_with_the_keys_feedback(tmp_path, qid, given, right, why):
    asked = {q.id: q for q in questions.read(page(tmp_path))[0]}
    assert questions.judge(asked[qid], given) == (right, why)


def graded(tmp_path, answers_text=None, transport=None, in_guest=False, points=1):
    """The results of the quiz's question checks, by name, over a fake guest."""
    step = step_of(tmp_path)
    if answers_text is not None:
        (tmp_path / "answers").mkdir(exist_ok=True)
        (tmp_path / "answers" / "quiz.toml").write_text(answers_text, encoding="utf-8")
    checks = questions.checks_for(step, points)
    settings = settings_of(tmp_path)
    settings.answers_in_guest = in_guest
    results = run_checks(checks, transport or FakeTransport(), settings)
    return step, checks, {c.name: results[c] for c in checks}


def test_right_answers_pass_and_a_wrong_one_says_why_without_the_answer(tmp_path):
    _, _, results = graded(tmp_path, 'q1 = "a"\nq2 = "systemctl daemon-reload"\nq3 = "less damage"\n')
    assert results["q1"].status == "failed"
    assert results["q1"].rationale == "'a' is not the answer to q1: that is `kill -9`"
    assert "SIGTERM" not in results["q1"].rationale + (results["q1"].hint or "")
    assert results["q2"].status == results["q3"].status == PASSED
    assert results["q3"].log == ["free-text answer: less damage"]


def test_a_missing_answers_file_fails_each_question_with_how_to_answer(tmp_path):
    _, _, results = graded(tmp_path)
    for result in results.values():
        assert result.status == "failed"
        assert result.rationale == "there is no answers file answers/quiz.toml yet"
        assert "`python -m lab answer quiz`" in result.hint


def test_an_unanswered_question_fails_with_how_to_answer(tmp_path):
    _, _, results = graded(tmp_path, 'q1 = "b"\n')
    assert results["q2"].rationale == "q2 is not answered yet in answers/quiz.toml"


@pytest.mark.parametrize("text, said", [
    ("q1 = b\n", "is not TOML"),
    ('q1 = ["b"]\n', "the answer q1 must be text in quotes"),
])
def test_a_damaged_answers_file_fails_in_one_line_and_stays_as_it_was(tmp_path, text, said):
    _, _, results = graded(tmp_path, text)
    assert said in results["q1"].rationale and "\n" not in results["q1"].rationale
    assert (tmp_path / "answers" / "quiz.toml").read_text() == text


def test_in_the_guest_the_answers_are_read_through_the_transport(tmp_path, monkeypatch):
    monkeypatch.setenv("LAB_FOLDER", "/home/student/my lab")
    import importlib

    import provision.facts

    importlib.reload(provision.facts)
    try:
        transport = FakeTransport({"cat '/home/student/my lab/answers/quiz.toml'": (0, 'q3 = "in the guest"\n')})
        _, _, results = graded(tmp_path, 'q3 = "on the host"\n', transport=transport, in_guest=True)
    finally:
        monkeypatch.delenv("LAB_FOLDER")
        importlib.reload(provision.facts)
    assert results["q3"].log[-1] == "free-text answer: in the guest"
    assert transport.commands  # read in the guest, not on the host


def test_practice_questions_are_graded_and_earn_nothing(tmp_path):
    step, checks, results = graded(tmp_path, 'q1 = "b"\nq2 = "x"\nq3 = "y"\n', points=0)
    report = StepReport(SimpleNamespace(id="quiz", title="A quiz"), [results[c.name] for c in checks])
    assert (report.score, report.max_score) == (0, 0)
    assert results["q2"].status == "failed"


def test_the_course_chooses_what_questions_earn(tmp_path):
    assert manifest_mod.COURSE_DEFAULTS["questions"] == "count"
    assert manifest_mod.QUESTION_POLICIES == ("count", "practice", "separate")


# -- questions = "separate": the questions' score apart from the deployment's ----------------

def quiz_report(tmp_path, separate=True, steps=1):
    """A run of the quiz step, as many times as steps: a deployment check worth 2 that passes, and
    the questions (q1 wrong), a score of their own when separate."""
    step = step_of(tmp_path)
    (tmp_path / "answers").mkdir(exist_ok=True)
    (tmp_path / "answers" / "quiz.toml").write_text('q1 = "a"\nq2 = "systemctl daemon-reload"\nq3 = "mine"\n',
                                                    encoding="utf-8")
    check = Registry()

    @check(points=2)
    def deployed(ctx):
        """the app is deployed"""

    deployed.step = "quiz"
    checks = [deployed, *questions.checks_for(step, 1, separate=separate)]
    results = run_checks(checks, FakeTransport(), settings_of(tmp_path))
    return Report([StepReport(step, [results[c] for c in checks]) for _ in range(steps)], guest="local://")


def test_separate_questions_are_a_score_of_their_own_and_still_fail_the_run(tmp_path):
    report = quiz_report(tmp_path)
    assert (report.score, report.max_score, report.questions_score, report.questions_max_score) == (2, 2, 2, 3)
    assert report.exit_code == 1  # q1 is wrong: the run's exit code means what it always did
    data = report.as_dict()
    step = data["steps"][0]
    assert (step["score"], step["max_score"], step["questions_score"], step["questions_max_score"]) == (2, 2, 2, 3)
    assert (data["questions_score"], data["questions_max_score"]) == (2, 3)
    assert [c["separate"] for c in step["checks"]] == [False, True, True, True]
    assert [c["points"] for c in step["checks"]] == [2, 0, 1, 1]

    counted = quiz_report(tmp_path, separate=False).as_dict()
    assert (counted["score"], counted["max_score"], counted["questions_score"], counted["questions_max_score"]) == \
        (4, 5, 0, 0)


def test_the_terminal_says_the_questions_score_apart(tmp_path):
    text = io.StringIO()
    Terminal(text).render(quiz_report(tmp_path, steps=2).as_dict())
    lines = text.getvalue().splitlines()
    assert lines.count("quiz: 2/2, questions: 2/3") == 2
    assert lines[-1] == "total: 4/4 points, questions: 4/6"
    counted = io.StringIO()
    Terminal(counted).render(quiz_report(tmp_path, separate=False).as_dict())
    assert "quiz: 4/5" in counted.getvalue().splitlines() and "questions:" not in counted.getvalue()


def test_json_keeps_both_scores_and_a_file_saved_before_them_still_renders(tmp_path):
    data = quiz_report(tmp_path).as_dict()
    again = formats.read_json(write(tmp_path / "run.json", formats.to_json(data)))
    assert again == data
    old = {key: value for key, value in data.items() if not key.startswith("questions_")}
    old["steps"] = [{k: v for k, v in step.items() if not k.startswith("questions_")} for step in data["steps"]]
    for step in old["steps"]:
        step["checks"] = [{k: v for k, v in c.items() if k != "separate"} for c in step["checks"]]
    old = formats.read_json(write(tmp_path / "old.json", formats.to_json(old)))
    text = io.StringIO()
    Terminal(text).render(old)
    assert "questions:" not in text.getvalue() + to_html(old)
    assert gradescope_of(old)["score"] == 2
    bad = {**data, "questions_score": "two"}
    with pytest.raises(BadResults, match="questions_score: expected a number"):
        check_results(bad)


def test_gradescope_counts_both_scores_in_its_one_total(tmp_path):
    data = quiz_report(tmp_path).as_dict()
    gradescope = gradescope_of(data)
    tests = gradescope["tests"]
    assert [(t["score"], t["max_score"], t["status"]) for t in tests] == [
        (2, 2, "passed"), (0, 1, "failed"), (1, 1, "passed"), (1, 1, "passed")]
    assert gradescope["score"] == sum(t["score"] for t in tests) == 4
    assert [t["tags"] for t in tests] == [["quiz"]] + [["quiz", "questions"]] * 3
    assert gradescope_of(quiz_report(tmp_path, separate=False).as_dict())["score"] == 4


def test_junit_keeps_the_questions_as_test_cases(tmp_path):
    junit = valid_junit(formats.to_junit(quiz_report(tmp_path).as_dict()))
    assert [case.get("name") for case in junit.findall(".//testcase")] == ["deployed", "q1", "q2", "q3"]
    assert len(junit.findall(".//failure")) == 1 and junit.get("tests") == "4"


def test_the_html_report_shows_the_questions_score_under_the_steps(tmp_path):
    html = to_html(quiz_report(tmp_path).as_dict())
    assert "Lab check: 2/2 points, questions: 2/3</h1>" in html
    assert '<span>questions</span><span>2/3</span>' in html
    assert 'aria-label="questions: 2 of 3 points"' in html and "width: 66.7%" in html
    counted = to_html(quiz_report(tmp_path, separate=False).as_dict())
    assert "Lab check: 4/5 points</h1>" in counted and 'class="questions"' not in counted


def test_a_course_whose_questions_are_separate(tmp_path, monkeypatch):
    monkeypatch.delenv("LAB_COURSE", raising=False)
    course = tmp_path / "course"
    course.mkdir()
    (course / "steps.toml").write_text(
        f'format_version = 1\nreplace = true\n\n[course]\nquestions = "separate"\n\n[[steps]]\nid = "good"\n'
        f'title = "A quiz"\nexercise = "{page(tmp_path)}"\nchecks = "{GOOD_CHECKS}"\n'
        f'solution = "{COURSE / "solutions" / "good.sh"}"\n', encoding="utf-8")
    # The step id is the fixture's own, whose check module other tests import too.
    step = manifest_mod.load(course=str(course), questions=True).steps[0]
    asked = [c for c in step.checks if c.name.startswith("q")]
    assert [(c.name, c.points, c.separate) for c in asked] == [("q1", 1, True), ("q2", 1, True), ("q3", 1, True)]
    assert (step.max_points, step.question_points) == (9, 3)
    assert not any(c.separate for c in step.checks if c not in asked)


def test_every_report_format_carries_the_question_checks(tmp_path):
    step, checks, results = graded(tmp_path, 'q1 = "a"\nq2 = "systemctl daemon-reload"\nq3 = "x < y & z"\n')
    data = Report([StepReport(step, [results[c.name] for c in checks])], guest="local://").as_dict()
    names = [c["name"] for c in data["steps"][0]["checks"]]
    assert names == ["q1", "q2", "q3"]
    junit = valid_junit(formats.to_junit(data))
    assert len(junit.findall(".//testcase")) == 3 and len(junit.findall(".//failure")) == 1
    tests = gradescope_of(data)["tests"]
    assert [t["status"] for t in tests] == ["failed", "passed", "passed"]
    assert "that is `kill -9`" in tests[0]["output"]
    html = to_html(data)
    assert "question q1: Which signal does a plain `kill` send?" in html and "x &lt; y &amp; z" in html
    assert json.loads(formats.to_json(data))["steps"][0]["checks"][2]["log"] == ["free-text answer: x < y & z"]


# -- python -m lab answer ------------------------------------------------------------------

def scripted(*typed):
    typed = list(typed)
    return lambda prompt: typed.pop(0)


def test_answer_asks_each_question_and_writes_the_file(tmp_path):
    root = tmp_path / "my lab"  # a lab folder with a space in its path
    root.mkdir()
    said = []
    code = answer_mod.answer(step_of(tmp_path), root, ask=scripted("c", "B", "sudo systemctl daemon-reload",
                                                                   "Ünïcode «answer»"), out=said.append)
    assert code == 0
    assert "   answer with one of the letters a, b" in said  # c is no option: asked again
    text = (root / "answers" / "quiz.toml").read_text(encoding="utf-8")
    assert questions.parse_answers(text, "x") == {"q1": "b", "q2": "sudo systemctl daemon-reload",
                                                  "q3": "Ünïcode «answer»"}


def test_enter_keeps_the_saved_answer(tmp_path):
    (tmp_path / "answers").mkdir()
    (tmp_path / "answers" / "quiz.toml").write_text('q1 = "a"\nq2 = "reboot"\nq3 = "kept"\n')
    answer_mod.answer(step_of(tmp_path), tmp_path, ask=scripted("b", "", ""), out=lambda line: None)
    saved = questions.parse_answers((tmp_path / "answers" / "quiz.toml").read_text(), "x")
    assert saved == {"q1": "b", "q2": "reboot", "q3": "kept"}


def test_a_damaged_answers_file_is_one_line_exit_2_and_nothing_lost(tmp_path, capsys):
    (tmp_path / "answers").mkdir()
    (tmp_path / "answers" / "quiz.toml").write_text("q1 = = b\n")
    assert answer_mod.answer(step_of(tmp_path), tmp_path, ask=scripted(), out=lambda line: None) == 2
    err = capsys.readouterr().err
    assert err.startswith("python -m lab answer: ") and err.count("\n") == 1 and "is not TOML" in err
    assert (tmp_path / "answers" / "quiz.toml").read_text() == "q1 = = b\n"


def test_input_that_ends_early_saves_nothing(tmp_path):
    def ends(prompt):
        raise EOFError

    assert answer_mod.answer(step_of(tmp_path), tmp_path, ask=ends, out=lambda line: None) == 1
    assert not (tmp_path / "answers").exists()


# -- the replay answers from the key -------------------------------------------------------

def test_the_replay_answers_from_the_key_so_the_questions_pass(tmp_path):
    said = []
    assert replay_mod.answer_from_key(step_of(tmp_path), tmp_path, out=said.append)
    assert any("answer 3 question(s) from the key" in line for line in said)
    _, _, results = graded(tmp_path)
    assert {r.status for r in results.values()} == {PASSED}


def test_the_replay_answers_before_the_steps_own_check(tmp_path, monkeypatch):
    step = step_of(tmp_path)
    seen = []

    class Runner:
        def __init__(self, settings):
            pass

        def runs_on_this_guest(self, action):
            return True

        def run(self, action):
            seen.append((action.text, (tmp_path / "answers" / "quiz.toml").exists()))
            return ""

        def finish(self):
            pass

    monkeypatch.setattr(replay_mod, "Replay", Runner)
    assert replay_mod.replay([(step, exercise.actions(step.exercise))], settings_of(tmp_path),
                             out=lambda line: None) == 0
    assert seen == [("python -m lab.check quiz", True)]


def test_a_check_of_several_steps_has_every_one_of_them_answered_first(tmp_path):
    manifest = manifest_mod.load(import_checks=False)
    step10 = manifest.step("step10")
    action = exercise.Action("x:1", "x:1", "host", "python -m lab.check step1..step10")
    assert [s.id for s in replay_mod._graded_steps(action, step10, manifest)] == manifest.ids()[:10]
    assert replay_mod._graded_steps(action, step10) == []  # without the manifest: its own id only
    own = exercise.Action("x:1", "x:1", "host", "python -m lab.check step10")
    assert replay_mod._graded_steps(own, step10) == [step10]


def test_the_dry_run_says_the_questions_are_answered_before_the_check():
    run = subprocess.run([sys.executable, "-m", "lab", "replay", "step6", "--dry-run"], cwd=REPO, capture_output=True,
                         text=True, timeout=60, env={**os.environ, "PYTHONIOENCODING": "utf-8"})
    lines = run.stdout.splitlines()
    at = next(i for i, line in enumerate(lines) if "host$ python -m lab.check step6" in line)
    assert "answer 4 question(s) from the key, in answers/step6.toml" in lines[at - 1]


def test_the_answer_command_on_an_ascii_console_in_a_folder_with_spaces(tmp_path):
    course = tmp_path / "a course"
    (course / "exercises").mkdir(parents=True)
    (course / "exercises" / "quiz.md").write_text(PAGE.replace("Why run", "Pourquoi « run »"), encoding="utf-8")
    (course / "steps.toml").write_text('format_version = 1\nreplace = true\n\n[[steps]]\nid = "quiz"\n'
                                       'title = "Un quiz"\nexercise = "exercises/quiz.md"\nchecks = "quiz.py"\n'
                                       'solution = "quiz.sh"\n', encoding="utf-8")
    root = tmp_path / "my lab"
    root.mkdir()
    run = subprocess.run([sys.executable, "-m", "lab", "answer", "quiz", "--course", str(course), "--root", str(root)],
                         cwd=tmp_path, input="b\nsystemctl daemon-reload\nà mon avis\n".encode(), capture_output=True,
                         timeout=60, env={**os.environ, "PYTHONIOENCODING": "ascii", "NO_COLOR": "1"})
    out = run.stdout.decode("ascii")  # every character the console can't show became "?"
    assert run.returncode == 0, out + run.stderr.decode("ascii", "replace")
    assert "q3. Pourquoi ? run ? the app as its own user?" in out
    saved = questions.parse_answers((root / "answers" / "quiz.toml").read_text(encoding="utf-8"), "x")
    assert saved["q1"] == "b" and saved["q2"] == "systemctl daemon-reload"
    # what the console could not decode is replaced, not a crash; the file itself is UTF-8 either way
    assert saved["q3"].endswith(" mon avis") and "à" not in saved["q3"]
