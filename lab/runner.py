"""Runs checks in dependency order, each with a timeout, and collects Results."""

import sys
import threading
import time
import traceback
from contextlib import contextmanager

from .context import Context
from .manifest import order_checks
from .outcomes import CouldNotCheck, Fail, GuestUnreachable, NotApplicable
from .results import COULD_NOT_CHECK, ERROR, FAILED, NOT_APPLICABLE, PASSED, SKIPPED, Result


def closure(checks):
    """The checks plus everything they depend on, recursively."""
    seen, todo = [], list(checks)
    while todo:
        check = todo.pop(0)
        if check not in seen:
            seen.append(check)
            todo.extend(check.depends)
    return seen


def run_checks(checks, transport, settings, on_result=None):
    """Run checks and what they need; return {check: Result} for every check that ran or was skipped."""
    results = {}
    lost = None  # set once the guest is gone: nothing after that can run
    for check in order_checks(closure(checks)):
        if lost is not None:
            result = Result(check, COULD_NOT_CHECK, rationale=lost.one_line())
        elif check.applies_to is not None and transport.scheme not in check.applies_to:
            kinds = " and ".join(f"{kind}://" for kind in check.applies_to)
            result = Result(check, NOT_APPLICABLE, rationale=f"a check of {kinds} guests only; this guest is "
                                                             f"{transport.scheme}://, so it counts neither way")
        else:
            # A check that doesn't apply to this guest blocks nothing that builds on it.
            blocker = next((d for d in check.depends if results[d].status not in (PASSED, NOT_APPLICABLE)), None)
            if blocker is not None:
                why = "could not be checked" if results[blocker].status == COULD_NOT_CHECK else "passes"
                result = Result(check, SKIPPED, rationale=f"can't check until \"{blocker.description}\" {why}")
            else:
                result = run_one(check, transport, settings)
                if result.guest_lost:
                    lost = result.guest_lost
        results[check] = result
        if on_result:
            on_result(result)
    return results


def run_one(check, transport, settings):
    """Run one check in a worker thread, so that a stuck check is abandoned after its timeout.

    Its commands go through a handle that ends each one by the check's deadline
    and is retired when the check is abandoned; what it prints goes to its log.
    On Ctrl-C the check is let finish, so that its cleanup (finally blocks) runs in
    the guest; a second Ctrl-C stops waiting.
    """
    started = time.monotonic()
    handle = transport.for_check(started + check.timeout)
    ctx = Context.for_check(handle, settings)
    outcome = {}

    # Waited for with an Event, not Thread.join: a join that Ctrl-C interrupts marks
    # the thread as ended while it still runs (CPython's _wait_for_tstate_lock).
    done = threading.Event()
    # Set once the thread's prints go to its log. Until then this run holds the capture
    # installed: were the check abandoned before its thread got that far (a tiny timeout,
    # a machine busy grading a class), the capture could be gone by the time it prints,
    # and its prints would land in the report or in another run's capture.
    capturing = threading.Event()

    with PrintCapture.installed() as prints:
        def target():
            try:
                with prints.into(ctx.log):
                    capturing.set()
                    check(ctx)
                outcome["status"] = PASSED
            except BaseException as exc:  # reported below, never raised into the runner
                outcome["exc"] = exc
                outcome["tb"] = traceback.format_exc()
            finally:
                capturing.set()
                done.set()

        threading.Thread(target=target, name=f"check {check.id}", daemon=True).start()
        try:
            capturing.wait()
            done.wait(check.timeout)
        except KeyboardInterrupt:
            left = max(0.0, handle.deadline - time.monotonic())
            print(f'interrupted: letting "{check.description}" finish and clean up (at most {left:.0f} s); '
                  f"press Ctrl-C again to quit at once", file=sys.stderr, flush=True)
            done.wait(left)  # a second Ctrl-C raises out of here
            handle.retire()
            raise
    elapsed = time.monotonic() - started
    if not done.is_set():
        handle.retire()
        result = Result(check, COULD_NOT_CHECK,
                        rationale=f"the check did not finish within {check.timeout:g} s: the guest may be "
                                  f"overloaded or a command hung; run the checker again")
    elif "exc" not in outcome:
        result = Result(check, PASSED)
    else:
        result = _from_exception(check, outcome["exc"], outcome["tb"], settings.debug)
    result.log = ctx.log + result.log
    result.duration = elapsed
    return result


class PrintCapture:
    """sys.stdout while checks run: what a check's thread prints goes to that check's
    log, and everything else where it went before.

    A redirect of sys.stdout for everyone would also swallow the report the main
    thread prints. A check abandoned after its timeout keeps its log as the place
    its prints go, so that nothing it prints later can land in the report (such as
    the --json document); the capture stays installed until that thread ends.
    """

    _lock = threading.Lock()

    def __init__(self, fallback):
        self.fallback = fallback
        self.logs = {}  # thread ident -> _LogLines
        self.users = 0

    @classmethod
    @contextmanager
    def installed(cls):
        with cls._lock:
            capture = sys.stdout if isinstance(sys.stdout, cls) else cls(sys.stdout)
            capture.users += 1
            sys.stdout = capture
        try:
            yield capture
        finally:
            with cls._lock:
                capture.users -= 1
                capture._uninstall_if_idle()

    @contextmanager
    def into(self, log):
        """In the calling thread, send what is printed to log, a line per entry."""
        me, lines = threading.get_ident(), _LogLines(log)
        self.logs[me] = lines
        try:
            yield
        finally:
            lines.close()
            with self._lock:
                del self.logs[me]
                self._uninstall_if_idle()

    def _uninstall_if_idle(self):
        if not self.users and not self.logs and sys.stdout is self:
            sys.stdout = self.fallback

    def write(self, text):
        lines = self.logs.get(threading.get_ident())
        if lines is None:
            return self.fallback.write(text)
        lines.write(text)
        return len(text)

    def flush(self):
        if threading.get_ident() not in self.logs:
            self.fallback.flush()

    def __getattr__(self, name):  # encoding, isatty(), fileno(), ... of the real stream
        return getattr(self.fallback, name)


class _LogLines:
    """Text written in pieces, added to a log one whole line at a time."""

    def __init__(self, log):
        self.log, self.partial = log, ""

    def write(self, text):
        *whole, self.partial = (self.partial + text).split("\n")
        self.log.extend(whole)

    def close(self):
        if self.partial:
            self.log.append(self.partial)
            self.partial = ""


def _from_exception(check, exc, tb, debug):
    if isinstance(exc, Fail):
        return Result(check, FAILED, rationale=exc.rationale, hint=exc.hint, expected=exc.expected,
                      actual=exc.actual)
    if isinstance(exc, NotApplicable):
        return Result(check, NOT_APPLICABLE, rationale=exc.reason)
    if isinstance(exc, CouldNotCheck):
        return Result(check, COULD_NOT_CHECK, rationale=exc.one_line(),
                      guest_lost=exc if isinstance(exc, GuestUnreachable) else None)
    if isinstance(exc, AssertionError):
        # A bare assert in a check: the first line of its message, if any, is the rationale.
        message = str(exc).strip().splitlines()
        return Result(check, FAILED, rationale=message[0] if message else "an assertion in the check failed")
    summary = f"the check itself crashed: {type(exc).__name__}: {exc}".rstrip(": ")
    result = Result(check, ERROR, rationale=summary,
                    hint=None if debug else "run again with --debug to see where; tell your instructor")
    if debug:
        result.log.append(tb)
    return result
