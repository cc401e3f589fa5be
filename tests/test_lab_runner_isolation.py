"""The runner keeps checks apart (issue 9), in process: what a check prints,
and what an abandoned check still tries to do."""

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from lab import CouldNotCheck, Registry
from lab.engine.context import Settings
from lab.engine.results import COULD_NOT_CHECK, PASSED
from lab.engine.runner import run_checks
from lab.transports.base import CommandResult, Transport

pytestmark = pytest.mark.unit


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
                         env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    assert run.stdout.splitlines() == ["during", "True TextIOWrapper"], run.stdout + run.stderr
