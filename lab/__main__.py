"""python -m lab: the instructors' tools.

    python -m lab new step11-tls [--title "TLS with a self-signed certificate"]
    python -m lab lint

`new` scaffolds a step: its exercise, its check module, its solution and its
manifest entry. `lint` checks the curriculum's content and exits 1 on any problem.
Students use `python -m lab.check`; a guest-wide proof is `python -m lab.selftest`.
"""

import argparse
import sys

from .authoring import lint, new_step


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m lab", description=__doc__.split("\n\n")[0],
                                     epilog="\n\n".join(__doc__.split("\n\n")[1:]),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    new = sub.add_parser("new", help="scaffold a new step")
    new.add_argument("name", help="stepNN-short-name, e.g. step11-tls")
    new.add_argument("--title", help="the step's title (default: from its name)")
    sub.add_parser("lint", help="check the steps, checks, exercises and solutions")
    args = parser.parse_args(argv)
    if args.command == "new":
        return new_step(args.name, args.title)
    return lint()


if __name__ == "__main__":
    sys.exit(main())
