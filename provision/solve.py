#!/usr/bin/env python3
"""Apply the reference solutions of steps 1..N inside the guest.

    LAB_SOLVE_TO=4 vagrant provision --provision-with solution   (on the host)
    sudo python3 /vagrant/provision/solve.py 4                    (in the guest)
    sudo python3 /vagrant/provision/solve.py good --course courses/mine

N is a step number or id ("4", "step4") or "all". The steps and their
solution scripts come from the manifest, read by the checker's own reader
(lab/core/manifest.py): checks/steps.toml, with a course folder's steps.toml over
it when $LAB_COURSE or --course names one (relative to the lab folder, which
is /vagrant in the guest). Each solution is idempotent, so running this again
only repairs what drifted; it reports what it changed.
"""

import argparse
import os
import subprocess
import sys
from pathlib import Path

PROVISION = Path(__file__).resolve().parent
ROOT = PROVISION.parent  # the lab folder: /vagrant in the guest
# The manifest's reader lives in the lab folder's `lab` package; importing it
# needs the standard library only (and tomli on Python 3.10, installed below).
# Last on the path, so that a student's file in the shared folder never stands
# in for a module of the standard library.
sys.path.append(str(ROOT))


def ensure_python_packages():
    """The solutions render templates with Jinja2; tomllib is only in Python 3.11+."""
    from guestconf import apt_install  # imports Jinja2 only when rendering, so it loads before this installs it

    apt_install("python3-jinja2", *([] if sys.version_info >= (3, 11) else ["python3-tomli"]))


def read_manifest(course):
    """The kit's steps with the course's over them, without importing any check module."""
    from lab.core import manifest  # only now: on Python 3.10 it needs the tomli that ensure_python_packages installs

    if course:
        folder = ROOT / course  # an absolute path stays as it is
        if not (folder / manifest.MANIFEST_NAME).is_file():
            raise manifest.ManifestError(
                f"the course folder {course} has no {manifest.MANIFEST_NAME} under {ROOT} (a course is named "
                f"relative to the lab folder, which is all the guest sees of the host)")
        course = str(folder)
    return manifest.load(course=course, import_checks=False)


def plan(manifest, target):
    """[(step, the shared things its solution installs)] for steps 1..target, in order.

    Each shared thing goes to the last of these steps that writes it (the
    manifest's `writes`), so that an early step doesn't undo a later one on
    every run.
    """
    steps = manifest.up_to(target)
    last = manifest.last_writers(steps)
    return [(step, sorted(name for name, writer in last.items() if writer == step.id)) for step in steps]


def main(argv):
    parser = argparse.ArgumentParser(prog="solve.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("target", nargs="?", default=os.environ.get("LAB_SOLVE_TO", ""),
                        help="the last step to solve: 4, step4 or all (default: $LAB_SOLVE_TO)")
    parser.add_argument("--course", default=os.environ.get("LAB_COURSE", ""),
                        help="a course folder relative to the lab folder (default: $LAB_COURSE)")
    args = parser.parse_args(argv)
    target = args.target.strip()
    if not target:
        sys.exit("solve: say which step to solve up to, e.g. "
                 "`LAB_SOLVE_TO=4 vagrant provision --provision-with solution` "
                 "(in PowerShell: `$env:LAB_SOLVE_TO=4; vagrant provision --provision-with solution`)")
    if os.geteuid() != 0:
        sys.exit("solve: run me as root (the Vagrant provisioner does; in the guest use sudo)")
    # First, what reading the manifest needs: Ubuntu 22.04's Python 3.10 has no
    # tomllib, and its tomli comes from a package that may not be installed yet.
    ensure_python_packages()
    from lab.core import solved
    from lab.core.manifest import ManifestError

    try:
        manifest = read_manifest(args.course.strip())
        planned = plan(manifest, target)
    except ManifestError as exc:
        sys.exit(f"solve: {exc}")
    if not planned:
        sys.exit("solve: the manifest lists no steps")
    changes = 0
    for step, installs in planned:
        print(f"solve: {step.id}: {step.title}", flush=True)
        step_changes, code = run_solution(step.solution, solution_env(manifest, planned, installs))
        if code != 0:
            sys.exit(f"solve: the solution of {step.id} failed ({step.solution.name}, exit code {code})")
        # Every report will say the kit solved this step (lab/core/solved.py).
        solved.record([step.id])
        if not step_changes:
            print("  nothing to change", flush=True)
        changes += step_changes
    summary = f"{changes} change{'s' if changes != 1 else ''}" if changes else "nothing changed"
    print(f"solve: steps {planned[0][0].id}..{planned[-1][0].id} are solved ({summary})", flush=True)


def solution_env(manifest, planned, installs):
    """What a solution is told, through provision/deployment.py: the steps being
    solved, the shared things there are, and the ones it installs."""
    # provision/ for facts, guestconf and deployment; guestconf adds the lab folder, for lab/core/.
    return {**os.environ, "PYTHONPATH": str(PROVISION), "LAB_ROOT": str(ROOT),
            "LAB_SOLVE_STEPS": " ".join(step.id for step, _ in planned), "LAB_SHARED": " ".join(manifest.shared),
            "LAB_INSTALLS": " ".join(installs)}


def run_solution(script, env):
    """Run one solution, passing its output through; return how many changes it
    reported and its exit code. Solutions report each change on a line of its
    own starting with "changed:" (guestconf.record does this)."""
    interpreter = sys.executable if script.suffix == ".py" else "bash"
    with subprocess.Popen([interpreter, str(script)], env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, bufsize=1) as child:
        changes = 0
        for line in child.stdout:
            print(line, end="", flush=True)
            changes += line.lstrip().startswith("changed:")
    return changes, child.returncode


if __name__ == "__main__":
    main(sys.argv[1:])
