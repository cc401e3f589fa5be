"""The report a student reads in their terminal, from the results dictionary."""

import codecs
import os
import sys

from lab.core.outcomes import printable
from lab.engine.results import COULD_NOT_CHECK, ERROR, NOT_APPLICABLE
from lab.report.formats import expected_and_actual
from lab.report.statuses import STATUSES, kit_solved_note, questions_said

BOLD, HINT = "1", "36"  # SGR codes for step headers and totals, and for hints; status colours are in statuses.py
VALUE_LINES = 8  # of a long expected or actual value (a whole page), the lines shown


def use_colour(stream):
    """Colour only on a terminal that shows it: never when NO_COLOR is set (https://no-color.org)
    or TERM=dumb (Emacs shells, some CI logs), which prints escape codes as text."""
    if "NO_COLOR" in os.environ or os.environ.get("TERM") == "dumb":
        return False
    return hasattr(stream, "isatty") and stream.isatty()


class Terminal:
    """Writes parts of the results dictionary: step by step as checks finish, or a saved run at once (render)."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stdout
        self.colour = use_colour(self.stream)
        self.encoding = getattr(self.stream, "encoding", None) or "ascii"
        try:
            codecs.lookup(self.encoding)
        except LookupError:  # a name Python does not know: assume the least
            self.encoding = "ascii"
        try:
            "".join(status.mark for status in STATUSES.values()).encode(self.encoding)
            self.ascii_marks = False
        except UnicodeEncodeError:  # e.g. a Windows console on cp1252
            self.ascii_marks = True

    def paint(self, text, code):
        return f"\033[{code}m{text}\033[0m" if self.colour else text

    def write(self, line=""):
        # What the console cannot show (a student's "café" on ascii, "→" on cp1252)
        # becomes "?", so the report never stops partway with UnicodeEncodeError.
        line = line.encode(self.encoding, "replace").decode(self.encoding)
        print(line, file=self.stream, flush=True)

    def mark(self, status):
        look = STATUSES[status]
        return self.paint(look.ascii_mark if self.ascii_marks else look.mark, look.ansi)

    def render(self, results):
        """A whole run: what the student saw while it ran, then its summary."""
        for step in results["steps"]:
            self.step_header(step)
            for check in step["checks"]:
                self.result(check)
        self.summary(results)
        self.total(results)

    def step_header(self, step):
        """step: a step's entry in the results dictionary (its checks may not have run yet)."""
        self.write(self.paint(f"{step['id']}: {step['title']}", BOLD))

    def result(self, check):
        """check: a check's entry in the results dictionary."""
        # Its words may quote the guest (a file, an app's answer): escape sequences there are shown, never obeyed.
        check = {key: printable(value) if isinstance(value, str) else value for key, value in check.items()}
        self.write(f"  {self.mark(check['status'])} {check['description']} "
                   f"({check['points']}/{check['max_points']})")
        if check["rationale"]:
            # Said in words too, so that "?" is never read as the student's mistake.
            in_words = check["status"] in (COULD_NOT_CHECK, NOT_APPLICABLE)
            said = f"{STATUSES[check['status']].label}: " if in_words else ""
            self.write(f"      {said}{check['rationale']}")
        for line in expected_and_actual(check):
            lines = line.split("\n")
            more = len(lines) - VALUE_LINES
            for n, part in enumerate(lines[:VALUE_LINES]):
                self.write(f"      {'  ' if n else ''}{printable(part)}")
            if more > 0:
                self.write(f"        ({more} more lines in --json and the HTML report)")
        if check["hint"]:
            self.write(self.paint(f"      hint: {check['hint']}", HINT))
        for line in check["log"] if check["status"] == ERROR else ():
            if "Traceback" in line:  # --debug
                self.write(line.rstrip())

    def summary(self, results):
        """A line per step with its score, under the checks."""
        if results["steps"]:
            self.write()
        for step in results["steps"]:
            note = kit_solved_note(step)
            self.write(f"{step['id']}: {step['score']}/{step['max_score']}{questions_said(step)}" +
                       (f"  ({note})" if note else ""))

    def total(self, results):
        if len(results["steps"]) > 1:
            self.write(self.paint(f"total: {results['score']}/{results['max_score']} points"
                                  f"{questions_said(results)}", BOLD))
        if results["fault"]:
            self.write(self.paint(f"{STATUSES[COULD_NOT_CHECK].label}: {results['fault']}",
                                  STATUSES[COULD_NOT_CHECK].ansi))

