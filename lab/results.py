"""The one result model every report is rendered from."""

from dataclasses import dataclass, field

PASSED, FAILED, ERROR, SKIPPED, COULD_NOT_CHECK = "passed", "failed", "error", "skipped", "could not check"


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
        return self.check.points if self.status == PASSED else 0

    def as_dict(self):
        return {
            "name": self.check.name,
            "step": self.check.step,
            "description": self.check.description,
            "status": self.status,
            "passed": self.passed,
            "points": self.score,
            "max_points": self.check.points,
            "rationale": self.rationale,
            "hint": self.hint,
            "expected": self.expected,
            "actual": self.actual,
            "log": self.log,
            "duration": round(self.duration, 3),
        }


@dataclass
class StepReport:
    step: object
    results: list

    @property
    def score(self):
        return sum(r.score for r in self.results)

    @property
    def max_score(self):
        return sum(r.check.points for r in self.results)


@dataclass
class Report:
    steps: list
    guest: str = ""
    fault: str = None  # a one-line environment problem that stopped the run

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
    def exit_code(self):
        """0 all passed, 1 something failed, 2 something could not be checked."""
        if self.fault or any(r.status == COULD_NOT_CHECK for r in self.results):
            return 2
        if all(r.status == PASSED for r in self.results):
            return 0
        return 1

    def as_dict(self):
        return {
            "score": self.score,
            "max_score": self.max_score,
            "exit_code": self.exit_code,
            "guest": self.guest,
            "fault": self.fault,
            "steps": [{"id": s.step.id, "title": s.step.title, "score": s.score, "max_score": s.max_score,
                       "checks": [r.as_dict() for r in s.results]} for s in self.steps],
        }
