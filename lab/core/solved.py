"""The guest's record of the steps the kit's reference solution applied.

provision/solve.py writes it in the guest, as root, after each solution it
runs: {"step3": "2026-11-21T23:59:07Z", ...}, the last time each step was
applied. The checker reads it back, and every report says so on those steps;
the course's `kit_solutions` setting decides what they earn.

It is a deterrent, not proof: root in the guest can delete it. Only a grade
an instructor takes of a machine the student can't reach as root proves who
did the work.

Standard library only: solve.py imports this inside the guest.
"""

import datetime
import json
import os
import re
from pathlib import Path

from lab.core.files import write_atomically
from lab.core.statefile import parse_json

SOLVED_FILE = "/var/lib/lab/solved.json"
_STEP_ID = re.compile(r"^[a-z][a-z0-9_-]*$")


def parse(text):
    """{step id: when} from the file's text; {} for a missing, damaged or foreign file."""
    try:
        data = parse_json(text)
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    return {step: when for step, when in data.items()
            if isinstance(step, str) and _STEP_ID.match(step) and isinstance(when, str)}


def record(step_ids, path=None, now=None):
    """Add the steps to the record with the current time (UTC); returns the record.

    $LAB_SOLVED_FILE moves the record: the test suite runs solve.py as root on
    its own machine, whose /var/lib must stay untouched."""
    path = Path(path or os.environ.get("LAB_SOLVED_FILE") or SOLVED_FILE)
    try:
        solved = parse(path.read_text(encoding="utf-8"))
    except OSError:
        solved = {}
    when = (now or datetime.datetime.now(datetime.timezone.utc)).strftime("%Y-%m-%dT%H:%M:%SZ")
    solved.update({step: when for step in step_ids})
    path.parent.mkdir(parents=True, exist_ok=True)
    # Root's, readable by all: the checker reads it without sudo, the student can't edit it without sudo.
    write_atomically(path, json.dumps(solved, indent=2, sort_keys=True) + "\n", mode=0o644)
    return solved
