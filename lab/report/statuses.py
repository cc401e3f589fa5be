"""How each status looks in every report: its mark, label and colours, in one table.

A new status is a row here, a constant in lab/engine/results.py and what it counts for
there (Result.passed, Result.score, Report.exit_code); tests/unit/test_reports.py
checks that every status has its row.
"""

from dataclasses import dataclass

from lab.engine.results import COULD_NOT_CHECK, ERROR, FAILED, NOT_APPLICABLE, PASSED, SKIPPED


@dataclass(frozen=True)
class Status:
    name: str        # as the results dictionary spells it
    mark: str        # before each check in the terminal and on the HTML page
    ascii_mark: str  # the mark on a console that cannot encode the marks (a Windows cp1252 pipe)
    label: str       # the word shown next to the points on the HTML page
    ansi: str        # the terminal's colour, an SGR code
    css: str         # the HTML page's colour, #rrggbb (the page also tints it for backgrounds); at least
                     # 4.5:1 against the white card, WCAG AA for text (tests/unit/test_reports.py computes it)
    junit: str       # the JUnit element that records it (failure, error, skipped), or None for a pass

    @property
    def css_class(self):
        """The class of the check's <li> on the HTML page: the label, with hyphens for spaces."""
        return self.label.replace(" ", "-")


TABLE = (
    #      name             mark ascii  label              ansi   css        junit
    Status(PASSED,          "✓", "+",   "passed",          "32",  "#1e7d45", None),
    Status(FAILED,          "✗", "x",   "failed",          "31",  "#c62f3b", "failure"),
    Status(ERROR,           "✗", "x",   "error",           "31",  "#c62f3b", "error"),
    Status(SKIPPED,         "–", "-",   "skipped",         "33",  "#8a5a0b", "skipped"),
    Status(COULD_NOT_CHECK, "?", "?",   "could not check", "35",  "#a4267e", "error"),
    Status(NOT_APPLICABLE,  "○", "o",   "not applicable",  "90",  "#6b7280", "skipped"),
)

STATUSES = {status.name: status for status in TABLE}


def kit_solved_note(step):
    """What every report says of a step the kit's reference solution applied, or None."""
    if not step.get("kit_solved"):
        return None
    effect = {"zero": "its points don't count", "count": "its points count"}.get(step.get("kit_policy"),
                                                                                 "its points count, flagged")
    return f"solved by the kit's reference solution ({step['kit_solved']}): {effect}"


def questions_said(scored):
    """", questions: 3/4" after a step's or a run's score, where the course keeps the questions'
    score apart (questions = "separate"); nothing otherwise, or in a file saved before there was one."""
    if not scored.get("questions_max_score"):
        return ""
    return f", questions: {scored['questions_score']}/{scored['questions_max_score']}"
