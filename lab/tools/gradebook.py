"""The gradebook of `python -m lab.grade`: a row per student, read back to keep the rows
--only leaves alone, written as spreadsheets read it safely; and each student's folder
of reports beside it."""

import csv
from urllib.parse import urlsplit

from lab.core import questions
from lab.core.files import write_atomically
from lab.engine.results import COULD_NOT_CHECK
from lab.tools.roster import RosterError

GRADEBOOK = "gradebook.csv"
# The gradebook's columns after the roster's own and the steps' scores.
TAIL = ("total", "max", "status", "reason", "kit_solved")
# Where the course keeps the questions' score apart (questions = "separate"): a column beside each
# step with questions, "step6.questions" (no step id has a dot), and the questions' total and max
# beside the deployment's.
QUESTIONS_TAIL = ("questions_total", "questions_max")
GRADED = "graded"
# What each student's folder holds: file name -> how it is rendered from the results dictionary.
STUDENT_FILES = ("results.json", "report.html", "gradescope.json")
# And the student's free-text answers to the concept questions, for the instructor to read.
FREE_TEXT_FILE = "free-text.md"


def possible_points(steps, guest, questions=False):
    """The points a student's guest can earn in these steps: a check of other kinds of guest only
    (applies_to="vagrant") is not applicable on it and counts neither way, as in a graded run's
    max_score. So a student who could not be checked has the max of everyone graded beside them.
    With questions, the points of the questions that are a score of their own instead."""
    kind = urlsplit(guest).scheme
    return sum(c.points for s in steps for c in s.checks if c.applies_on(kind) and c.separate == questions)


def questions_column(step_id):
    """The gradebook's column of a step's questions' own score."""
    return f"{step_id}.questions"


def grade_row(results, step_ids, max_points, questions_max=None):
    """A student's grade columns of the gradebook, from their results dictionary; max_points is
    what their guest could earn (possible_points), the max of a student who could not be checked.
    questions_max, where the course keeps the questions' score apart, is the same of that score,
    and the row then has its columns too."""
    by_id = {step["id"]: step for step in results["steps"]}
    row = {sid: by_id[sid]["score"] if sid in by_id else "" for sid in step_ids}
    if questions_max is not None:
        row.update({questions_column(sid): by_id[sid]["questions_score"] if sid in by_id else ""
                    for sid in step_ids})
        row.update(questions_total="" if results["fault"] else results["questions_score"],
                   questions_max=questions_max if results["fault"] else results["questions_max_score"])
    if results["fault"]:
        row.update(total="", max=max_points, status=COULD_NOT_CHECK, reason=results["fault"], kit_solved="")
        return row
    stuck = [check for step in results["steps"] for check in step["checks"] if check["status"] == COULD_NOT_CHECK]
    reason = ""
    if stuck:
        first = stuck[0]
        what = "1 check" if len(stuck) == 1 else f"{len(stuck)} checks"
        reason = f"{what} could not be checked, first {first['step']}.{first['name']}: {first['rationale']}"
    # Flagged unless the course counts them as the student's own (kit_solutions = "count").
    # A results dictionary saved before the kit recorded solved steps has no kit_solved: .get, not [].
    solved = [step["id"] for step in results["steps"] if step.get("kit_solved") and step.get("kit_policy") != "count"]
    row.update(total=results["score"], max=results["max_score"], status=GRADED, reason=reason,
               kit_solved=" ".join(solved))
    return row


def read_gradebook(path):
    """(header, {student: row}) of a gradebook this tool wrote; ([], {}) if there is none."""
    if not path.exists():
        return [], {}
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            header = list(reader.fieldnames or [])
            name = next((h for h in header if h.casefold() == "student"), None)
            if name is None or "status" not in header:
                raise RosterError(f"{path}: not a gradebook lab.grade wrote (it has no student and status "
                                  f"columns); move it away, or grade everyone without --only")
            return header, {row[name]: row for row in reader}
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        why = getattr(exc, "strerror", None) or exc
        raise RosterError(f"{path}: cannot read it: {why}; move it away, or grade everyone without --only") \
            from None


def gradebook(header, students, new_rows, old_header, old_rows, step_ids, manifest_ids, keep_others,
              question_steps=()):
    """The gradebook's columns and rows: the roster's students in order, each with the row
    graded now, else (keep_others) their row from before; then, with keep_others, the
    earlier rows of students no longer on the roster. question_steps: the steps whose
    questions are a score of their own, which get a column each and the questions' totals."""
    old_steps = [h for h in old_header if h in manifest_ids] if keep_others else []
    steps = [sid for sid in manifest_ids if sid in step_ids or sid in old_steps]
    old_questions = [sid for sid in old_steps if questions_column(sid) in old_header]
    asked = [sid for sid in steps if sid in question_steps or sid in old_questions]
    columns = header
    for sid in steps:
        columns = columns + [sid] + ([questions_column(sid)] if sid in asked else [])
    columns += list(TAIL[:2]) + (list(QUESTIONS_TAIL) if asked else []) + list(TAIL[2:])
    name_column = header[[h.casefold() for h in header].index("student")]
    rows, on_roster = [], set()
    # A gradebook read back has its names as written: "'=x" for a student the roster calls "=x".
    old_rows = {spreadsheet_text(name): row for name, row in old_rows.items()}
    for student in students:
        name = spreadsheet_text(student.name)
        on_roster.add(name)
        if student.name in new_rows:
            rows.append({**student.columns, **new_rows[student.name]})
        elif keep_others and name in old_rows:
            # The roster says who they are now; the old row, what they scored.
            rows.append({**old_rows[name], **student.columns})
    if keep_others:
        for name, row in old_rows.items():
            if name not in on_roster:
                rows.append({name_column: name, **row})
    return columns, rows


def write_student(out, student, results):
    """The student's folder: results.json, report.html, gradescope.json. Returns the problems, one line each."""
    from lab.report.formats import to_gradescope, to_json
    from lab.report.html import to_html

    folder = out / student.folder
    problems = []
    try:
        folder.mkdir(exist_ok=True)
    except OSError as exc:
        return [f"cannot make {folder}: {exc.strerror or exc}"]
    for name, render in zip(STUDENT_FILES, (to_json, to_html, to_gradescope)):
        try:
            write_atomically(folder / name, render(results) + ("\n" if name.endswith(".json") else ""))
        except OSError as exc:
            problems.append(f"cannot write {folder / name}: {exc.strerror or exc}")
    answers = questions.free_text_answers(results)
    if answers:
        try:
            write_atomically(folder / FREE_TEXT_FILE, free_text_page(student.name, answers))
        except OSError as exc:
            problems.append(f"cannot write {folder / FREE_TEXT_FILE}: {exc.strerror or exc}")
    return problems


def free_text_page(name, answers):
    """A student's free-text answers as markdown: a heading per question, the answer quoted below."""
    parts = [f"# Free-text answers of {name}\n"]
    for step_id, question, answer in answers:
        quoted = "\n".join(f"> {line}" if line else ">" for line in answer.splitlines() or [""])
        parts.append(f"## {step_id}, {question}\n\n{quoted}\n")
    return "\n".join(parts)


# What makes a spreadsheet (Excel, LibreOffice, Google Sheets) read a cell as a formula: a roster's
# "=HYPERLINK(...)" or a guest's answer quoted in a reason would run when the gradebook is opened.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_text(value):
    """A cell that a spreadsheet shows as the text it is: one that would start a formula gets a
    leading ' (OWASP's advice for CSV injection), which spreadsheets read as "this is text".
    Numbers are left as numbers; a cell already neutralised is left as it is."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def write_gradebook(path, columns, rows):
    import io

    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=[spreadsheet_text(c) for c in columns], extrasaction="ignore",
                            restval="")
    writer.writeheader()
    writer.writerows({spreadsheet_text(k): spreadsheet_text(v) for k, v in row.items()} for row in rows)
    # With a BOM, so that Excel on Windows reads the names as UTF-8 (José, not JosÃ©).
    write_atomically(path, text.getvalue(), encoding="utf-8-sig")
