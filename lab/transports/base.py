"""What every transport offers: run a command, and say where HTTP is reached."""

import shlex
from dataclasses import dataclass


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
    """Base class. Subclasses implement from_url(), run_command() and close()."""

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

    def describe(self):
        return self.scheme

    def run(self, command, *args, timeout=30):
        return self.run_command(quote_command(command, *args), timeout)
