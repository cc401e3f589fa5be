"""A self-contained HTML page of the report: one card per step with a score bar."""

import datetime
from pathlib import Path

from ..results import COULD_NOT_CHECK, ERROR, FAILED, PASSED, SKIPPED

TEMPLATE = Path(__file__).with_name("report.html.j2")
LABELS = {PASSED: "passed", FAILED: "failed", ERROR: "error", SKIPPED: "skipped", COULD_NOT_CHECK: "could not check"}


def to_html(report):
    import jinja2

    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True,
                             lstrip_blocks=True)
    template = env.from_string(TEMPLATE.read_text(encoding="utf-8"))
    return template.render(report=report, labels=LABELS,
                           generated=datetime.datetime.now().strftime("%Y-%m-%d %H:%M"))
