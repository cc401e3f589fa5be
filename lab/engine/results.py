"""The one result model, and the one results dictionary every report is rendered from."""

import datetime
import json
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from lab.core import schema
from lab.core.manifest import DEFAULT_KIT_POLICY, VISIBILITIES
from lab.core.schema import Field
from lab.transports.address import without_passwords  # one rule for every address shown

PASSED, FAILED, ERROR, SKIPPED, COULD_NOT_CHECK = "passed", "failed", "error", "skipped", "could not check"
# A check of something this kind of guest doesn't have (the shared folder of a
# Vagrant VM, on a cloud server): it counts neither way.
NOT_APPLICABLE = "not applicable"
# Every status a Result can have. How each one looks is in lab/report/statuses.py;
# what it counts for is in Result.passed, Result.score, Result.max_points and Report.exit_code below.
ALL_STATUSES = (PASSED, FAILED, ERROR, SKIPPED, COULD_NOT_CHECK, NOT_APPLICABLE)

# The version of the results dictionary. Bump it when a key changes meaning or
# goes away, so that a saved run is refused rather than rendered wrong.
RESULTS_FORMAT = 1


@dataclass
class Result:
    check: object
    status: str
    rationale: str = None
    hint: str = None
    expected: object = None
    actual: object = None
    log: list = field(default_factory=list)
    duration: float = 0.0
    guest_lost: object = None  # the GuestUnreachable that ended the run here, if any
    voided: bool = False  # earned on a step the kit's solution applied, under kit_solutions = "zero"

    def __post_init__(self):
        # A misspelt status fails where it is made, not later in a renderer.
        if self.status not in ALL_STATUSES:
            raise ValueError(f"unknown status {self.status!r}; the statuses are {', '.join(ALL_STATUSES)}")

    @property
    def passed(self):
        """True, False, or None when the check did not get to judge (skipped, could not check)."""
        if self.status == PASSED:
            return True
        if self.status in (FAILED, ERROR):
            return False
        return None

    @property
    def score(self):
        return self.check.points if self.status == PASSED and not self.voided else 0

    @property
    def max_points(self):
        return 0 if self.status == NOT_APPLICABLE else self.check.points

    @property
    def separate(self):
        """Whether its points are the questions' score, apart from the step's (questions = "separate")."""
        return getattr(self.check, "separate", False)

    def as_dict(self):
        """This check's entry in the results dictionary."""
        return {
            "name": self.check.name,
            "step": self.check.step,
            "description": self.check.description,
            "status": self.status,
            "passed": self.passed,
            "points": self.score,
            "max_points": self.max_points,
            "separate": self.separate,
            # An address with a password (http=http://user:secret@host) is said without it.
            "rationale": without_passwords(self.rationale) if self.rationale else self.rationale,
            "hint": self.hint,
            "expected": self.expected,
            "actual": self.actual,
            "log": [without_passwords(line) for line in self.log],
            "duration": round(self.duration, 3),
        }


@dataclass
class StepReport:
    step: object
    results: list
    # When the kit's reference solution last applied this step in the guest (its
    # record there, lab/core/solved.py), and what the course makes of that.
    kit_solved: str = None
    kit_policy: str = DEFAULT_KIT_POLICY

    def __post_init__(self):
        if self.kit_solved and self.kit_policy == "zero":
            for result in self.results:
                result.voided = True

    @property
    def score(self):
        """The step's points, without those of questions that are a score of their own."""
        return sum(r.score for r in self.results if not r.separate)

    @property
    def max_score(self):
        return sum(r.max_points for r in self.results if not r.separate)

    @property
    def questions_score(self):
        """The points of its questions that are a score of their own; 0 unless questions = "separate"."""
        return sum(r.score for r in self.results if r.separate)

    @property
    def questions_max_score(self):
        return sum(r.max_points for r in self.results if r.separate)

    def as_dict(self):
        """This step's entry in the results dictionary."""
        # When Gradescope shows each check: the course's manifest says (lab/core/manifest.py), else always.
        visibility_of = getattr(self.step, "visibility_of", lambda name: "visible")
        return {"id": self.step.id, "title": self.step.title, "score": self.score, "max_score": self.max_score,
                "questions_score": self.questions_score, "questions_max_score": self.questions_max_score,
                "kit_solved": self.kit_solved, "kit_policy": self.kit_policy,
                "checks": [{**r.as_dict(), "visibility": visibility_of(r.check.name)} for r in self.results]}


@dataclass
class Report:
    steps: list
    guest: str = ""
    fault: str = None  # a one-line environment problem that stopped the run
    # When the run happened, so that a page rendered again later from the saved JSON says the same;
    # with the UTC offset, so that runs in a class graded across time zones (or a DST change) compare.
    checked_at: str = field(default_factory=lambda: datetime.datetime.now().astimezone().isoformat(
        timespec="seconds"))

    @property
    def results(self):
        return [r for s in self.steps for r in s.results]

    @property
    def score(self):
        return sum(s.score for s in self.steps)

    @property
    def max_score(self):
        return sum(s.max_score for s in self.steps)

    @property
    def questions_score(self):
        return sum(s.questions_score for s in self.steps)

    @property
    def questions_max_score(self):
        return sum(s.questions_max_score for s in self.steps)

    @property
    def exit_code(self):
        """0 all passed, 1 something failed, 2 something could not be checked."""
        if self.fault or any(r.status == COULD_NOT_CHECK for r in self.results):
            return 2
        if all(r.status in (PASSED, NOT_APPLICABLE) for r in self.results):
            return 0
        return 1

    def as_dict(self):
        """The results dictionary: everything any report shows, as JSON values.

        Every renderer (terminal, JSON, JUnit, Gradescope, HTML) reads this and
        nothing else, so a run saved with --json renders again exactly.
        """
        return {
            "format": RESULTS_FORMAT,
            "checked_at": self.checked_at,
            "score": self.score,
            "max_score": self.max_score,
            # The concept questions' own score, where the course keeps it apart (questions = "separate").
            "questions_score": self.questions_score,
            "questions_max_score": self.questions_max_score,
            "exit_code": self.exit_code,
            # Never a secret: an address given with a password is kept as user@host:port.
            "guest": shown_guest(self.guest),
            "fault": without_passwords(self.fault) if self.fault else self.fault,
            "steps": [s.as_dict() for s in self.steps],
        }


# A password in an address: scheme://user:PASSWORD@host. Up to the last @ of the address, as urlsplit reads it.
def shown_guest(guest):
    """The guest as the results show it: an ssh:// address as user@host:port, as a graded run's
    transport describes it, and no password or query (a key's path) in any address."""
    guest = without_passwords(guest)
    try:
        parts = urlsplit(guest)
        host, port = parts.hostname, parts.port or 22
    except ValueError:  # an address too broken to read (an unbalanced [, a port of letters)
        return guest
    if parts.scheme != "ssh" or not host:
        return guest
    host = f"[{host}]" if ":" in host else host
    return f"{unquote(parts.username)}@{host}:{port}" if parts.username else f"{host}:{port}"


# --- a saved results dictionary, read back ---------------------------------------------

class BadResults(ValueError):
    """A saved results dictionary that cannot be rendered; the message is one line saying why."""


# The keys each level of the results dictionary must have, and the JSON types of their
# values, as as_dict() writes them. Keys beyond these are ignored. A field's `wanted` is
# what the message says of a value of the right type that is not allowed, {value} standing for it.
NUMBER, TEXT, NOTHING = (int, float), (str,), (type(None),)
ANY = (object,)
# The questions' own score and its max are optional: files saved before a course could keep them
# apart have none, and read as 0 (every renderer uses .get).
QUESTIONS_KEYS = {"questions_score": Field(NUMBER, required=False),
                  "questions_max_score": Field(NUMBER, required=False)}
REPORT_KEYS = {"format": Field((int,)), "checked_at": Field(TEXT), "score": Field(NUMBER),
               "max_score": Field(NUMBER), **QUESTIONS_KEYS, "exit_code": Field((int,)), "guest": Field(TEXT),
               "fault": Field(TEXT + NOTHING), "steps": Field((list,))}
STEP_KEYS = {"id": Field(TEXT), "title": Field(TEXT), "score": Field(NUMBER), "max_score": Field(NUMBER),
             **QUESTIONS_KEYS, "checks": Field((list,))}
CHECK_KEYS = {
    "name": Field(TEXT), "step": Field(TEXT + NOTHING), "description": Field(TEXT),
    "status": Field(TEXT, allowed=ALL_STATUSES,
                    wanted=f"{{value}} is not a status; the statuses are {', '.join(ALL_STATUSES)}"),
    "passed": Field((bool,) + NOTHING), "points": Field(NUMBER), "max_points": Field(NUMBER),
    "rationale": Field(TEXT + NOTHING), "hint": Field(TEXT + NOTHING), "expected": Field(ANY),
    "actual": Field(ANY),
    "log": Field((list,), allowed=lambda log: all(isinstance(line, str) for line in log),
                 wanted="every line of the log must be text"),
    "duration": Field(NUMBER),
    "separate": Field((bool,), required=False),  # optional, as the questions' score above
    # Optional (files saved before a course could hide checks have none), but it goes
    # on into gradescope.json as it is, so only a value Gradescope knows.
    "visibility": Field(ANY, required=False, allowed=VISIBILITIES,
                        wanted=f"{{value}} is not a visibility; the visibilities are {', '.join(VISIBILITIES)}"),
}
JSON_TYPE_NAMES = {int: "a whole number", float: "a number", str: "text", type(None): "null", bool: "true or false",
                   list: "a list", dict: "an object", object: "anything"}


def check_results(data):
    """Return data if it is a results dictionary this checker can render; else raise BadResults
    naming the first thing wrong, such as 'steps[0].checks[2]: no "status"'."""
    if not isinstance(data, dict):
        raise BadResults(f"not a results dictionary: the JSON is {_json_type(data)}, not an object")
    if "format" not in data:
        raise BadResults('not a results dictionary: it has no "format"; '
                         "give the file that `python -m lab.check --json` wrote")
    version = data["format"]
    if not schema.is_a(version, (int,)) or version < 1:
        raise BadResults(f'"format" is {json.dumps(version)}, not a format version')
    if version != RESULTS_FORMAT:
        raise BadResults(f"it is in format {version}, and this checker reads format {RESULTS_FORMAT}; "
                         f"render it with the version of the checker that wrote it")
    _check_keys(data, REPORT_KEYS, "")
    for i, step in enumerate(data["steps"]):
        where = f"steps[{i}]"
        _check_keys(step, STEP_KEYS, where)
        for j, check in enumerate(step["checks"]):
            _check_keys(check, CHECK_KEYS, f"{where}.checks[{j}]")
    return data


def _check_keys(obj, fields, where):
    if not isinstance(obj, dict):
        raise BadResults(f"{where + ': ' if where else ''}is {_json_type(obj)}, not an object")
    found = schema.problems(obj, fields)
    if found:
        raise BadResults(_said(found[0], where))


def _said(problem, where):
    """One problem of a results dictionary, in one line that says where it is."""
    if problem.kind == schema.MISSING:
        return f'{where + ": " if where else ""}no "{problem.key}"'
    at = f"{where}.{problem.key}" if where else problem.key
    if problem.kind == schema.WRONG_TYPE:
        types = problem.field.types
        expected = " or ".join(JSON_TYPE_NAMES[t] for t in types if not (t is int and float in types))
        return f"{at}: expected {expected}, found {_json_type(problem.value)}"
    return f"{at}: {problem.field.wanted.replace('{value}', json.dumps(problem.value))}"


def _json_type(value):
    for python_type in (bool, int, float, str, type(None), list, dict):
        if isinstance(value, python_type):
            return JSON_TYPE_NAMES[python_type]
    return type(value).__name__
