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
