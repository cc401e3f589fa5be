"""Stand-ins for running the engine without a guest, for the tests of the runner, the
reports and the guest's facts: a transport that answers commands from a table, and a
step's worth of checks with every outcome."""

import time

from lab import CouldNotCheck, Fail, Registry
from lab.engine.context import Settings
from lab.transports.base import CommandResult, Transport


class FakeTransport(Transport):
    """Answers commands from a table and records what was asked."""

    scheme = "fake"

    def __init__(self, answers=None):
        self.answers = answers or {}
        self.commands = []

    def run_command(self, command, timeout):
        self.commands.append(command)
        rc, out = self.answers.get(command, (0, ""))
        return CommandResult(command, rc, out, "")


def settings(tmp_path):
    return Settings(root=tmp_path)


def make_checks():
    check = Registry()

    @check(points=2)
    def passes(ctx):
        """passes"""
        ctx.guest.run("true")

    @check(depends=passes)
    def fails(ctx):
        """fails"""
        raise Fail("expected x, got y", hint="try z", expected="x", actual="y")

    @check(depends=fails)
    def skipped(ctx):
        """skipped"""

    @check
    def crashes(ctx):
        """crashes"""
        raise ZeroDivisionError("division by zero")

    @check(timeout=0.2)
    def hangs(ctx):
        """hangs"""
        time.sleep(5)

    @check
    def env(ctx):
        """environment"""
        raise CouldNotCheck("the port is closed", "run vagrant reload")

    @check(depends=env)
    def after_env(ctx):
        """after env"""

    @check
    def asserts(ctx):
        """asserts"""
        assert 1 == 2, "one is not two"

    for c in check:
        c.step = "s"
    return {c.name: c for c in check}
