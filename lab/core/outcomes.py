"""What a check can conclude besides passing."""

import re

# C0 and C1 control characters but tab and newline, and DEL: in a guest's output, an ESC starts a
# terminal escape sequence (a colour, a cleared screen, a retitled window), a CR overwrites the line.
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text):
    """text with control characters shown escaped ("\\x1b[2J"), for a terminal to show, never obey."""
    return _CONTROLS.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


class Fail(Exception):
    """The student's work does not do what the check expects.

    rationale and hint are read by a beginner: say what was expected and what
    was found, in lower case, and suggest one thing to try.
    """

    def __init__(self, rationale, hint=None, expected=None, actual=None):
        super().__init__(rationale)
        self.rationale = rationale
        self.hint = hint
        self.expected = expected
        self.actual = actual


class Mismatch(Fail):
    """A value that is not the one the check expects, with the rationale made from the
    expected and the actual value, so that each is written once:

        raise Mismatch("expected the nginx service to be {expected}, found it {actual}",
                       hint="`sudo systemctl start nginx`", expected="active", actual=state)

    The rationale is a template, as str.format reads it: {expected} and {actual}
    (with !r or a format spec if it likes), and any other value given as a keyword,
    {unit} for unit=...; a brace the student reads is written twice, {{ or }}. Give
    it a plain string, not an f-string: a value the guest sent may hold braces.
    Without a rationale it says "expected ..., found ...". Nothing, None or "",
    reads as "nothing", never as Python's None.
    """

    def __init__(self, rationale=None, hint=None, *, expected, actual, **values):
        template = rationale or "expected {expected}, found {actual}"
        said = {name: _Said(value) for name, value in {**values, "expected": expected, "actual": actual}.items()}
        super().__init__(template.format_map(said), hint, expected, actual)


class _Said:
    """A value as a rationale says it: as str.format would, but nothing as "nothing"."""

    def __init__(self, value):
        self.value = value

    def _nothing(self):
        return self.value is None or self.value == ""

    def __format__(self, spec):
        return "nothing" if self._nothing() else format(self.value, spec)

    def __str__(self):
        return "nothing" if self._nothing() else str(self.value)

    def __repr__(self):
        return "nothing" if self._nothing() else repr(self.value)


class CouldNotCheck(Exception):
    """The environment stopped the check, not the student's work: a VM that is
    down, a missing program, a port nothing forwards. remedy says how to fix it."""

    def __init__(self, reason, remedy=None):
        super().__init__(reason)
        self.reason = reason
        self.remedy = remedy

    def one_line(self):
        return f"{self.reason}: {self.remedy}" if self.remedy else self.reason


class NotApplicable(Exception):
    """What the check asks about can't exist on this guest, through no doing of the
    student's (a provider that can't do it): the check counts neither way. reason says why."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


class GuestUnreachable(CouldNotCheck):
    """The connection to the guest is gone; no later check can run either."""
