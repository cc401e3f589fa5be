"""Runs checks in dependency order, each with a timeout, and collects Results."""

import os
import signal
import sys
import threading
import time
import traceback
from contextlib import contextmanager, suppress

from lab.core.manifest import order_checks
from lab.core.outcomes import CouldNotCheck, Fail, GuestUnreachable, NotApplicable
from lab.engine.context import Context
from lab.engine.results import COULD_NOT_CHECK, ERROR, FAILED, NOT_APPLICABLE, PASSED, SKIPPED, Result


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
        elif not check.applies_on(transport.scheme):
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
    On Ctrl-C or SIGTERM the check is let finish, so that its cleanup (finally blocks)
    runs in the guest; a second one stops waiting.
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
        except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM (console.Terminated), which is taken alike
            from lab.engine.console import Terminated

            left = max(0.0, handle.deadline - time.monotonic())
            how, again = (("terminated", "send SIGTERM again") if isinstance(exc, Terminated)
                          else ("interrupted", "press Ctrl-C again"))
            print(f'{how}: letting "{check.description}" finish and clean up (at most {left:.0f} s); '
                  f"{again} to quit at once", file=sys.stderr, flush=True)
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
        self.recent = None  # the log of the check that began last
        self.users = 0
        self.host = None  # the HostOutput of descriptors 1 and 2, while installed

    @classmethod
    @contextmanager
    def installed(cls):
        with cls._lock:
            if isinstance(sys.stdout, cls):
                capture = sys.stdout
            else:
                capture = cls(sys.stdout)
                sys.stdout = capture
                capture.host = HostOutput.start(capture)
            capture.users += 1
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
        self.recent = log
        try:
            yield
        finally:
            lines.close()
            with self._lock:
                del self.logs[me]
                self._uninstall_if_idle()

    def _uninstall_if_idle(self):
        if not self.users and not self.logs and sys.stdout is self:
            # The host output first: it puts back the fallback it may have replaced.
            if self.host is not None:
                self.host.stop()
                self.host = None
            sys.stdout = self.fallback

    def logs_now(self):
        """The logs of the checks running now (else of the one that ran last): where what a
        process on this computer prints goes. With several at once (lab.grade), it can't be
        told whose process it was, so each of their logs gets it."""
        running = [lines.log for lines in list(self.logs.values())]  # list(): one step under the GIL
        return running or ([self.recent] if self.recent is not None else [])

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


def _is_open(fd):
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


class HostOutput:
    """Descriptors 1 and 2 while checks run.

    A process that a check starts on this computer inherits them, so no
    sys.stdout can catch what it prints: it would land in the middle of the
    report, or of the --json document, and go on printing after the checker
    has exited. While checks run, both lead into a pipe whose lines go to the
    running check's log, and the console streams write through copies of the
    real descriptors. When the last check is done, the processes that still
    hold the pipe (left running by a check) are ended, their process group
    with them where they lead one of their own.
    POSIX only: elsewhere the descriptors are left as they are.
    """

    def __init__(self, capture):
        self.capture = capture
        self.saved = {}  # descriptor -> a copy of what it was
        self.diverted = []  # (console stream, how to put back what was replaced, the copy it writes to)
        self.eof = threading.Event()
        self.reading = False

    @classmethod
    def start(cls, capture):
        if os.name != "posix" or not all(_is_open(fd) for fd in (0, 1, 2)):
            # With one of them closed, the pipe could be given its number and then replaced.
            return None
        host = cls(capture)
        try:
            host._start()
        except OSError:
            host.stop()
            return None  # no descriptors to spare: the checks' prints are still caught, their processes' not
        return host

    def _start(self):
        for stream in (self.capture.fallback, sys.stderr, sys.__stdout__, sys.__stderr__):
            with suppress(Exception):
                stream.flush()  # what is printed so far reaches the console before the switch
        read, write = os.pipe()
        try:
            self.pipe = os.fstat(read).st_ino
            for fd in (1, 2):
                self.saved[fd] = os.dup(fd)
            self._divert(1, lambda: self.capture.fallback, lambda s: setattr(self.capture, "fallback", s))
            self._divert(2, lambda: sys.stderr, lambda s: setattr(sys, "stderr", s))
            for fd in (1, 2):
                os.dup2(write, fd)
        except BaseException:
            os.close(read)
            raise
        finally:
            os.close(write)  # fd 1 and 2 are the pipe's writing end now
        threading.Thread(target=self._read, args=(read,), name="host output", daemon=True).start()
        self.reading = True

    def _divert(self, fd, get, put):
        """Let the Python stream that writes to fd write to its copy instead."""
        from lab.engine.console import ConsoleStream

        stream, put_back = get(), None
        if not isinstance(stream, ConsoleStream):
            try:
                if stream.fileno() != fd:
                    return  # not on the descriptor (a test's capture, a StringIO): nothing to divert
            except (AttributeError, OSError, ValueError):
                return
            original, stream = stream, ConsoleStream(stream)  # a stream that can be diverted, for now
            put(stream)

            def put_back():
                if get() is stream:
                    put(original)
        copy = open(self.saved[fd], "w", buffering=1, encoding=getattr(stream, "encoding", None) or "utf-8",
                    errors=getattr(stream, "errors", None) or "replace", closefd=False)
        stream.divert(copy)
        self.diverted.append((stream, copy, put_back))

    def _read(self, fd):
        import codecs

        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        partial = ""
        try:
            while True:
                data = os.read(fd, 65536)
                text = partial + decoder.decode(data, final=not data)
                *whole, partial = text.split("\n")
                if whole or (not data and partial):
                    lines = whole + ([partial] if not data and partial else [])
                    for log in self.capture.logs_now():
                        log.extend(line.rstrip("\r") for line in lines)
                if not data:
                    return
        finally:
            os.close(fd)
            self.eof.set()

    def stop(self):
        """Put descriptors 1 and 2 back, end what still holds the pipe, and take in its last lines."""
        # In this order, for other threads still printing: the descriptors first, so that
        # nothing written meanwhile lands in the pipe; then the streams, each of which waits
        # for a write in progress; only then are the copies closed.
        for _, copy, _ in self.diverted:
            with suppress(Exception):
                copy.flush()
        for fd, saved in self.saved.items():
            with suppress(OSError):
                os.dup2(saved, fd)
        for stream, copy, put_back in reversed(self.diverted):
            stream.undivert()
            if put_back is not None:
                put_back()
            with suppress(Exception):
                copy.close()  # closefd=False: the copy of the descriptor is closed below
        for saved in self.saved.values():
            os.close(saved)
        if not self.reading or self.eof.wait(0.5):
            return
        # A process a check left running still holds the pipe: end it, and then for certain.
        for sig in (signal.SIGTERM, signal.SIGKILL):
            holders = self._holders()
            if not holders:
                return  # none to be found (no /proc: macOS): nothing to wait for
            for pid in holders:
                _end(pid, sig)
            if self.eof.wait(2):
                return

    def _holders(self):
        """The processes that hold the pipe (Linux: /proc); none found elsewhere."""
        name, me, found = f"pipe:[{self.pipe}]", os.getpid(), []
        try:
            pids = [int(p) for p in os.listdir("/proc") if p.isdigit()]
        except OSError:
            return found
        for pid in pids:
            if pid == me:
                continue
            try:
                fds = os.listdir(f"/proc/{pid}/fd")
            except OSError:
                continue  # gone, or another user's
            for fd in fds:
                with suppress(OSError):
                    if os.readlink(f"/proc/{pid}/fd/{fd}") == name:
                        found.append(pid)
                        break
        return found


def _end(pid, sig):
    """Send sig to the process, or to its whole group where it leads one other than ours."""
    with suppress(OSError):
        group = os.getpgid(pid)
        if group == pid and group != os.getpgrp():
            os.killpg(group, sig)
        else:
            os.kill(pid, sig)


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
