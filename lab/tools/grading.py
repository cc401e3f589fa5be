"""Grading a class for `python -m lab.grade`: several students at once, each guest in a
thread of its own, and the progress line."""

import queue
import sys
import threading
import time
from collections import deque
from urllib.parse import urlsplit

from lab.core.manifest import DEFAULT_KIT_POLICY
from lab.engine.results import Report
from lab.report.statuses import questions_said


def say(message):
    print(f"lab.grade: {message}", file=sys.stderr, flush=True)


class _Abandoned(Exception):
    """Raised into a student's run once its time is up, to end it at the next check."""


def grade_all(students, settings_for, steps, shown, wanted, jobs, timeout, kit_policy=DEFAULT_KIT_POLICY):
    """Yield (student, Report) as each student is done, grading at most jobs at a time.

    Each student runs in a daemon thread of their own, with their own transport.
    One whose run is not done within timeout seconds is reported as could not
    check and left behind: their thread is told to stop at its next check and
    can never delay the others or the exit of the program. On Ctrl-C (or SIGTERM)
    the checks still running are let finish, so that each puts its guest back.
    """
    from lab.engine.session import grade_guest

    waiting = deque(students)
    running = {}  # name -> (deadline, cancelled Event, thread)
    finished = queue.Queue()

    def work(student, cancelled):
        def stop_if_abandoned(_result):
            if cancelled.is_set():
                raise _Abandoned()

        try:
            report = grade_guest(settings_for(student), steps, shown, wanted, on_result=stop_if_abandoned,
                             kit_policy=kit_policy)
        except _Abandoned:
            return
        except Exception as exc:  # a bug met on one guest must not end the others' grading
            report = Report([], guest=student.guest,
                            fault=f"the checker crashed: {type(exc).__name__}: {exc}".rstrip(": "))
        finished.put((student, report))

    try:
        while waiting or running:
            while waiting and len(running) < jobs:
                student = waiting.popleft()
                cancelled = threading.Event()
                thread = threading.Thread(target=work, args=(student, cancelled), name=f"grade {student.name}",
                                          daemon=True)
                running[student.name] = (time.monotonic() + timeout, cancelled, thread)
                thread.start()
            first_deadline = min(deadline for deadline, _, _ in running.values())
            try:
                student, report = finished.get(timeout=max(0.0, first_deadline - time.monotonic()))
            except queue.Empty:
                now = time.monotonic()
                for student in [s for s in students if s.name in running and running[s.name][0] <= now]:
                    running.pop(student.name)[1].set()
                    yield student, Report([], guest=student.guest,
                                          fault=f"did not finish within {timeout:g} s: the guest may be hung "
                                                f"or very slow; grade them again with --only")
                continue
            # A student already given up on may still finish later; their result is not used.
            if running.pop(student.name, None) is not None:
                yield student, report
    finally:  # Ctrl-C, or the caller stopped early: whatever still runs stops at its next check
        for _, cancelled, _ in running.values():
            cancelled.set()
        _let_running_checks_finish([thread for _, _, thread in running.values()], steps)


def _let_running_checks_finish(threads, steps):
    """Wait, up to the longest time a check may take, for the threads still in a check: one
    stopped now would leave its change in the guest (a stopped service, a like it posted)."""
    alive = [thread for thread in threads if thread.is_alive()]
    if not alive:
        return
    grace = max((check.timeout for step in steps for check in step.checks), default=30)
    say(f"waiting up to {grace:g} s for {len(alive)} running check{'s' if len(alive) > 1 else ''} to put "
        f"{'their guests' if len(alive) > 1 else 'its guest'} back; Ctrl-C (or SIGTERM) again stops at once")
    end = time.monotonic() + grace
    for thread in alive:
        thread.join(max(0.0, end - time.monotonic()))


def preload(students):
    """Import in this thread what the workers would otherwise all import at once for their
    first student: concurrent first imports of one module can deadlock or see it half made."""
    from lab.engine import runner, session  # noqa: F401  (the session imports the runner when it first grades)
    from lab.guest import system  # noqa: F401
    from lab.report import formats, html  # noqa: F401
    from lab.transports import transport_class

    for scheme in sorted({urlsplit(s.guest).scheme for s in students}):
        transport_class(f"{scheme}://")
    if any(urlsplit(s.guest).scheme == "ssh" for s in students):
        import paramiko  # noqa: F401  (ssh.py imports it when it connects)


class Progress:
    """On a terminal, one line rewritten in place; elsewhere (a log, a pipe), a line per student."""

    def __init__(self, stream, total):
        self.stream, self.total = stream, total
        self.live = stream.isatty()
        self.done = self.faults = 0
        self.width = 0

    def start(self):
        if self.live:
            self._rewrite()

    def finished(self, student, results):
        self.done += 1
        if results["fault"]:
            self.faults += 1
        if self.live:
            self._rewrite()
            return
        grade = (f"could not check: {results['fault']}" if results["fault"]
                 else f"{results['score']}/{results['max_score']} points{questions_said(results)}")
        print(f"[{self.done}/{self.total}] {student.name}: {grade}", file=self.stream, flush=True)

    def end(self):
        if self.live:
            print(file=self.stream, flush=True)

    def _rewrite(self):
        line = f"graded {self.done}/{self.total}, {self.faults} could not be checked"
        # Spaces over what is left of a longer line before, with no terminal codes.
        self.stream.write("\r" + line.ljust(self.width))
        self.stream.flush()
        self.width = len(line)
