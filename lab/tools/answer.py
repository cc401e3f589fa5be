"""python -m lab answer step6: ask a step's concept questions in the terminal and save the answers.

The answers go to answers/step6.toml in the lab folder (lab/core/questions.py
reads them), written in one step: an interrupted run (Ctrl-C, a closed
terminal) leaves the file as it was. Enter keeps the answer already saved, so
a student can come back and change one answer only. A damaged answers file is
one line and exit code 2, and stays as it is for the student to fix.
"""

import sys

from lab.core import questions as questions_mod
from lab.core.files import write_atomically


def answer(step, root, ask=input, out=print):
    """Ask step's questions; write root/answers/<step>.toml. Returns the exit code."""
    questions = [q for q in questions_mod.read(step.exercise)[0] if q.kind]
    if not questions:
        out(f"{step.id} has no questions to answer")
        return 0
    path = root / questions_mod.answers_file(step.id)
    try:
        saved = questions_mod.parse_answers(path.read_text(encoding="utf-8"), path) if path.exists() else {}
    except (questions_mod.DamagedAnswers, OSError, UnicodeDecodeError) as exc:
        print(f"python -m lab answer: {exc}", file=sys.stderr)
        return 2
    answers = dict(saved)
    out(f"{step.id}: {step.title}. {len(questions)} question(s); Enter keeps the answer in brackets.")
    try:
        for question in questions:
            answers[question.id] = _ask(question, saved.get(question.id, ""), ask, out)
    except (EOFError, KeyboardInterrupt):
        out("\nnothing saved: the answers file is as it was")
        return 130 if sys.exc_info()[0] is KeyboardInterrupt else 1
    return save(root, step.id, answers, out)


def save(root, step_id, answers, out=print):
    """Write a step's answers file, as `answer` does; the replay writes the key's answers through here."""
    import tomli_w

    path = root / questions_mod.answers_file(step_id)
    path.parent.mkdir(exist_ok=True)
    text = f"# Your answers to {step_id}'s questions; `python -m lab answer {step_id}` asks them again.\n"
    write_atomically(path, text + tomli_w.dumps(answers, multiline_strings=True))
    out(f"saved in {path}; `python -m lab.check {step_id}` grades them")
    return 0


def _ask(question, saved, ask, out):
    out("")
    out(f"{question.id}. {question.text}")
    for letter, text in question.choices.items():
        out(f"   {letter}) {text}")
    if question.kind == "choice":
        prompt = f"your choice ({', '.join(question.choices)})"
    elif question.kind == "short":
        prompt = "your answer (a few words)"
    else:
        prompt = "your answer (free text, one line; your instructor reads it)"
    while True:
        given = ask(f"{prompt}{f' [{saved}]' if saved else ''}: ").strip() or saved
        if question.kind != "choice" or given.lower() in question.choices or (not given and not saved):
            return given.lower() if question.kind == "choice" else given
        out(f"   answer with one of the letters {', '.join(question.choices)}")


def main(args):
    import io

    from lab.core import manifest as manifest_mod
    from lab.core.labfolder import find_lab_root

    if isinstance(sys.stdin, io.TextIOWrapper):
        # What a console in another encoding sends that this one can't decode becomes U+FFFD, not a crash.
        sys.stdin.reconfigure(errors="replace")

    try:
        manifest = manifest_mod.load(course=args.course, import_checks=False)
        step = manifest.step(args.step)
        root = find_lab_root(args.root)
    except (manifest_mod.ManifestError, ValueError) as exc:
        print(f"python -m lab answer: {exc}", file=sys.stderr)
        return 2
    return answer(step, root)
