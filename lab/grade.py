"""python -m lab.grade: grade a whole class, each student's own guest, several at once.

    python -m lab.grade roster.csv                     every step, 8 students at a time, into grades/
    python -m lab.grade roster.csv --steps step1..step4 --jobs 16
    python -m lab.grade roster.csv --only alice,bob    grade these again; keep everyone else's row

The roster is a CSV file with a header: a `student` column, a `guest` column
(ssh://user@host:port?key=PATH, or local://, as for lab.check --guest) and any
others, which are copied into the gradebook. --out gets gradebook.csv, a row
per student, and a folder per student with results.json (as lab.check --json
prints it), report.html and gradescope.json.

Exit codes: 0 every student was graded (whatever their scores), 2 some
student could not be checked, a report could not be written, or a bad roster
or argument; 130 interrupted, 143 on SIGTERM (the gradebook keeps who was graded
by then).
"""

import argparse
import contextlib
import csv
import os
import queue
import sys
import tempfile
import threading
import time
import unicodedata
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from lab.core import manifest as manifest_mod
from lab.core.files import write_atomically
from lab.core.outcomes import CouldNotCheck
from lab.engine.results import COULD_NOT_CHECK, Report

GRADEBOOK = "gradebook.csv"
REQUIRED = ("student", "guest")
# The gradebook's columns after the roster's own and the steps' scores.
TAIL = ("total", "max", "status", "reason", "kit_solved")
GRADED = "graded"
# What each student's folder holds: file name -> how it is rendered from the results dictionary.
STUDENT_FILES = ("results.json", "report.html", "gradescope.json")
# Names Windows refuses for a file or folder, whatever the extension.
WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{n}" for n in range(1, 10)), *(f"LPT{n}" for n in range(1, 10))}


class RosterError(Exception):
    """A roster, gradebook or --only that cannot be used; the message is one line naming the file and line."""


@dataclass
class Student:
    name: str
    guest: str
    columns: dict  # the roster's own columns, as the roster spells them
    line: int
    folder: str  # a file name made from the name: the student's folder in --out


# --- the roster ---------------------------------------------------------------------------

def safe_name(name):
    """A file name for a student: letters, digits, '.', '-' and '_' kept, anything else '_'.

    "" when nothing usable is left (a name of only dots, say)."""
    name = unicodedata.normalize("NFC", name)
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in name).lstrip(".-")[:100]
    if safe.strip("_") == "":
        return ""
    if safe.split(".")[0].upper() in WINDOWS_RESERVED:
        safe = "_" + safe
    return safe


def read_roster(path, reserved=()):
    """The roster's header and its students, in order; raises RosterError naming file:line.

    reserved: column names the gradebook writes itself (the step ids and TAIL),
    which a roster column may not take."""
    from lab.transports import check_url

    rows = _read_csv(path)
    if not rows:
        raise RosterError(f"{path}:1: the file is empty; its first line must be a header such as student,guest")
    header_line, header = rows[0]
    header = [name.strip() for name in header]
    folded = [name.casefold() for name in header]
    for i, name in enumerate(header):
        if not name:
            raise RosterError(f"{path}:{header_line}: column {i + 1} of the header has no name")
        if folded.index(name.casefold()) != i:
            raise RosterError(f"{path}:{header_line}: the header has the column {name!r} twice")
        if name.casefold() in {r.casefold() for r in reserved}:
            raise RosterError(f"{path}:{header_line}: the column {name!r} is one the gradebook writes itself; "
                              f"rename it")
    missing = [c for c in REQUIRED if c not in folded]
    if missing:
        raise RosterError(f"{path}:{header_line}: the header has no {' and no '.join(repr(c) for c in missing)} "
                          f"column; it needs student and guest (found {', '.join(header)})")
    name_at, guest_at = folded.index("student"), folded.index("guest")

    students, by_name, by_folder = [], {}, {GRADEBOOK.casefold(): None}
    for line, row in rows[1:]:
        where = f"{path}:{line}"
        if len(row) > len(header):
            raise RosterError(f"{where}: {len(row)} values, but the header has {len(header)} columns; "
                              f"put a value that holds a comma in double quotes")
        row = row + [""] * (len(header) - len(row))
        name, guest = row[name_at].strip(), row[guest_at].strip()
        if not name:
            raise RosterError(f"{where}: no student name")
        if name in by_name:
            raise RosterError(f"{where}: {name!r} is already on line {by_name[name].line}; "
                              f"give each student one row")
        if not guest:
            raise RosterError(f"{where}: {name} has no guest address; give ssh://user@host:port?key=PATH")
        try:
            check_url(guest)  # every part of it, before any student is graded
        except CouldNotCheck as exc:
            raise RosterError(f"{where}: {name}: {exc.one_line()}") from None
        if urlsplit(guest).scheme == "vagrant":
            raise RosterError(f"{where}: {name}'s guest is {guest}: a class is graded over SSH; "
                              f"give ssh://user@host:port?key=PATH")
        folder = safe_name(name)
        if not folder:
            raise RosterError(f"{where}: {name!r} makes no usable file name; use letters or digits in it")
        if folder.casefold() in by_folder:
            other = by_folder[folder.casefold()]
            clash = (f"{other.name!r} (line {other.line})" if other else f"the {GRADEBOOK} file")
            raise RosterError(f"{where}: {name!r} and {clash} would share the file name {folder!r}; "
                              f"make the names differ by more than case or punctuation")
        student = Student(name, guest, {h: v for h, v in zip(header, row)}, line, folder)
        student.columns[header[name_at]], student.columns[header[guest_at]] = name, guest
        students.append(student)
        by_name[name] = by_folder[folder.casefold()] = student
    if not students:
        raise RosterError(f"{path}:{header_line}: no students below the header")
    return header, students


def _read_csv(path):
    """[(line number where the row starts, [values])] of the non-blank rows."""
    rows = []
    try:
        # utf-8-sig: Excel's "CSV UTF-8" starts with a byte order mark.
        with open(path, newline="", encoding="utf-8-sig") as f:
            # strict: a double quote never closed is an error, not the rest of the file in one value.
            reader = csv.reader(f, strict=True)
            ended = 0
            for row in reader:
                if any(value.strip() for value in row):
                    rows.append((ended + 1, row))
                ended = reader.line_num
    except FileNotFoundError:
        raise RosterError(f"{path}: there is no such file") from None
    except UnicodeDecodeError:
        raise RosterError(f"{path}: not UTF-8 text; save it as CSV UTF-8") from None
    except csv.Error as exc:
        raise RosterError(f"{path}:{ended + 1}: not CSV this tool can read ({exc}); is a double quote "
                          f"left open?") from None
    except OSError as exc:
        raise RosterError(f"{path}: cannot read it: {exc.strerror or exc}") from None
    return rows


def choose(students, only, roster):
    """The students --only names, in roster order; all of them without --only."""
    if only is None:
        return students
    names = [n.strip() for n in only.split(",") if n.strip()]
    if not names:
        raise RosterError("--only names no student; write --only alice,bob")
    known = {s.name for s in students}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise RosterError(f"--only: {roster} has no student {unknown[0]!r}")
    return [s for s in students if s.name in names]


# --- grading, several students at once ----------------------------------------------------

class _Abandoned(Exception):
    """Raised into a student's run once its time is up, to end it at the next check."""


def grade_all(students, settings_for, steps, shown, wanted, jobs, timeout, kit_policy=manifest_mod.DEFAULT_KIT_POLICY):
    """Yield (student, Report) as each student is done, grading at most jobs at a time.

    Each student runs in a daemon thread of their own, with their own transport.
    One whose run is not done within timeout seconds is reported as could not
    check and left behind: their thread is told to stop at its next check and
    can never delay the others or the exit of the program. On Ctrl-C (or SIGTERM)
    the checks still running are let finish, so that each puts its guest back.
    """
    from lab.engine.session import grade_guest

    waiting = deque(students)
    running = {}  # name -> (deadline, cancelled Event, thread)
    finished = queue.Queue()

    def work(student, cancelled):
        def stop_if_abandoned(_result):
            if cancelled.is_set():
                raise _Abandoned()

        try:
            report = grade_guest(settings_for(student), steps, shown, wanted, on_result=stop_if_abandoned,
                             kit_policy=kit_policy)
        except _Abandoned:
            return
        except Exception as exc:  # a bug met on one guest must not end the others' grading
            report = Report([], guest=student.guest,
                            fault=f"the checker crashed: {type(exc).__name__}: {exc}".rstrip(": "))
        finished.put((student, report))

    try:
        while waiting or running:
            while waiting and len(running) < jobs:
                student = waiting.popleft()
                cancelled = threading.Event()
                thread = threading.Thread(target=work, args=(student, cancelled), name=f"grade {student.name}",
                                          daemon=True)
                running[student.name] = (time.monotonic() + timeout, cancelled, thread)
                thread.start()
            first_deadline = min(deadline for deadline, _, _ in running.values())
            try:
                student, report = finished.get(timeout=max(0.0, first_deadline - time.monotonic()))
            except queue.Empty:
                now = time.monotonic()
                for student in [s for s in students if s.name in running and running[s.name][0] <= now]:
                    running.pop(student.name)[1].set()
                    yield student, Report([], guest=student.guest,
                                          fault=f"did not finish within {timeout:g} s: the guest may be hung "
                                                f"or very slow; grade them again with --only")
                continue
            # A student already given up on may still finish later; their result is not used.
            if running.pop(student.name, None) is not None:
                yield student, report
    finally:  # Ctrl-C, or the caller stopped early: whatever still runs stops at its next check
        for _, cancelled, _ in running.values():
            cancelled.set()
        _let_running_checks_finish([thread for _, _, thread in running.values()], steps)


def _let_running_checks_finish(threads, steps):
    """Wait, up to the longest time a check may take, for the threads still in a check: one
    stopped now would leave its change in the guest (a stopped service, a like it posted)."""
    alive = [thread for thread in threads if thread.is_alive()]
    if not alive:
        return
    grace = max((check.timeout for step in steps for check in step.checks), default=30)
    say(f"waiting up to {grace:g} s for {len(alive)} running check{'s' if len(alive) > 1 else ''} to put "
        f"{'their guests' if len(alive) > 1 else 'its guest'} back; Ctrl-C (or SIGTERM) again stops at once")
    end = time.monotonic() + grace
    for thread in alive:
        thread.join(max(0.0, end - time.monotonic()))


def _preload(students):
    """Import in this thread what the workers would otherwise all import at once for their
    first student: concurrent first imports of one module can deadlock or see it half made."""
    from lab.engine import runner, session  # noqa: F401  (the session imports the runner when it first grades)
    from lab.guest import system  # noqa: F401
    from lab.report import formats, html  # noqa: F401
    from lab.transports import transport_class

    for scheme in sorted({urlsplit(s.guest).scheme for s in students}):
        transport_class(f"{scheme}://")
    if any(urlsplit(s.guest).scheme == "ssh" for s in students):
        import paramiko  # noqa: F401  (ssh.py imports it when it connects)


# --- the gradebook and the report files ---------------------------------------------------

def possible_points(steps, guest):
    """The points a student's guest can earn in these steps: a check of other kinds of guest only
    (applies_to="vagrant") is not applicable on it and counts neither way, as in a graded run's
    max_score. So a student who could not be checked has the max of everyone graded beside them."""
    kind = urlsplit(guest).scheme
    return sum(c.points for s in steps for c in s.checks if c.applies_on(kind))


def grade_row(results, step_ids, max_points):
    """A student's grade columns of the gradebook, from their results dictionary; max_points is
    what their guest could earn (possible_points), the max of a student who could not be checked."""
    by_id = {step["id"]: step for step in results["steps"]}
    row = {sid: by_id[sid]["score"] if sid in by_id else "" for sid in step_ids}
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


def gradebook(header, students, new_rows, old_header, old_rows, step_ids, manifest_ids, keep_others):
    """The gradebook's columns and rows: the roster's students in order, each with the row
    graded now, else (keep_others) their row from before; then, with keep_others, the
    earlier rows of students no longer on the roster."""
    old_steps = [h for h in old_header if h in manifest_ids] if keep_others else []
    steps = [sid for sid in manifest_ids if sid in step_ids or sid in old_steps]
    columns = header + steps + list(TAIL)
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
    return problems


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


# --- progress -----------------------------------------------------------------------------

class Progress:
    """On a terminal, one line rewritten in place; elsewhere (a log, a pipe), a line per student."""

    def __init__(self, stream, total):
        self.stream, self.total = stream, total
        self.live = stream.isatty()
        self.done = self.faults = 0
        self.width = 0

    def start(self):
        if self.live:
            self._rewrite()

    def finished(self, student, results):
        self.done += 1
        if results["fault"]:
            self.faults += 1
        if self.live:
            self._rewrite()
            return
        grade = (f"could not check: {results['fault']}" if results["fault"]
                 else f"{results['score']}/{results['max_score']} points")
        print(f"[{self.done}/{self.total}] {student.name}: {grade}", file=self.stream, flush=True)

    def end(self):
        if self.live:
            print(file=self.stream, flush=True)

    def _rewrite(self):
        line = f"graded {self.done}/{self.total}, {self.faults} could not be checked"
        # Spaces over what is left of a longer line before, with no terminal codes.
        self.stream.write("\r" + line.ljust(self.width))
        self.stream.flush()
        self.width = len(line)


# --- the command --------------------------------------------------------------------------

def say(message):
    print(f"lab.grade: {message}", file=sys.stderr, flush=True)


def parse_args(argv):
    def count(text):
        if not text.isdigit() or int(text) < 1:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of 1 or more")
        return int(text)

    def seconds(text):
        try:
            value = float(text)
        except ValueError:
            value = 0
        if not value > 0 or value == float("inf"):
            raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds above 0")
        return value

    parser = argparse.ArgumentParser(prog="python -m lab.grade", description=__doc__.split("\n\n")[0],
                                     epilog="\n\n".join(__doc__.split("\n\n")[1:]),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("roster", metavar="ROSTER", help="a CSV file with student and guest columns")
    parser.add_argument("--out", metavar="DIR", type=Path, default=Path("grades"),
                        help="where the gradebook and the students' folders go (default: %(default)s)")
    parser.add_argument("--steps", default="all", metavar="STEPS",
                        help="the steps to grade, as lab.check takes them, commas between: step1..step4,step6 "
                             "(default: all)")
    parser.add_argument("--course", metavar="DIR", default=os.environ.get("LAB_COURSE"),
                        help="a course folder whose steps.toml adds or replaces steps (default: $LAB_COURSE)")
    parser.add_argument("--jobs", type=count, default=8, metavar="N",
                        help="students graded at once (default: %(default)s)")
    parser.add_argument("--timeout", type=seconds, default=900.0, metavar="SECONDS",
                        help="the most one student's grading may take; then they are could not check "
                             "(default: %(default)g)")
    parser.add_argument("--only", metavar="NAMES",
                        help="grade only these students (alice,bob); everyone else's row is kept as it was")
    parser.add_argument("--debug", action="store_true", help="show the traceback of a crash of this tool")
    return parser.parse_args(argv)


def main(argv=None):
    from lab.engine.console import prepared, terminate_as_interrupt

    # paramiko's own log stays off stderr (and the progress line): lab.transports.ssh sees to it.
    with prepared(), terminate_as_interrupt():
        return _graded(sys.argv[1:] if argv is None else argv)


def _graded(argv):
    args = parse_args(argv)
    try:
        return _main(args)
    except (RosterError, manifest_mod.ManifestError) as exc:
        say(str(exc))
        return 2
    except KeyboardInterrupt as exc:  # before any student was graded (once they are, _main handles it)
        from lab.engine.console import exit_code

        say("interrupted; nothing was graded")
        return exit_code(exc)
    except Exception as exc:  # a bug in this tool: one line, and the traceback on request
        if args.debug:
            raise
        say(f"internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback)")
        return 2


def _main(args):
    from lab.engine.context import Settings

    manifest = manifest_mod.load(course=args.course)
    steps = manifest.select([s.strip() for s in args.steps.split(",") if s.strip()])
    step_ids = [s.id for s in steps]
    header, students = read_roster(args.roster, reserved=step_ids + list(TAIL))
    chosen = choose(students, args.only, args.roster)
    out = args.out
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RosterError(f"--out {out}: cannot make the folder: {exc.strerror or exc}") from None
    book = out / GRADEBOOK
    try:
        old_header, old_rows = read_gradebook(book)
    except RosterError:
        if args.only:
            raise
        old_header, old_rows = [], {}  # graded anew, everyone: it is replaced whole
    _preload(chosen)

    wanted = [c for s in steps for c in s.checks]
    shown = {s.id: list(s.checks) for s in steps}
    stream = sys.stdout  # the real one: checks' prints are captured while they run
    progress = Progress(stream, len(chosen))
    new_rows, problems, faults = {}, [], []
    interrupted = None
    with tempfile.TemporaryDirectory(prefix="lab-grade-", ignore_cleanup_errors=True) as work:
        # A lab folder of their own per student: a check that leaves a file there meets nobody else's.
        def settings_for(student):
            return Settings(root=Path(work) / student.folder, guest_url=student.guest, course=args.course)

        progress.start()
        try:
            # closing(): the wait for running checks, in grade_all's finally, happens here and not
            # when the generator is collected, so a second Ctrl-C there is caught below too.
            with contextlib.closing(grade_all(chosen, settings_for, steps, shown, wanted, args.jobs, args.timeout,
                                              kit_policy=manifest.course["kit_solutions"])) as graded:
                for student, report in graded:
                    results = report.as_dict()
                    problems += write_student(out, student, results)
                    new_rows[student.name] = grade_row(results, step_ids, possible_points(steps, student.guest))
                    if results["fault"]:
                        faults.append((student, results["fault"]))
                    progress.finished(student, results)
        except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM (console.Terminated): keep who was graded
            interrupted = exc
        progress.end()

    columns, rows = gradebook(header, students, new_rows, old_header, old_rows, step_ids, manifest.ids(),
                              keep_others=bool(args.only) or interrupted is not None)
    try:
        write_gradebook(book, columns, rows)
    except OSError as exc:
        problems.append(f"cannot write {book}: {exc.strerror or exc}")
    if progress.live:  # the lines per student said it already elsewhere
        for student, fault in faults:
            print(f"{student.name}: could not check: {fault}", file=stream)
    graded = len(new_rows) - len(faults)
    print(f"{graded} graded, {len(faults)} could not be checked, of {len(chosen)}: {book}", file=stream, flush=True)
    for problem in problems:
        say(problem)
    if interrupted is not None:
        from lab.engine.console import Terminated, exit_code

        left = [s.name for s in chosen if s.name not in new_rows]
        how = "terminated (SIGTERM)" if isinstance(interrupted, Terminated) else "interrupted"
        say(f"{how}: {len(left)} not graded; grade them with --only {','.join(left)}")
        return exit_code(interrupted)
    return 2 if faults or problems else 0


if __name__ == "__main__":
    sys.exit(main())
