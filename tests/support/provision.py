"""provision/'s modules imported on the host as solve.py imports them in the guest (its
folder first on sys.path), and the environment solve.py gives a step's solution."""

import sys

from lab.core.manifest import load
from tests.support.paths import REPO

__all__ = ["deployment", "guestconf", "solving_env"]

sys.path.insert(0, str(REPO / "provision"))

import deployment
import guestconf


def solving_env(monkeypatch, target, step_id, course=None):
    """The environment solve.py gives the solution of step_id when it solves up to target."""
    import solve

    manifest = load(course=course, import_checks=False)
    planned = solve.plan(manifest, target)
    installs = next(things for step, things in planned if step.id == step_id)
    for name, value in solve.solution_env(manifest, planned, installs).items():
        monkeypatch.setenv(name, value)
