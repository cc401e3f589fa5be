"""What every transport offers: run a command, and say where HTTP is reached."""

import shlex
import threading
import time
from dataclasses import dataclass

from lab.core.outcomes import CouldNotCheck


@dataclass
class CommandResult:
    command: str
    rc: int
    stdout: str
    stderr: str

    @property
    def ok(self):
        return self.rc == 0

    def summary(self):
        """One line for a check's log: the command, its exit code and the start of its output."""
        out = (self.stdout.strip() or self.stderr.strip()).splitlines()
        first = out[0][:120] if out else ""
        return f"$ {self.command}  -> rc={self.rc}" + (f"  {first}" if first else "")


def quote_command(command, *args):
    """Fill %s placeholders with shell-quoted arguments: quote_command("cat %s", path)."""
    if not args:
        return command
    return command % tuple(shlex.quote(str(a)) for a in args)


# Output beyond this is cut: a probe never needs more, and a runaway command
# must not fill the student's memory.
MAX_OUTPUT = 1024 * 1024


class Transport:
    """Base class. Subclasses implement from_url(), run_command(), close() and, where a command
    can be cut short from another thread, interrupt()."""

    scheme = None
    # Where the guest's ports 80 and 443 are reached from the machine running the checker.
    http_base = "http://127.0.0.1"
    https_base = "https://127.0.0.1"
    # What to tell a student when http_base does not accept connections.
    http_unreachable_remedy = "is the web server running?"

    @classmethod
    def from_url(cls, url, settings):
        raise NotImplementedError

    def run_command(self, command, timeout):
        """Run a shell command string; return a CommandResult."""
        raise NotImplementedError

    def close(self):
        pass

    def interrupt(self):
        """Make the command in flight, started by another thread, end at once; the transport stays usable."""

    def describe(self):
        return self.scheme

    def run(self, command, *args, timeout=30):
        return self.run_command(quote_command(command, *args), timeout)

    def for_check(self, deadline):
        """A handle for one check: its commands run one at a time and end by deadline (time.monotonic())."""
        # Made here rather than in __init__, which subclasses need not call; the runner
        # makes handles from one thread, and setdefault keeps the first lock made.
        lock = vars(self).setdefault("_command_lock", threading.Lock())
        return CheckHandle(self, deadline, lock)


class CheckHandle:
    """One check's way to the transport that every check of a run shares.

    A check that outlives its timeout is abandoned, but its thread goes on.
    Through its handle, it can never reach another check's commands: commands
    run one at a time under the transport's lock, each ends by the check's
    deadline, and once the handle is retired it runs nothing more. Everything
    but running commands (scheme, http_base, rsync(), ...) is the transport's own.
    """

    def __init__(self, transport, deadline, lock):
        self._transport = transport
        self._lock = lock
        self.deadline = deadline
        self._retired = False
        self._in_flight = False

    def __getattr__(self, name):
        return getattr(self._transport, name)

    def run(self, command, *args, timeout=30):
        return self.run_command(quote_command(command, *args), timeout)

    def run_command(self, command, timeout):
        with self._lock:
            if self._retired:
                raise CouldNotCheck(f"`{command}` was not run: its check was abandoned", "run the check again")
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise CouldNotCheck(f"`{command}` was not run: the check's time was up",
                                    "something in the guest is slow or stuck; run the check again")
            self._in_flight = True
            try:
                return self._transport.run_command(command, min(timeout, left))
            finally:
                self._in_flight = False

    def retire(self):
        """End the command in flight, if any, and refuse every later one."""
        self._retired = True
        if self._in_flight:
            self._transport.interrupt()
        # Once the lock is ours, no command of this handle is in flight, and every
        # later one sees _retired. The wait is short: a command ends by the deadline.
        with self._lock:
            pass
