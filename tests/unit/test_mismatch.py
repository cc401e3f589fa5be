"""Mismatch: a Fail whose rationale is made from the expected and the actual value,
so that a check writes each once and the report's expected/actual lines agree with it."""

import pytest

from lab import Fail, Mismatch
from lab.report.formats import expected_and_actual
from lab.tools.lint import _fails_without_hint


def test_the_rationale_is_made_from_the_two_values():
    failure = Mismatch("expected the nginx service to be {expected}, found it {actual}",
                       hint="`sudo systemctl start nginx`", expected="active", actual="failed")
    assert isinstance(failure, Fail)
    assert failure.rationale == "expected the nginx service to be active, found it failed"
    assert (failure.hint, failure.expected, failure.actual) == ("`sudo systemctl start nginx`", "active", "failed")
    assert str(failure) == failure.rationale


def test_without_a_rationale_it_says_expected_and_found():
    failure = Mismatch(hint="h", expected=3, actual=1)
    assert failure.rationale == "expected 3, found 1"


def test_other_values_go_in_by_name_and_their_braces_stay_as_they_are():
    # A URL or a header from the guest may hold braces: as a value, it is never read as a template.
    failure = Mismatch("expected HTTP {expected} from {url}, got {status_line}", hint="h",
                       expected=200, actual=502, url="http://127.0.0.1:8080/{x}", status_line="502 Bad Gateway")
    assert failure.rationale == "expected HTTP 200 from http://127.0.0.1:8080/{x}, got 502 Bad Gateway"
    assert (failure.expected, failure.actual) == (200, 502)


@pytest.mark.parametrize("actual", [None, ""])
def test_nothing_reads_as_nothing_even_quoted(actual):
    failure = Mismatch("expected the Server header to say just {expected}, found {actual!r}", hint="h",
                       expected="nginx", actual=actual)
    assert failure.rationale == "expected the Server header to say just nginx, found nothing"
    assert failure.actual == actual  # the report's actual is the value itself


def test_conversions_and_format_specs_apply_to_the_value():
    failure = Mismatch("expected {expected:.1f} s, found {actual!r}", hint="h", expected=2, actual="slow")
    assert failure.rationale == "expected 2.0 s, found 'slow'"


def test_doubled_braces_are_braces_the_student_reads():
    failure = Mismatch('expected {{"likes": [...]}} with {expected}, found {actual}', hint="h",
                       expected="a list", actual="a string")
    assert failure.rationale == 'expected {"likes": [...]} with a list, found a string'


def test_a_template_naming_no_value_is_the_checks_bug():
    with pytest.raises(KeyError):
        Mismatch("expected {expected} in {unit}, found {actual}", hint="h", expected="x", actual="y")


def test_the_report_shows_the_values_beside_the_rationale():
    failure = Mismatch("expected HTTP {expected} from {url}, got {status}", hint="h", expected=200, actual=None,
                       url="http://localhost/", status="no answer")
    shown = {"expected": failure.expected, "actual": failure.actual}
    assert expected_and_actual(shown) == ["expected: 200", "actual: (nothing)"]


def test_lint_wants_a_hint_on_a_mismatch_too(tmp_path):
    (tmp_path / "step_x.py").write_text(
        'from lab import Mismatch\n\n\ndef c(ctx):\n    raise Mismatch("{expected} {actual}", expected=1, actual=2)\n'
        '\n\ndef d(ctx):\n    raise Mismatch("{expected} {actual}", "a hint", expected=1, actual=2)\n')
    assert _fails_without_hint([tmp_path]) == ["step_x.py:5: Mismatch(...) without a hint for the student"]
