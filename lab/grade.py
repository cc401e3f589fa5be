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
import os
import sys
import tempfile
from pathlib import Path

from lab.core import manifest as manifest_mod
from lab.tools.gradebook import (
    GRADEBOOK,
    QUESTIONS_TAIL,
    TAIL,
    grade_row,
    gradebook,
    possible_points,
    questions_column,
    read_gradebook,
    write_gradebook,
    write_student,
)
from lab.tools.grading import Progress, grade_all, preload, say
from lab.tools.roster import RosterError, choose, read_roster


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

    manifest = manifest_mod.load(course=args.course, questions=True)
    steps = manifest.select([s.strip() for s in args.steps.split(",") if s.strip()])
    step_ids = [s.id for s in steps]
    # The steps whose questions are a score of their own (questions = "separate"): a gradebook column each.
    question_steps = [s.id for s in steps if s.question_points]
    reserved = step_ids + [questions_column(sid) for sid in question_steps] + list(TAIL) + list(QUESTIONS_TAIL)
    header, students = read_roster(args.roster, reserved=reserved)
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
    preload(chosen)

    wanted = [c for s in steps for c in s.checks]
    shown = {s.id: list(s.checks) for s in steps}
    stream = sys.stdout  # the real one: checks' prints are captured while they run
    progress = Progress(stream, len(chosen))
    new_rows, problems, faults = {}, [], []
    interrupted = None
    with tempfile.TemporaryDirectory(prefix="lab-grade-", ignore_cleanup_errors=True) as work:
        # A lab folder of their own per student: a check that leaves a file there meets nobody else's.
        def settings_for(student):
            # The student's answers to the concept questions are read where the rest of their work is:
            # the lab folder in their guest, through the same connection.
            return Settings(root=Path(work) / student.folder, guest_url=student.guest, course=args.course,
                            answers_in_guest=True)

        progress.start()
        try:
            # closing(): the wait for running checks, in grade_all's finally, happens here and not
            # when the generator is collected, so a second Ctrl-C there is caught below too.
            with contextlib.closing(grade_all(chosen, settings_for, steps, shown, wanted, args.jobs, args.timeout,
                                              kit_policy=manifest.course["kit_solutions"])) as graded:
                for student, report in graded:
                    results = report.as_dict()
                    problems += write_student(out, student, results)
                    questions_max = possible_points(steps, student.guest, questions=True) if question_steps else None
                    new_rows[student.name] = grade_row(results, step_ids, possible_points(steps, student.guest),
                                                       questions_max)
                    if results["fault"]:
                        faults.append((student, results["fault"]))
                    progress.finished(student, results)
        except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM (console.Terminated): keep who was graded
            interrupted = exc
        progress.end()

    columns, rows = gradebook(header, students, new_rows, old_header, old_rows, step_ids, manifest.ids(),
                              keep_others=bool(args.only) or interrupted is not None,
                              question_steps=question_steps)
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
