"""One guest graded: open its transport, run the wanted checks, close it.

Every entry point grades through here, so that a student's `lab.check`, a
class's `lab.grade` and the instructors' `lab.selftest` sum scores, mark
kit-solved steps and report an unreachable guest the same way.
"""

from lab.core.manifest import DEFAULT_KIT_POLICY
from lab.core.outcomes import CouldNotCheck
from lab.engine.results import Report, StepReport


class Session:
    """An open connection to one guest, graded as many times as needed.

    The selftest keeps one across its steps (reopened after a reboot); a
    student's run and each student of a class use one for a single grading.
    """

    def __init__(self, settings):
        self.settings = settings
        self.transport = None

    def open(self):
        """Connect; an unreachable guest raises CouldNotCheck with its one line."""
        from lab.transports import open_transport

        self.close()
        self.transport = open_transport(self.settings.guest_url, self.settings)
        return self

    def close(self):
        if self.transport is not None:
            self.transport.close()
            self.transport = None

    def __enter__(self):
        return self.open()

    def __exit__(self, *exc):
        self.close()

    def grade(self, steps, shown=None, wanted=None, on_result=None, kit_policy=DEFAULT_KIT_POLICY):
        """A Report of these steps. wanted: the checks to run (default: all of the
        steps'); shown: {step id: its checks the report lists} (default: all).
        on_result(result) sees each result as it arrives. Steps the kit's reference
        solution applied are marked, and earn what kit_policy (the course's
        kit_solutions) says."""
        from lab.engine.runner import run_checks
        from lab.guest import system

        wanted = [c for s in steps for c in s.checks] if wanted is None else wanted
        shown = {s.id: list(s.checks) for s in steps} if shown is None else shown
        results = run_checks(wanted, self.transport, self.settings, on_result=on_result)
        try:
            kit_solved = system.Guest(self.transport).kit_solved()
        except CouldNotCheck:
            kit_solved = {}  # the grade stands; only the marker is unknown
        return Report([StepReport(s, [results[c] for c in shown[s.id]], kit_solved=kit_solved.get(s.id),
                                  kit_policy=kit_policy) for s in steps], guest=self.transport.describe())


def grade_guest(settings, steps, shown=None, wanted=None, on_result=None, kit_policy=DEFAULT_KIT_POLICY):
    """Grade one guest once. Returns the Report: its steps, or its fault, one line,
    when the guest could not be reached."""
    session = Session(settings)
    try:
        session.open()
    except CouldNotCheck as exc:
        return Report([], guest=settings.guest_url, fault=exc.one_line())
    with session:
        return session.grade(steps, shown, wanted, on_result=on_result, kit_policy=kit_policy)
