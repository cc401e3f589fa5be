"""The student's path: on a freshly created guest, every exercise is replayed
exactly as written (`python -m lab replay`), and each step must earn full marks.

The selftest (test_guest.py) proves the reference solutions, and that each
step's checks fail before it is done, on the first release; this proves the
text students follow, on the second.

Each exercise ends with its own `python -m lab.check stepN`, which the replay
runs and which exits 0 only with full marks: that proves the step. Where a
text does not grade its own step, the tier does. That no step's text breaks an
earlier step is proven where the texts grade every step themselves: step 10's
`lab.check step1..step10` and step 11's `lab.check step1..step11` after their
reboots, and step 12's `lab.check all` at the end; were
those gone, the tier would grade every step after the last. It runs after
test_guest.py, on the same session's guest, destroyed and created anew from
the second release's box so that it starts with base provisioning only:
between them, the two halves prove the kit on both ends of the package
versions students meet.
"""

import json
import os
import shlex
import sys
import time

import pytest

from lab.core.manifest import load
from lab.tools.exercise import actions
from tests.guest.conftest import BENCH
from tests.support.guesthost import FIRST_RELEASE, SECOND_RELEASE

# The release the replay recreates the guest from: the second one, so that the
# selftest and the replay between them cover both. LAB_TEST_REPLAY_RELEASE=bookworm
# replays on the first instead, to tell a release's difference from a text's.
REPLAY_RELEASE = os.environ.get("LAB_TEST_REPLAY_RELEASE", SECOND_RELEASE)
assert REPLAY_RELEASE in (FIRST_RELEASE, SECOND_RELEASE), REPLAY_RELEASE

MANIFEST = load()
STEPS = MANIFEST.ids()
REPLAYED = []  # the steps replayed so far, in order: a step replays only on top of all earlier ones


@pytest.fixture(scope="module")
def fresh_guest(guest):
    """The session's guest, destroyed and created anew from the second release's box: what a
    student has after their first `vagrant up`."""
    guest.vagrant("destroy", "-f", timeout=600)
    guest.use_release(REPLAY_RELEASE)
    started = time.monotonic()
    up = guest.vagrant("up", "--provider=libvirt", timeout=2400)
    BENCH.append(f"[{guest.release}] vagrant destroy and up again for the replay: {time.monotonic() - started:.0f} s")
    assert "base: changed: installed" in up.stdout, up.stdout[-3000:]
    release = guest.vagrant("ssh", "-c", "cat /etc/debian_version").stdout.strip()
    BENCH.append(f"[{guest.release}] the replay's guest runs Debian {release}")
    return guest


def graded_by_the_text(step_id):
    """The steps that the exercise's own `python -m lab.check SELECTORS` commands grade.

    The replay runs each and stops unless it exits 0, which lab.check does only when
    every check passed. A command with options is left out: its selectors are not
    read here."""
    graded = set()
    for action in actions(MANIFEST.step(step_id).exercise):
        if action.kind != "host" or action.exit:
            continue
        words = shlex.split(action.text, comments=True)
        if words[:3] == ["python", "-m", "lab.check"] and not any(w.startswith("-") for w in words[3:]):
            graded.update(step.id for step in MANIFEST.select(words[3:]))
    return graded


def replay(guest, step_id):
    return guest.in_namespace([sys.executable, "-m", "lab", "replay", step_id], timeout=3600,
                              env={**guest.env(), "PYTHONIOENCODING": "utf-8", "NO_COLOR": "1"})


@pytest.mark.parametrize("step_id", STEPS)
def test_the_exercise_as_written_earns_full_marks(fresh_guest, lab_check, step_id):
    if REPLAYED != STEPS[:STEPS.index(step_id)]:
        pytest.fail(f"{step_id} can't be replayed: an earlier step's replay or grade failed", pytrace=False)
    started = time.monotonic()
    run = replay(fresh_guest, step_id)
    replayed = time.monotonic() - started
    assert run.returncode == 0, f"the replay of {step_id} stopped:\n{run.stdout[-6000:]}{run.stderr[-3000:]}"

    # What the text graded as the replay ran it needs no second run. The step itself must be
    # graded, and after the last step every step is: step 12's text runs `lab.check all`
    # itself, and were that gone, the tier would.
    by_text = graded_by_the_text(step_id)
    if step_id == STEPS[-1]:
        selectors = [] if set(STEPS) <= by_text else ["all"]
    else:
        selectors = [] if step_id in by_text else [step_id]
    if not selectors:
        BENCH.append(f"[{fresh_guest.release}] replay {step_id}: {replayed:.0f} s, graded by its text")
        REPLAYED.append(step_id)
        return
    started = time.monotonic()
    graded = lab_check(*selectors, "--json")
    report = json.loads(graded.stdout)
    missed = [f"{s['id']}.{c['name']}: {c['rationale']}" for s in report["steps"] for c in s["checks"]
              if not c["passed"]]
    assert missed == [], (f"after replaying {step_id}, `python -m lab.check {' '.join(selectors)}` misses:\n"
                          + "\n".join(missed))
    assert [s["id"] for s in report["steps"]] == [s for s in STEPS if s in selectors or selectors == ["all"]]
    assert graded.returncode == 0 and report["score"] == report["max_score"]
    shown = selectors[0] if len(selectors) == 1 else f"{selectors[0]}..{selectors[-1]}"
    BENCH.append(f"[{fresh_guest.release}] replay {step_id}: {replayed:.0f} s, "
                 f"then lab.check {shown}: {time.monotonic() - started:.0f} s")
    REPLAYED.append(step_id)
