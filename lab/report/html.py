"""A self-contained HTML page of the results dictionary: one card per step with a score bar."""

import re
from pathlib import Path

from lab.engine.results import COULD_NOT_CHECK, PASSED
from lab.report.formats import shown_value
from lab.report.statuses import STATUSES, kit_solved_note, questions_said

TEMPLATE = Path(__file__).with_name("report.html.j2")


def to_html(results):
    import jinja2

    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True,
                             lstrip_blocks=True)
    template = env.from_string(TEMPLATE.read_text(encoding="utf-8"))
    # The time of the run, not of rendering, so that a page rendered again from saved JSON is the same page;
    # with its UTC offset where the run recorded one (runs saved before then have none).
    when = results["checked_at"]
    checked_at = when.replace("T", " ")[:16] + (f" {when[19:]}" if re.fullmatch(r".{19}[+-]\d\d:\d\d", when) else "")
    return template.render(report=results, statuses=STATUSES, passed=STATUSES[PASSED],
                           could_not_check=STATUSES[COULD_NOT_CHECK], checked_at=checked_at,
                           kit_solved_note=kit_solved_note, shown_value=shown_value,
                           questions_said=questions_said)
