"""What the terminal report writes whatever the console: a stream that cannot encode it,
and TERM=dumb."""

import io

from lab.engine.results import FAILED, PASSED
from lab.report.terminal import Terminal


def check_entry(description, max_points, status, rationale=None, hint=None):
    """A check's entry in the results dictionary, as the terminal is given it."""
    return {"name": "a_check", "step": "accents", "description": description, "status": status,
            "passed": status == PASSED, "points": max_points if status == PASSED else 0, "max_points": max_points,
            "rationale": rationale, "hint": hint, "expected": None, "actual": None, "log": [], "duration": 0.0}


def test_terminal_replaces_what_its_stream_cannot_encode():
    stream = io.TextIOWrapper(io.BytesIO(), encoding="cp1252", errors="strict", write_through=True)
    term = Terminal(stream)
    term.result(check_entry("le fichier café → servi", 2, FAILED, rationale="expected ✓ → found ✗",
                            hint="écrivez-le…"))
    term.result(check_entry("le fichier café → servi", 2, PASSED))
    assert stream.buffer.getvalue().decode("cp1252").splitlines() == [
        "  x le fichier café ? servi (0/2)", "      expected ? ? found ?", "      hint: écrivez-le…",
        "  + le fichier café ? servi (2/2)"]


# --- 8: odd flags ------------------------------------------------------------------

def test_term_dumb_means_no_colour(monkeypatch):
    class Tty(io.StringIO):
        encoding = "utf-8"

        def isatty(self):
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    coloured = Tty()
    Terminal(coloured).result(check_entry("passes", 1, PASSED))
    assert "\033[" in coloured.getvalue()
    monkeypatch.setenv("TERM", "dumb")
    plain = Tty()
    Terminal(plain).result(check_entry("passes", 1, PASSED))
    assert plain.getvalue() == "  ✓ passes (1/1)\n"
