"""python -m lab.check: grade the lab steps on the guest.

    python -m lab.check step3            one step
    python -m lab.check step1..step4     a range of steps, in manifest order
    python -m lab.check all              every step
    python -m lab.check status           the table of your scores so far
    python -m lab.check --list           the steps and their checks (--json: as JSON)
    python -m lab.check --from-json run.json --html run.html
                                         a saved --json run, rendered again

Exit codes: 0 every check passed, 1 something failed, 2 could not check
(the VM is down, vagrant is missing, a port is closed, a bad argument).
"""

import argparse
import os
import sys
from pathlib import Path

from lab.core import manifest as manifest_mod
from lab.core.outcomes import CouldNotCheck


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m lab.check", description=__doc__.split("\n\n")[0],
                                     epilog="\n\n".join(__doc__.split("\n\n")[1:]),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("steps", nargs="*", metavar="STEP", help="step1, step1..step4, all, or status")
    parser.add_argument("--target", metavar="CHECK", help="run one check (name or step.name) and what it needs")
    parser.add_argument("--list", action="store_true", help="list the steps and their checks")
    parser.add_argument("--json", action="store_true", help="print the results as JSON instead of text")
    parser.add_argument("--junit", metavar="FILE", help="also write JUnit XML to FILE")
    parser.add_argument("--gradescope", metavar="FILE", help="also write Gradescope's results.json to FILE")
    parser.add_argument("--html", metavar="FILE", help="also write a report page to FILE")
    parser.add_argument("--from-json", metavar="FILE",
                        help="check nothing: render the run that --json saved in FILE (- for standard input) "
                             "as text, or with --json, --junit, --gradescope and --html; exit 0 once rendered")
    parser.add_argument("--course", metavar="DIR", default=os.environ.get("LAB_COURSE"),
                        help="a course folder whose steps.toml adds or replaces steps (default: $LAB_COURSE)")
    parser.add_argument("--guest", metavar="URL", default=os.environ.get("LAB_GUEST", "vagrant://default"),
                        help="vagrant://default, ssh://user@host:port?key=PATH or local:// (default: %(default)s)")
    parser.add_argument("--root", metavar="DIR", type=Path, default=None,
                        help="the lab folder (default: the nearest folder with a Vagrantfile, else this one)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of crashed checks")
    args = parser.parse_args(argv)
    # A mistyped --root must not become a new, empty lab folder with a .lab/ in it.
    if args.root is not None and not args.root.is_dir():
        why = "not a folder" if args.root.exists() else "there is no such folder"
        parser.exit(2, f"lab.check: --root {args.root}: {why}; give the lab folder, the one with the Vagrantfile\n")
    return args


def say(message):
    print(f"lab.check: {message}", file=sys.stderr, flush=True)


def list_steps(manifest, as_json=False):
    if as_json:
        print_json({"steps": [{
            "id": step.id, "title": step.title, "max_score": step.max_points,
            "questions_max_score": step.question_points,
            "checks": [{"name": check.name, "step": check.step, "description": check.description,
                        "max_points": check.points, "separate": check.separate,
                        "depends": [d.id for d in check.depends],
                        "applies_to": list(check.applies_to) if check.applies_to else None}
                       for check in step.checks]} for step in manifest.steps]})
        return
    for step in manifest.steps:
        asked = f", questions: {step.question_points}" if step.question_points else ""
        print(f"{step.id}: {step.title} ({step.max_points} points{asked})")
        for check in step.checks:
            names = [d.name if d.step == check.step else d.id for d in check.depends]
            needs = f"  [needs {', '.join(names)}]" if names else ""
            print(f"  {check.name:<32} {check.points:>2}  {check.description}{needs}")


def main(argv=None):
    from lab.engine.console import prepared, terminate_as_interrupt

    with prepared(), terminate_as_interrupt():
        return _checked(sys.argv[1:] if argv is None else argv)


def _checked(argv):
    args = parse_args(argv)
    try:
        return from_json(args) if args.from_json is not None else _main(args)
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM (console.Terminated)
        from lab.engine.console import Terminated, exit_code

        say("terminated (SIGTERM)" if isinstance(exc, Terminated) else "interrupted")
        return exit_code(exc)
    except manifest_mod.ManifestError as exc:
        say(str(exc))
        return 2
    except CouldNotCheck as exc:
        say(f"could not check: {exc.one_line()}")
        return 2
    except Exception as exc:  # a bug in the checker: one line, and the traceback on request
        if args.debug:
            raise
        say(f"internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback)")
        return 2


def _main(args):
    from lab.core.labfolder import find_lab_root
    from lab.engine.context import Settings

    settings = Settings(root=find_lab_root(args.root), guest_url=args.guest, course=args.course, debug=args.debug)
    manifest = manifest_mod.load(course=args.course, questions=True)
    if args.list:
        list_steps(manifest, as_json=args.json)
        return 0
    if args.steps in ([], ["status"]) and not args.target:
        from lab.engine.progress import status_table

        print("\n".join(status_table(manifest, settings.state_dir)))
        if not args.steps:
            print("\ncheck a step with `python -m lab.check step1`; `--help` shows more")
        return 0

    if args.target:
        target = manifest.find_check(target_name(args, manifest))
        from lab.engine.runner import closure

        wanted = closure([target])
        steps = [s for s in manifest.steps if any(c in wanted for c in s.checks)]
        shown = {s.id: [c for c in s.checks if c in wanted] for s in steps}
    else:
        steps = manifest.select(args.steps)
        wanted = [c for s in steps for c in s.checks]
        shown = {s.id: list(s.checks) for s in steps}
    return grade(args, settings, steps, shown, wanted, full_steps=not args.target,
                 kit_policy=manifest.course["kit_solutions"])


def target_name(args, manifest):
    """The check --target names; a step beside it (`step4 --target proxies_to_app`) is where
    that check is looked for, and anything else there is refused, never ignored."""
    name, steps = args.target, args.steps
    if not steps:
        return name
    step = steps[0]
    if len(steps) == 1 and step in manifest.ids():
        if "." not in name:
            return f"{step}.{name}"
        if name.split(".", 1)[0] == step:
            return name
    try:
        example = f", here --target {manifest.find_check(name).id}"
    except manifest_mod.ManifestError:
        example = ""
    raise manifest_mod.ManifestError(
        f"--target runs one check and what it needs, so give it one step at most, the check's own: "
        f"{' '.join(steps)} beside --target {name} would be ignored; write `--target step.name` alone{example}")


def from_json(args):
    """Render a saved run again (an instructor with a student's JSON): no guest, manifest or progress."""
    from lab.engine.results import BadResults
    from lab.report.formats import read_json
    from lab.report.terminal import Terminal

    if args.steps or args.target or args.list:
        say("--from-json renders a saved run: give it no steps, --target or --list")
        return 2
    try:
        results = read_json(args.from_json)
    except BadResults as exc:
        say(f"--from-json {args.from_json}: {exc}")
        return 2
    unwritten = write_reports(args, results)
    if args.json:
        print_json(results)
    else:
        Terminal().render(results)
    for problem in unwritten:
        say(problem)
    return 2 if unwritten else 0


def grade(args, settings, steps, shown, wanted, full_steps, kit_policy=manifest_mod.DEFAULT_KIT_POLICY):
    from lab.engine.results import StepReport
    from lab.report.terminal import Terminal

    term = Terminal() if not args.json else None
    current = {"step": None}
    by_id = {s.id: s for s in steps}

    def on_result(result):
        if term is None or result.check not in shown.get(result.check.step, ()):
            return
        if current["step"] != result.check.step:
            current["step"] = result.check.step
            term.step_header(StepReport(by_id[result.check.step], []).as_dict())
        term.result(result.as_dict())

    from lab.engine.session import grade_guest

    report = grade_guest(settings, steps, shown, wanted, on_result=on_result, kit_policy=kit_policy)
    if report.fault is None:
        if term is not None:
            term.summary(report.as_dict())
        if full_steps:
            from lab.engine.progress import record

            for note in record(settings.state_dir, report):  # a damaged or unwritable file: said, never fatal
                say(note)

    results_dict = report.as_dict()  # the one results dictionary that every report below is rendered from
    unwritten = write_reports(args, results_dict)
    if term is not None:
        term.total(results_dict)
    elif args.json:
        print_json(results_dict)
    # After the report, so that a file that cannot be written never hides the grade.
    for problem in unwritten:
        say(problem)
    return 2 if unwritten else report.exit_code


def print_json(results):
    from lab.report.formats import to_json

    text = to_json(results)
    if not _encodes(text, sys.stdout):  # \u escapes keep the JSON exact where "?" would not
        text = to_json(results, ascii_only=True)
    print(text)


def _encodes(text, stream):
    try:
        text.encode(getattr(stream, "encoding", None) or "utf-8")
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def write_reports(args, results):
    """Write the report files asked for from the results dictionary; return a line for each one
    that could not be written."""
    from lab.report import formats

    outputs = [(args.junit, formats.to_junit), (args.gradescope, formats.to_gradescope)]
    if args.html:
        from lab.report.html import to_html

        outputs.append((args.html, to_html))
    unwritten = []
    for path, render in outputs:
        if path:
            try:
                Path(path).write_text(render(results), encoding="utf-8")
            except OSError as exc:
                unwritten.append(f"cannot write {path}: {exc.strerror or exc}: choose another file name")
    return unwritten


if __name__ == "__main__":
    sys.exit(main())
