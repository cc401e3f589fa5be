"""The runner (lab/engine/runner.py), in process: every outcome of a check, a lost guest,
a target and what it needs; and checks kept apart (issue 9): what a check prints, and
what an abandoned check still tries to do."""

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from lab import CouldNotCheck, Registry
from lab.core.outcomes import GuestUnreachable
from lab.engine.context import Settings
from lab.engine.results import COULD_NOT_CHECK, PASSED
from lab.engine.runner import run_checks
from lab.transports.base import CommandResult, Transport
from tests.support.engine_fakes import FakeTransport, make_checks, settings

# --- every outcome of a check ------------------------------------------------------

def test_runner_outcomes(tmp_path):
    checks = make_checks()
    started = time.monotonic()
    results = run_checks(list(checks.values()), FakeTransport(), settings(tmp_path))
    assert time.monotonic() - started < 3, "the hung check was not abandoned at its timeout"
    status = {c.name: r.status for c, r in results.items()}
    assert status == {"passes": "passed", "fails": "failed", "skipped": "skipped", "crashes": "error",
                      "hangs": "could not check", "env": "could not check", "after_env": "skipped",
                      "asserts": "failed"}
    by_name = {c.name: r for c, r in results.items()}
    assert by_name["passes"].log == ["$ true  -> rc=0"]
    assert by_name["fails"].hint == "try z"
    assert by_name["skipped"].rationale == 'can\'t check until "fails" passes'
    assert by_name["after_env"].rationale == 'can\'t check until "environment" could not be checked'
    assert by_name["crashes"].rationale == "the check itself crashed: ZeroDivisionError: division by zero"
    assert "did not finish within 0.2 s" in by_name["hangs"].rationale
    assert by_name["env"].rationale == "the port is closed: run vagrant reload"
    assert by_name["asserts"].rationale == "one is not two"


def test_debug_keeps_the_traceback(tmp_path):
    crashes = make_checks()["crashes"]
    results = run_checks([crashes], FakeTransport(), Settings(root=tmp_path, debug=True))
    assert "Traceback" in results[crashes].log[-1]
    assert results[crashes].hint is None


def test_losing_the_guest_stops_the_run(tmp_path):
    check = Registry()

    @check
    def first(ctx):
        """first"""
        raise GuestUnreachable("lost the SSH connection", "is the VM running?")

    @check
    def second(ctx):
        """second"""
        raise AssertionError("must not run")

    transport = FakeTransport()
    results = run_checks([first, second], transport, settings(tmp_path))
    assert [r.status for r in results.values()] == ["could not check"] * 2
    assert results[second].rationale == "lost the SSH connection: is the VM running?"


def test_target_runs_what_it_needs_only(tmp_path):
    checks = make_checks()
    results = run_checks([checks["skipped"]], FakeTransport(), settings(tmp_path))
    assert [c.name for c in results] == ["passes", "fails", "skipped"]


# --- checks kept apart (issue 9) ----------------------------------------------------

class SlowTransport(Transport):
    """Answers `echo X` with X; `hang` ignores its timeout and waits until interrupted."""

    scheme = "slow"

    def __init__(self):
        self.commands = []
        self.woken = threading.Event()

    def run_command(self, command, timeout):
        if command == "hang":
            self.woken.wait(30)
            raise CouldNotCheck("`hang` was stopped")
        self.commands.append(command)
        return CommandResult(command, 0, command.removeprefix("echo ") + "\n", "")

    def interrupt(self):
        self.woken.set()


def test_print_in_a_check_goes_to_its_log(capsys, tmp_path):
    check = Registry()

    @check
    def chatty(ctx):
        """a check that prints"""
        print("looking at", "the guest")
        ctx.guest.run("echo hi")
        sys.stdout.write("no newline at the end")

    [result] = run_checks([chatty], SlowTransport(), Settings(root=tmp_path)).values()
    assert result.status == PASSED
    assert result.log == ["looking at the guest", "$ echo hi  -> rc=0  hi", "no newline at the end"]
    assert capsys.readouterr().out == ""
    print("the runner's own output")
    assert capsys.readouterr().out == "the runner's own output\n"


def test_an_abandoned_check_reaches_nothing_after_its_timeout(capsys, tmp_path):
    check = Registry()
    finished = threading.Event()

    @check(timeout=0.5)
    def stuck(ctx):
        """a check that hangs, then carries on"""
        try:
            ctx.guest.run("hang", timeout=30)
        except CouldNotCheck:
            pass
        time.sleep(0.5)
        print("printed after the timeout")
        try:
            ctx.guest.run("echo from the abandoned check")
        except CouldNotCheck:
            pass
        finished.set()

    @check
    def after(ctx):
        """a later check"""
        ctx.guest.run("echo from the later check")

    transport = SlowTransport()
    started = time.monotonic()
    results = run_checks([stuck, after], transport, Settings(root=tmp_path))
    assert time.monotonic() - started < 1
    assert transport.woken.is_set(), "the command in flight is interrupted when its check is abandoned"
    assert [r.status for r in results.values()] == [COULD_NOT_CHECK, PASSED]
    assert finished.wait(5)
    assert transport.commands == ["echo from the later check"]
    assert capsys.readouterr().out == "", "an abandoned check's print must not reach the report"


@pytest.mark.skipif(os.name != "posix", reason="descriptors 1 and 2 are caught on POSIX")
def test_what_a_checks_own_process_prints_goes_to_its_log(capfd, tmp_path):
    check = Registry()

    @check
    def forks(ctx):
        """a check whose processes print on this computer"""
        subprocess.run(["echo", "from a child"], check=True)
        os.system("echo from a shell >&2")

    @check
    def quiet(ctx):
        """a check after it"""

    results = run_checks([forks, quiet], SlowTransport(), Settings(root=tmp_path))
    assert [r.log for r in results.values()] == [["from a child", "from a shell"], []]
    assert capfd.readouterr() == ("", ""), "nothing reaches the descriptors the report is printed on"
    os.system("echo the runner is done")
    assert capfd.readouterr().out == "the runner is done\n", "the descriptors are given back"


def test_sys_stdout_is_the_same_stream_again_after_the_checks():
    # In a process of its own, so that sys.stdout is the real one on descriptor 1,
    # as for a course's own script that runs checks and prints afterwards.
    snippet = ("import sys\nfrom lab.engine.runner import PrintCapture\nbefore = sys.stdout\n"
               "with PrintCapture.installed():\n    print('during')\n"
               "print(sys.stdout is before, type(sys.stdout).__name__)\n")
    run = subprocess.run([sys.executable, "-c", snippet], capture_output=True, text=True, timeout=60,
                         env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])})
    assert run.stdout.splitlines() == ["during", "True TextIOWrapper"], run.stdout + run.stderr
