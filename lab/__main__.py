"""python -m lab: the instructors' tools.

    python -m lab new step13-postgres [--title "PostgreSQL instead of SQLite"]
    python -m lab lint
    python -m lab replay step1..step4 [--dry-run]
    python -m lab answer step6

`new` scaffolds a step: its exercise, its check module, its solution and its
manifest entry. `lint` checks the curriculum's content, the exercises' code
blocks included, and exits 1 on any problem. `replay` does what the exercises
say, exactly as written, against the guest, and stops at the first action that
fails (exit 1). `answer` is the students' one: it asks a step's concept
questions and saves the answers, which `python -m lab.check` grades. Students
use `python -m lab.check`; a guest-wide proof of the reference solutions is
`python -m lab.selftest`.
"""

import argparse
import os
import sys
from pathlib import Path

from lab.tools.lint import lint
from lab.tools.new import new_step


def main(argv=None):
    from lab.engine.console import prepared

    with prepared():
        return _run(argv)


def _run(argv):
    parser = argparse.ArgumentParser(prog="python -m lab", description=__doc__.split("\n\n")[0],
                                     epilog="\n\n".join(__doc__.split("\n\n")[1:]),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    new = sub.add_parser("new", help="scaffold a new step")
    new.add_argument("name", help="stepNN-short-name, e.g. step11-tls")
    new.add_argument("--title", help="the step's title (default: from its name)")
    course = {"default": os.environ.get("LAB_COURSE"), "metavar": "DIR",
              "help": "a course folder whose steps.toml adds or replaces steps (default: $LAB_COURSE)"}
    linter = sub.add_parser("lint", help="check the steps, checks, exercises and solutions")
    linter.add_argument("--course", **course)
    replayer = sub.add_parser("replay", help="do what the exercises say against the guest, as written")
    replayer.add_argument("steps", nargs="+", metavar="STEP", help="step3, step1..step4 or all")
    replayer.add_argument("--dry-run", action="store_true", help="print the actions without running anything")
    replayer.add_argument("--guest", metavar="URL", default=os.environ.get("LAB_GUEST", "vagrant://default"),
                          help="vagrant://default, ssh://user@host:port?key=PATH or local:// "
                               "(default: %(default)s)")
    replayer.add_argument("--course", **course)
    replayer.add_argument("--root", metavar="DIR", type=Path, default=None,
                          help="the lab folder (default: the nearest folder with a Vagrantfile)")
    answerer = sub.add_parser("answer", help="answer a step's concept questions (saved in answers/STEP.toml)")
    answerer.add_argument("step", metavar="STEP", help="the step, e.g. step6")
    answerer.add_argument("--course", **course)
    answerer.add_argument("--root", metavar="DIR", type=Path, default=None,
                          help="the lab folder (default: the nearest folder with a Vagrantfile)")
    args = parser.parse_args(argv)
    if args.command == "new":
        return new_step(args.name, args.title)
    if args.command == "replay":
        from lab.tools.replay import main as replay_main

        return replay_main(args)
    if args.command == "answer":
        from lab.tools.answer import main as answer_main

        return answer_main(args)
    return lint(course=args.course)


if __name__ == "__main__":
    sys.exit(main())
