"""How each status looks in every report: its mark, label and colours, in one table.

A new status is a row here, a constant in lab/results.py and what it counts for
there (Result.passed, Result.score, Report.exit_code); tests/test_reports.py
checks that every status has its row.
"""

from dataclasses import dataclass

from ..results import COULD_NOT_CHECK, ERROR, FAILED, PASSED, SKIPPED


@dataclass(frozen=True)
class Status:
    name: str        # as the results dictionary spells it
    mark: str        # before each check in the terminal and on the HTML page
    ascii_mark: str  # the mark on a console that cannot encode the marks (a Windows cp1252 pipe)
    label: str       # the word shown next to the points on the HTML page
    ansi: str        # the terminal's colour, an SGR code
    css: str         # the HTML page's colour, #rrggbb (the page also tints it for backgrounds)
    junit: str       # the JUnit element that records it (failure, error, skipped), or None for a pass

    @property
    def css_class(self):
        """The class of the check's <li> on the HTML page: the label, with hyphens for spaces."""
        return self.label.replace(" ", "-")


TABLE = (
    #      name             mark ascii  label              ansi   css        junit
    Status(PASSED,          "✓", "+",   "passed",          "32",  "#2f9e57", None),
    Status(FAILED,          "✗", "x",   "failed",          "31",  "#c62f3b", "failure"),
    Status(ERROR,           "✗", "x",   "error",           "31",  "#c62f3b", "error"),
    Status(SKIPPED,         "–", "-",   "skipped",         "33",  "#b7791f", "skipped"),
    Status(COULD_NOT_CHECK, "?", "?",   "could not check", "35",  "#a4267e", "error"),
)

STATUSES = {status.name: status for status in TABLE}
