"""python -m lab.selftest: prove that each step's checks, exercise and solution agree.

    python -m lab.selftest                 every step
    python -m lab.selftest step3..step6    a range (earlier steps are solved first)
    python -m lab.selftest --course DIR    a course's steps, its own included
    python -m lab.selftest --each          earlier steps graded after every step

Run it on the host, in the lab folder, on a guest that has had only its base
provisioning (a fresh `vagrant up`). For each step in turn:

1. its checks must fail: a step that passes before it is solved grades nothing;
2. its reference solution is applied (`vagrant provision --provision-with
   solution`, which runs provision/solve.py in the guest with $LAB_SOLVE_TO and
   $LAB_COURSE), and the guest restarted if the step says `reboot = true`;
3. its checks must all pass.

After the last step, every step up to it is graded once more and must pass:
no solution may undo an earlier step's work. With --each that happens after
every step instead, which also catches an earlier step broken for a while
and mended by a later solution, at the cost of grading step 1 eleven times.

It prints a table and exits 1 on any miss, 2 when it could not check. A
course folder must be inside the lab folder: the guest sees only that.
"""

import argparse
import os
import sys
import time
from pathlib import Path

from lab.core import manifest as manifest_mod
from lab.core.outcomes import CouldNotCheck
from lab.engine.context import Settings
from lab.engine.results import FAILED, PASSED
from lab.engine.session import Session
from lab.transports.vagrant import PROVISION_TIMEOUT, run_vagrant


def say(message):
    print(f"selftest: {message}", flush=True)


class VagrantMachine:
    """The Vagrant machine under test: `vagrant` commands in the lab folder, within
    the transport's time limits, and one grading session with the guest,
    reopened after a restart."""

    def __init__(self, settings):
        self.settings = settings
        self.session = Session(settings)

    def connect(self):
        self.session.open()

    def close(self):
        self.session.close()

    def grade(self, steps):
        """{step id: its StepReport} for the given steps."""
        return {report.step.id: report for report in self.session.grade(steps).steps}

    def vagrant(self, *args, **env):
        started = time.monotonic()
        run = run_vagrant(self.settings.root, *args, timeout=PROVISION_TIMEOUT, env=env)
        if run.rc != 0:
            raise RuntimeError(f"`vagrant {' '.join(args)}` failed:\n{run.stdout[-3000:]}{run.stderr[-3000:]}")
        return time.monotonic() - started

    def solve(self, step):
        """Solve up to `step` as a student's `LAB_SOLVE_TO=... vagrant provision` would, course included."""
        seconds = self.vagrant("provision", "--provision-with", "solution", LAB_SOLVE_TO=step.id,
                               LAB_COURSE=course_in_guest(self.settings))
        if step.reboot:
            self.close()
            seconds += self.vagrant("reload")
            self.connect()
        return seconds


def course_in_guest(settings):
    """The course folder as solve.py finds it in the guest: relative to the lab folder ("" for none)."""
    if not settings.course:
        return ""
    folder = Path(settings.course).resolve()
    try:
        return folder.relative_to(settings.root.resolve()).as_posix()
    except ValueError:
        raise RuntimeError(f"the course folder {settings.course} is outside the lab folder {settings.root}, so "
                           f"the guest cannot see it; move it into the lab folder") from None


def misses(results):
    return [f"{r.check.name}: {r.status}" + (f" ({r.rationale})" if r.rationale else "")
            for r in results if r.status != PASSED]


def selftest(manifest, steps, machine, out=print, each=False):
    rows, failures = [], []
    ids = manifest.ids()
    first = ids.index(steps[0].id)
    if first > 0:
        say(f"solving up to {ids[first - 1]} first")
        machine.solve(manifest.steps[first - 1])
    for step in steps:
        say(f"{step.id}: checking before the solution")
        before = machine.grade([step])[step.id]
        before_score, total = before.score, before.max_score
        caught = any(r.status == FAILED for r in before.results)
        if not caught or before_score == total:
            failures.append(f"{step.id}: its checks do not fail before the solution ({before_score}/{total})")
        say(f"{step.id}: applying the solution" + (" and restarting the guest" if step.reboot else ""))
        seconds = machine.solve(step)
        # The earlier steps are graded with this one after the last step, or after each with --each.
        earlier = each or step is steps[-1]
        graded_steps = manifest.up_to(step.id) if earlier else [step]
        say(f"{step.id}: checking " + (f"{graded_steps[0].id}..{step.id}" if earlier else step.id))
        graded = machine.grade(graded_steps)
        after_score = graded[step.id].score
        if after_score != total:
            failures.append(f"{step.id}: the solution leaves {after_score}/{total}: "
                            + "; ".join(misses(graded[step.id].results)))
        others = [report for sid, report in graded.items() if sid != step.id and report.score != report.max_score]
        broken = [f"{report.step.id} {report.score}/{report.max_score}" for report in others]
        for report in others:
            failures.append(f"after {step.id}'s solution, {report.step.id} no longer passes: "
                            + "; ".join(misses(report.results)))
        verdict = "ok" if caught and before_score < total and after_score == total and not broken else "MISS"
        shown = (", ".join(broken) or "all pass") if earlier else "at the end"
        rows.append((step.id, f"{before_score}/{total}", f"{seconds:.0f}s", f"{after_score}/{total}",
                     shown, verdict))

    out(f"\n{'step':<8} {'before':>7} {'solution':>9} {'after':>7}  {'earlier steps':<20} result")
    for row in rows:
        out(f"{row[0]:<8} {row[1]:>7} {row[2]:>9} {row[3]:>7}  {row[4]:<20} {row[5]}")
    for failure in failures:
        out(f"  miss: {failure}")
    return not failures


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m lab.selftest", description=__doc__.split("\n\n")[0],
                                     epilog="\n\n".join(__doc__.split("\n\n")[1:]),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("steps", nargs="*", metavar="STEP", help="step1..step10, step3, or nothing for all")
    parser.add_argument("--course", default=os.environ.get("LAB_COURSE"),
                        help="a course folder inside the lab folder, as for lab.check")
    parser.add_argument("--each", action="store_true",
                        help="grade the earlier steps after every step, not only after the last")
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="the lab folder (default: here)")
    args = parser.parse_args(argv)
    settings = Settings(root=args.root.resolve(), course=args.course)
    machine = VagrantMachine(settings)
    try:
        manifest = manifest_mod.load(course=args.course)
        steps = manifest.select(args.steps or ["all"])
        course_in_guest(settings)  # before the first check: a course the guest cannot see stops here
        machine.connect()
        ok = selftest(manifest, steps, machine, each=args.each)
    except (manifest_mod.ManifestError, CouldNotCheck) as exc:
        say(exc.one_line() if isinstance(exc, CouldNotCheck) else str(exc))
        return 2
    except RuntimeError as exc:
        say(str(exc))
        return 2
    finally:
        machine.close()
    return 0 if ok else 1


if __name__ == "__main__":
    from lab.engine.console import prepared

    with prepared():  # a reader that has gone (`| head -1`) costs no traceback
        sys.exit(main())
