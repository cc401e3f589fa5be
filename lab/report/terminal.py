"""The report a student reads in their terminal."""

import codecs
import os
import sys

from ..results import COULD_NOT_CHECK, ERROR, FAILED, PASSED, SKIPPED

MARKS = {PASSED: "✓", FAILED: "✗", ERROR: "✗", SKIPPED: "–", COULD_NOT_CHECK: "?"}
ASCII_MARKS = {PASSED: "+", FAILED: "x", ERROR: "x", SKIPPED: "-", COULD_NOT_CHECK: "?"}
COLOURS = {PASSED: "32", FAILED: "31", ERROR: "31", SKIPPED: "33", COULD_NOT_CHECK: "35"}


def use_colour(stream):
    """Colour only on a terminal that shows it: never when NO_COLOR is set (https://no-color.org)
    or TERM=dumb (Emacs shells, some CI logs), which prints escape codes as text."""
    if "NO_COLOR" in os.environ or os.environ.get("TERM") == "dumb":
        return False
    return hasattr(stream, "isatty") and stream.isatty()


class Terminal:
    def __init__(self, stream=None):
        self.stream = stream or sys.stdout
        self.colour = use_colour(self.stream)
        self.encoding = getattr(self.stream, "encoding", None) or "ascii"
        try:
            codecs.lookup(self.encoding)
        except LookupError:  # a name Python does not know: assume the least
            self.encoding = "ascii"
        try:
            "✓✗–".encode(self.encoding)
            self.marks = MARKS
        except UnicodeEncodeError:  # e.g. a Windows console on cp1252
            self.marks = ASCII_MARKS

    def paint(self, text, code):
        return f"\033[{code}m{text}\033[0m" if self.colour else text

    def write(self, line=""):
        # What the console cannot show (a student's "café" on ascii, "→" on cp1252)
        # becomes "?", so the report never stops partway with UnicodeEncodeError.
        line = line.encode(self.encoding, "replace").decode(self.encoding)
        print(line, file=self.stream, flush=True)

    def step_header(self, step):
        self.write(self.paint(f"{step.id}: {step.title}", "1"))

    def result(self, result):
        check = result.check
        mark = self.paint(self.marks[result.status], COLOURS[result.status])
        points = f"{result.score}/{check.points}"
        self.write(f"  {mark} {check.description} ({points})")
        if result.status == PASSED:
            return
        if result.status == SKIPPED:
            self.write(f"      {result.rationale}")
            return
        prefix = {COULD_NOT_CHECK: "could not check: ", ERROR: ""}.get(result.status, "")
        self.write(f"      {prefix}{result.rationale}")
        if result.hint:
            self.write(self.paint(f"      hint: {result.hint}", "36"))
        for line in result.log if result.status == ERROR else ():
            if "Traceback" in line:  # --debug
                self.write(line.rstrip())

    def total(self, report):
        if len(report.steps) > 1:
            self.write(self.paint(f"total: {report.score}/{report.max_score} points", "1"))
        if report.fault:
            self.write(self.paint(f"could not check: {report.fault}", COLOURS[COULD_NOT_CHECK]))
