"""Concept questions: the one reader of an exercise's questions and of a student's answers.

A step's exercise ends with a section `## Check your understanding` (SECTION).
Each question starts a paragraph with its id in bold; a multiple-choice
question lists its options as `- a) ...`; right after the question, an HTML
comment holds its key, which GitHub does not show:

    **q1.** Which signal does `kill PID` send?

    - a) SIGKILL
    - b) SIGTERM

    <!-- key q1: b
    if a: that is `kill -9`; plain kill asks the program to end
    -->

    **q2.** Which command makes systemd read a changed unit file?

    <!-- key q2: accept systemctl daemon-reload
    match: daemon-?reload
    if systemctl restart likes: a restart runs the unit as systemd last read it
    -->

    **q3.** In your own words: why ... ?

    <!-- key q3: free -->

The key's first line says the answer: a choice's letter; `accept` and the
answers accepted, separated by `|`; or `free`, a free-text answer the checker
doesn't grade (answering it is enough) and the instructor reads. A short
answer's `match: REGEX` lines accept what the regular expression finds in the
answer (lower case, spaces collapsed). Each `if WRONG: why` line is the
feedback a student gets for that wrong answer (a choice's letter, or a short
answer). Short
answers compare without case, spaces, quotes or backticks, and without a
leading sudo, so "sudo Systemctl  Daemon-Reload" is "systemctl daemon-reload".

The student's answers are a TOML file per step in the lab folder,
answers/step6.toml (answers_file), one `q1 = "b"` per question, which
`python -m lab answer step6` writes. Standard library only, as all of lab/core:
the checker grades with this reader, and `python -m lab lint` reports the
problems it finds.
"""

import re
from dataclasses import dataclass, field
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python < 3.11
    import tomli as tomllib

SECTION = "## Check your understanding"
# How a free-text answer is kept in its check's log, where lab.grade finds it for the instructor.
FREE_TEXT_NOTE = "free-text answer: "
ANSWERS_FOLDER = "answers"
QUESTION = re.compile(r"^\*\*(?P<id>q\d+)\.\*\*\s+(?P<text>\S.*)$")
CHOICE = re.compile(r"^[-*]\s+(?P<letter>[a-z])\)\s+(?P<text>\S.*)$")
KEY = re.compile(r"^<!--\s*key\s+(?P<id>\S+?):\s*(?P<value>.*?)\s*(?P<end>-->)?\s*$")
FEEDBACK = re.compile(r"^if\s+(?P<wrong>[^:]+?):\s*(?P<why>\S.*)$")


class DamagedAnswers(ValueError):
    """An answers file that cannot be read; the message is one line saying which file and why."""


@dataclass
class Question:
    id: str
    line: int  # where its bold id is, counted from 1
    text: str  # the question as the student reads it, its lines joined
    choices: dict = field(default_factory=dict)  # letter -> the option's text
    kind: str = None  # "choice", "short" or "free", from its key; None: it has no key
    answer: str = None  # a choice question's letter
    accept: list = field(default_factory=list)  # a short answer's accepted answers
    patterns: list = field(default_factory=list)  # and the regular expressions that accept one
    feedback: dict = field(default_factory=dict)  # a wrong answer (a letter, or normalised) -> why
    key_line: int = None


def normalised(text):
    """A short answer as compared: no case, no spaces, no backticks or quotes, no leading sudo."""
    return re.sub(r"[\s`\"']", "", re.sub(r"^\W*sudo\s+", "", str(text))).lower()


def read(path, shown=None):
    """(the questions of one exercise, in order, and the problems found reading them, each
    'file:line: what', the file as shown). A page without the section has no questions."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return [], []  # told by exercise lint, which reads the page first
    start = next((i for i, line in enumerate(lines) if line.strip() == SECTION), None)
    if start is None:
        return [], []
    found, problems, question, key = [], [], None, None
    where = lambda number: f"{shown or path}:{number}"  # noqa: E731
    for number, raw in enumerate(lines[start + 1:], start + 2):
        line = raw.strip()
        if key is not None:  # inside a key comment, until its -->
            closing = line.endswith("-->")
            body = line[:-3].strip() if closing else line
            if body:
                match = FEEDBACK.match(body)
                if body.startswith("match:"):
                    key.patterns.append(body[len("match:"):].strip())
                elif match:
                    wrong = match.group("wrong").strip()
                    key.feedback[wrong if key.kind == "choice" else normalised(wrong)] = match.group("why")
                else:
                    problems.append(f"{where(number)}: a key's further lines are `if WRONG: why` or `match: REGEX`, "
                                    f"not {body!r}")
            if closing:
                key = None
            continue
        if line.startswith("## "):
            break  # the section ends where the next one starts
        match = QUESTION.match(line)
        if match:
            question = Question(match.group("id"), number, match.group("text"))
            found.append(question)
            continue
        match = KEY.match(line)
        if match:
            if question is None or question.id != match.group("id") or question.kind is not None:
                problems.append(f"{where(number)}: a key for {match.group('id')} must follow that question "
                                "right after its text and options")
                key = None if match.group("end") else Question("", number, "")  # read past it
                continue
            _key(question, match.group("value"), number, problems, where)
            key = None if match.group("end") else question
            continue
        if line.startswith("<!--"):
            problems.append(f"{where(number)}: a comment in the questions section must be a key, "
                            "`<!-- key q1: ...`")
            continue
        if question is None or question.kind is not None or not line:
            continue
        choice = CHOICE.match(line)
        if choice:
            if choice.group("letter") in question.choices:
                problems.append(f"{where(number)}: {question.id} has two options {choice.group('letter')})")
            question.choices[choice.group("letter")] = choice.group("text")
        elif not question.choices:
            question.text += " " + line
    if key is not None:
        problems.append(f"{where(key.key_line or key.line)}: this key's comment is never closed with -->")
    return found, problems + _problems(found, where)


def _key(question, value, number, problems, where):
    question.key_line = number
    if value == "free":
        question.kind = "free"
    elif value.startswith("accept"):
        question.kind = "short"
        question.accept = [a.strip() for a in value[len("accept"):].split("|") if a.strip()]
    else:
        question.kind = "choice"
        question.answer = value


def _problems(found, where):
    problems, seen = [], set()
    for q in found:
        if q.id in seen:
            problems.append(f"{where(q.line)}: the question id {q.id} is used twice on this page")
        seen.add(q.id)
        if q.kind is None:
            problems.append(f"{where(q.line)}: {q.id} has no key; put `<!-- key {q.id}: ... -->` right after it")
            continue
        if q.kind == "choice":
            if len(q.choices) < 2:
                problems.append(f"{where(q.key_line)}: {q.id}'s key {q.answer!r} is a choice, and the question "
                                "has fewer than two options `- a) ...`; a short answer's key starts with accept")
            elif q.answer not in q.choices:
                problems.append(f"{where(q.key_line)}: {q.id}'s key names {q.answer!r}, which is none of its "
                                f"options ({', '.join(q.choices)})")
            for letter in q.feedback:
                if letter not in q.choices or letter == q.answer:
                    problems.append(f"{where(q.key_line)}: {q.id} has feedback for {letter!r}, which is not one of "
                                    "its wrong options")
        elif q.choices:
            problems.append(f"{where(q.key_line)}: {q.id} has options, so its key is one letter, not {q.kind}")
        if q.kind == "short":
            if not q.accept:
                problems.append(f"{where(q.key_line)}: {q.id}'s key accepts no answer; write `accept A | B`")
            for pattern in q.patterns:
                try:
                    re.compile(pattern)
                except re.error as exc:
                    problems.append(f"{where(q.key_line)}: {q.id}'s match: {pattern} is no regular expression: {exc}")
            for wrong in q.feedback:
                if judge(q, wrong)[0]:
                    problems.append(f"{where(q.key_line)}: {q.id} has feedback for {wrong!r}, which it accepts")
        if q.kind == "free" and q.feedback:
            problems.append(f"{where(q.key_line)}: {q.id} is free text, which gets no feedback")
        if q.kind != "short" and q.patterns:
            problems.append(f"{where(q.key_line)}: {q.id} is not a short answer, so no match: lines")
    return problems


def judge(question, answer):
    """(whether the answer is right, the key's feedback for it or None). A free-text answer is
    right when there is one."""
    answer = str(answer).strip()
    if question.kind == "free":
        return bool(answer), None
    if question.kind == "choice":
        letter = answer.lower().rstrip(")").strip()
        return letter == question.answer, question.feedback.get(letter)
    given = normalised(answer)
    if any(normalised(accepted) == given for accepted in question.accept):
        return True, None
    for pattern in question.patterns:
        try:
            if re.search(pattern, " ".join(answer.lower().split())):
                return True, None
        except re.error:
            continue  # lint says so
    return False, question.feedback.get(given)


def key_answers(questions):
    """The answers the key gives, as a student would write them: what the replay answers.
    A free-text question gets a line saying so."""
    answers = {}
    for q in questions:
        if q.kind == "choice":
            answers[q.id] = q.answer
        elif q.kind == "short":
            answers[q.id] = q.accept[0]
        elif q.kind == "free":
            answers[q.id] = "(answered by the replay, from the key)"
    return answers


def free_text_answers(results):
    """(step id, the question as the student read it, the answer) of each free-text answer in a
    results dictionary: what lab.grade collects for the instructor."""
    return [(check["step"], check["description"], line[len(FREE_TEXT_NOTE):])
            for step in results["steps"] for check in step["checks"]
            for line in check["log"] if line.startswith(FREE_TEXT_NOTE)]


def answers_file(step_id):
    """Where a step's answers are, relative to the lab folder: answers/step6.toml."""
    return f"{ANSWERS_FOLDER}/{step_id}.toml"


def parse_answers(text, where):
    """The answers in an answers file's text, {question id: answer as text}; DamagedAnswers, one
    line naming where, when it is not TOML of text values."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DamagedAnswers(f"{where} is not TOML ({exc}); fix it, or delete it and answer again") from None
    wrong = [k for k, v in data.items() if not isinstance(v, (str, int))]
    if wrong:
        raise DamagedAnswers(f"{where}: the answer {wrong[0]} must be text in quotes, e.g. {wrong[0]} = \"b\"")
    return {k: str(v) for k, v in data.items()}


# --- the checks that grade a step's answers ------------------------------------------------

def checks_for(step, points=1, separate=False):
    """One check per question of the step's exercise, named by the question's id, worth points
    each (0: the course's questions are practice, graded with feedback, worth nothing); with
    separate, their points are the questions' score, apart from the step's."""
    from lab.core.registry import Check

    made = []
    for question in read(step.exercise)[0]:
        if question.kind is None:
            continue  # lint says so; the student is not graded on a question without a key
        check = Check(_grader(step.id, question), points, (), 30)
        check.question = question
        check.step = step.id
        check.separate = separate
        made.append(check)
    return made


def _grader(step_id, question):
    def grade(ctx):
        _grade(ctx, step_id, question)

    grade.__name__ = question.id
    text = question.text if len(question.text) <= 90 else question.text[:87].rstrip() + "..."
    grade.__doc__ = f"question {question.id}: {text}"
    return grade


def _grade(ctx, step_id, question):
    from lab.core.outcomes import Fail

    answers = read_answers(ctx, step_id)
    answer = answers.get(question.id, "")
    if not str(answer).strip():
        raise Fail(f"{question.id} is not answered yet in {answers_file(step_id)}",
                   hint=f"answer it with `python -m lab answer {step_id}`")
    right, why = judge(question, answer)
    if question.kind == "free":
        # The instructor reads it in the results (lab.grade's per-student report); the student sees it kept.
        ctx.note(FREE_TEXT_NOTE + answer)
        return
    if not right:
        said = f"{answer.strip()!r} is not the answer to {question.id}"
        raise Fail(f"{said}: {why}" if why else said,
                   hint=f"read the exercise again, then `python -m lab answer {step_id}`")


def read_answers(ctx, step_id):
    """The step's answers, read from the lab folder the run grades: on the student's computer for
    lab.check, in the guest (through the transport) when Settings.answers_in_guest, as for lab.grade.
    No file is no answers; a damaged one fails the question with its one line."""
    from lab.core.outcomes import Fail

    relative = answers_file(step_id)
    if getattr(ctx.settings, "answers_in_guest", False):
        import importlib

        from lab.core.registry import DEPLOYMENT_FACTS

        where = f"{importlib.import_module(DEPLOYMENT_FACTS).LAB_FOLDER}/{relative}"
        result = ctx.guest.run_expect((0, 1), "cat %s", where)  # 1: no such file
        text = result.stdout if result.ok else None
    else:
        where = Path(ctx.settings.root) / relative
        try:
            text = where.read_text(encoding="utf-8")
        except FileNotFoundError:
            text = None
        except (OSError, UnicodeDecodeError) as exc:
            raise Fail(f"cannot read {where}: {exc}", hint="save it as UTF-8 text, or delete it and answer "
                       f"again with `python -m lab answer {step_id}`") from None
    if text is None:
        raise Fail(f"there is no answers file {relative} yet",
                   hint=f"answer the questions at the end of the exercise with `python -m lab answer {step_id}`")
    try:
        return parse_answers(text, where)
    except DamagedAnswers as exc:
        raise Fail(str(exc), hint=f"`python -m lab answer {step_id}` writes it afresh") from None
