#!/usr/bin/env python3
"""Apply the reference solutions of steps 1..N inside the guest.

    LAB_SOLVE_TO=4 vagrant provision --provision-with solution   (on the host)
    sudo python3 /vagrant/provision/solve.py 4                    (in the guest)

N is a step number or id ("4", "step4") or "all". The steps and their
solution scripts come from checks/steps.toml, in order. Each solution is
idempotent, so running this again only repairs what drifted; it reports what
it changed.
"""

import os
import subprocess
import sys
from pathlib import Path

PROVISION = Path(__file__).resolve().parent
ROOT = PROVISION.parent
MANIFEST = ROOT / "checks" / "steps.toml"


def ensure_python_packages():
    """The solutions render templates with Jinja2; tomllib is only in Python 3.11+."""
    from guestconf import apt_install  # imports Jinja2 only when rendering, so it loads before this installs it

    apt_install("python3-jinja2", *([] if sys.version_info >= (3, 11) else ["python3-tomli"]))


def load_steps():
    try:
        import tomllib
    except ModuleNotFoundError:
        import tomli as tomllib
    with open(MANIFEST, "rb") as f:
        entries = tomllib.load(f)["steps"]
    return [(e["id"], e["title"], (MANIFEST.parent / e["solution"]).resolve()) for e in entries]


def wanted_steps(steps, target):
    ids = [s[0] for s in steps]
    if target == "all":
        return steps
    name = f"step{target}" if target.isdigit() else target
    if name not in ids:
        sys.exit(f"solve: there is no step {target!r}; the steps are {', '.join(ids)} (or all)")
    return steps[:ids.index(name) + 1]


def main(argv):
    target = (argv[0] if argv else os.environ.get("LAB_SOLVE_TO", "")).strip()
    if not target:
        sys.exit("solve: say which step to solve up to, e.g. "
                 "`LAB_SOLVE_TO=4 vagrant provision --provision-with solution`")
    if os.geteuid() != 0:
        sys.exit("solve: run me as root (the Vagrant provisioner does; in the guest use sudo)")
    # First, what reading the manifest needs: Ubuntu 22.04's Python 3.10 has no
    # tomllib, and its tomli comes from a package that may not be installed yet.
    ensure_python_packages()
    steps = wanted_steps(load_steps(), target)
    # The solutions install the deployment as it stands at the last step being
    # solved, so that an early step doesn't undo a later one on every run.
    env = {**os.environ, "PYTHONPATH": str(PROVISION), "LAB_ROOT": str(ROOT),
           "LAB_SOLVE_TARGET": str(len(steps))}
    changes = 0
    for step_id, title, script in steps:
        print(f"solve: {step_id}: {title}", flush=True)
        step_changes, code = run_solution(script, env)
        if code != 0:
            sys.exit(f"solve: the solution of {step_id} failed ({script.name}, exit code {code})")
        if not step_changes:
            print("  nothing to change", flush=True)
        changes += step_changes
    summary = f"{changes} change{'s' if changes != 1 else ''}" if changes else "nothing changed"
    print(f"solve: steps {steps[0][0]}..{steps[-1][0]} are solved ({summary})", flush=True)


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
