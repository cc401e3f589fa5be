"""Runs checks in dependency order, each with a timeout, and collects Results."""

import threading
import time
import traceback

from .context import Context
from .manifest import order_checks
from .outcomes import CouldNotCheck, Fail, GuestUnreachable
from .results import COULD_NOT_CHECK, ERROR, FAILED, PASSED, SKIPPED, Result


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
        else:
            blocker = next((d for d in check.depends if results[d].status != PASSED), None)
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
    """Run one check in a worker thread, so that a stuck check is abandoned after its timeout."""
    ctx = Context.for_check(transport, settings)
    outcome = {}

    def target():
        try:
            check(ctx)
            outcome["status"] = PASSED
        except BaseException as exc:  # reported below, never raised into the runner
            outcome["exc"] = exc
            outcome["tb"] = traceback.format_exc()

    started = time.monotonic()
    worker = threading.Thread(target=target, name=f"check {check.id}", daemon=True)
    worker.start()
    worker.join(check.timeout)
    elapsed = time.monotonic() - started
    if worker.is_alive():
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


def _from_exception(check, exc, tb, debug):
    if isinstance(exc, Fail):
        return Result(check, FAILED, rationale=exc.rationale, hint=exc.hint, expected=exc.expected,
                      actual=exc.actual)
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
