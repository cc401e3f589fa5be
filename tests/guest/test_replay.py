"""The student's path: on a freshly created guest, every exercise is replayed
exactly as written (`python -m lab replay`), and after each step the checker
must give full marks to that step and every earlier one.

The selftest (test_guest.py) proves the reference solutions, and that each
step's checks fail before it is done, on the first release; this proves the
text students follow, on the second. It runs after test_guest.py, on the same
session's guest, destroyed and created anew from the second release's box so
that it starts with base provisioning only: between them, the two halves prove
the kit on both ends of the package versions students meet.
"""

import json
import os
import sys
import time

import pytest

from lab.manifest import load
from tests.guest.conftest import BENCH
from tests.support.guesthost import FIRST_RELEASE, SECOND_RELEASE

# The release the replay recreates the guest from: the second one, so that the
# selftest and the replay between them cover both. LAB_TEST_REPLAY_RELEASE=bookworm
# replays on the first instead, to tell a release's difference from a text's.
REPLAY_RELEASE = os.environ.get("LAB_TEST_REPLAY_RELEASE", SECOND_RELEASE)
assert REPLAY_RELEASE in (FIRST_RELEASE, SECOND_RELEASE), REPLAY_RELEASE

STEPS = load().ids()
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

    # The last step grades `all`, as the tier's closing proof.
    selector = "all" if step_id == STEPS[-1] else f"{STEPS[0]}..{step_id}"
    started = time.monotonic()
    graded = lab_check(selector, "--json")
    report = json.loads(graded.stdout)
    missed = [f"{s['id']}.{c['name']}: {c['rationale']}" for s in report["steps"] for c in s["checks"]
              if not c["passed"]]
    assert missed == [], f"after replaying {step_id}, `python -m lab.check {selector}` misses:\n" + "\n".join(missed)
    assert graded.returncode == 0 and report["score"] == report["max_score"]
    BENCH.append(f"[{fresh_guest.release}] replay {step_id}: {replayed:.0f} s, "
                 f"then lab.check {selector}: {time.monotonic() - started:.0f} s")
    REPLAYED.append(step_id)
