"""Each step's last and best score, kept in .lab/progress.json between runs."""

import datetime
import json

FORMAT_VERSION = 1


def load(state_dir):
    try:
        data = json.loads((state_dir / "progress.json").read_text())
    except (OSError, ValueError):
        return {}
    return data.get("steps", {}) if data.get("format_version") == FORMAT_VERSION else {}


def record(state_dir, report):
    """Remember the score of every step the report covers in full."""
    steps = load(state_dir)
    now = datetime.datetime.now().isoformat(timespec="seconds")
    for step_report in report.steps:
        old = steps.get(step_report.step.id, {})
        steps[step_report.step.id] = {
            "last": step_report.score,
            "best": max(step_report.score, old.get("best", 0)),
            "max": step_report.max_score,
            "checked_at": now,
        }
    state_dir.mkdir(parents=True, exist_ok=True)
    tmp = state_dir / "progress.json.tmp"
    tmp.write_text(json.dumps({"format_version": FORMAT_VERSION, "steps": steps}, indent=2))
    tmp.replace(state_dir / "progress.json")  # atomic: an interrupted run never leaves half a file


def status_table(manifest, state_dir):
    """Lines of a table of every step with its last and best score."""
    steps = load(state_dir)
    width = max([len(s.title) for s in manifest.steps] + [5])
    lines = [f"{'step':<8} {'title':<{width}}  {'last':>7}  {'best':>7}  checked", "-" * (width + 40)]
    for step in manifest.steps:
        seen = steps.get(step.id)
        total = step.max_points
        if seen:
            last, best, when = f"{seen['last']}/{total}", f"{seen['best']}/{total}", seen["checked_at"]
            when = when.replace("T", " ")[:16]
        else:
            last, best, when = "-", "-", "never"
        lines.append(f"{step.id:<8} {step.title:<{width}}  {last:>7}  {best:>7}  {when}")
    return lines
