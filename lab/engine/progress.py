"""Each step's last and best score, kept in .lab/progress.json between runs.

Saving never costs a grade. A file this checker can't read as scores is set
aside (renamed), never overwritten; a file or folder it can't read or write
leaves the scores unsaved. Either way record() returns the line to show.
"""

import contextlib
import datetime
import json
import os

from lab.core.files import write_atomically
from lab.core.statefile import DamagedJSON, parse_json

try:
    import fcntl
except ImportError:  # Windows: go without the lock; two runs at once still can't share a temporary file
    fcntl = None

FORMAT_VERSION = 1
FILE_NAME = "progress.json"
LOCK_NAME = "progress.lock"


def _count(value):
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _sound(entry):
    return (isinstance(entry, dict) and all(_count(entry.get(k)) for k in ("last", "best", "max"))
            and isinstance(entry.get("checked_at"), str))


def _kind(value):
    return {dict: "an object", list: "a list", str: "a string", bool: "true or false",
            type(None): "null"}.get(type(value), "a number")


def parse(data):
    """The sound step entries of a progress file's bytes, and what is wrong with it (None if nothing)."""
    try:
        doc = parse_json(data)
    except DamagedJSON as exc:
        return {}, str(exc)
    if not isinstance(doc, dict):
        return {}, f"it holds {_kind(doc)}, not an object"
    if doc.get("format_version") != FORMAT_VERSION:
        return {}, f"its format_version is {doc.get('format_version')!r}, and this checker reads {FORMAT_VERSION}"
    steps = doc.get("steps")
    if not isinstance(steps, dict):
        return {}, f'"steps" is {_kind(steps)}, not an object of step ids'
    sound = {step_id: entry for step_id, entry in steps.items() if _sound(entry)}
    unsound = [step_id for step_id in steps if step_id not in sound]
    if unsound:
        return sound, f"no whole last, best and max score for {', '.join(unsound)}"
    return sound, None


def load(state_dir):
    """The scores saved so far; none from a file that is missing or damaged."""
    try:
        return parse((state_dir / FILE_NAME).read_bytes())[0]
    except OSError:
        return {}


def record(state_dir, report):
    """Remember the score of every step the report covers in full.

    Returns the lines to show the student: a damaged file that was set aside,
    or scores that could not be saved. The grade never depends on them.
    """
    path = state_dir / FILE_NAME
    notes = []
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
        with _locked(state_dir):
            try:
                steps, problem = parse(path.read_bytes())
            except FileNotFoundError:
                steps, problem = {}, None
            if problem:
                aside = _set_aside(path)
                notes.append(f"{path} was damaged ({problem}); it was set aside as {aside} and a new one was started")
            now = datetime.datetime.now().isoformat(timespec="seconds")
            for step_report in report.steps:
                old = steps.get(step_report.step.id, {})
                steps[step_report.step.id] = {
                    "last": step_report.score,
                    "best": max(step_report.score, old.get("best", 0)),
                    "max": step_report.max_score,
                    "checked_at": now,
                }
            write_atomically(path, json.dumps({"format_version": FORMAT_VERSION, "steps": steps}, indent=2))
    except OSError as exc:
        where = f" {exc.filename}" if exc.filename else ""
        remedy = ""
        if isinstance(exc, PermissionError):  # typically a lab folder cloned or checked with sudo
            remedy = f"; make the lab folder yours, e.g. `sudo chown -R $USER {state_dir.parent}`"
        notes.append(f"progress could not be saved ({exc.strerror or exc}:{where}); the grade above stands{remedy}")
    return notes


@contextlib.contextmanager
def _locked(state_dir):
    """Hold the lab folder's progress lock, so that runs at once don't lose each other's scores."""
    if fcntl is None:
        yield
        return
    # Read-only is enough for flock, and opens a lock file that another user created.
    fd = os.open(state_dir / LOCK_NAME, os.O_RDONLY | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _set_aside(path):
    """Rename a damaged file to a name of its own beside it, and return that name."""
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    aside = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while aside.exists():
        aside, n = path.with_name(f"{path.name}.corrupt-{stamp}-{n}"), n + 1
    path.rename(aside)
    return aside


def status_table(manifest, state_dir):
    """Lines of a table of every step with its last and best score."""
    steps = load(state_dir)
    width = max([len(s.title) for s in manifest.steps] + [5])
    lines = [f"{'step':<8} {'title':<{width}}  {'last':>7}  {'best':>7}  checked", "-" * (width + 40)]
    for step in manifest.steps:
        seen = steps.get(step.id)
        # Out of what the step was worth on this guest when it was checked: a check
        # that doesn't apply here (not applicable) is worth nothing either way.
        total = seen["max"] if seen else step.max_points
        if seen:
            last, best, when = f"{seen['last']}/{total}", f"{seen['best']}/{total}", seen["checked_at"]
            when = when.replace("T", " ")[:16]
        else:
            last, best, when = "-", "-", "never"
        lines.append(f"{step.id:<8} {step.title:<{width}}  {last:>7}  {best:>7}  {when}")
    return lines
