"""Run probes on this machine: for a checker running inside the guest itself."""

import os
import signal
import subprocess

from lab.core.outcomes import CouldNotCheck
from lab.transports import address
from lab.transports.base import MAX_OUTPUT, CommandResult, Transport


class LocalTransport(Transport):
    scheme = "local"

    def __init__(self, http_base="http://127.0.0.1", https_base="https://127.0.0.1"):
        self.http_base = http_base
        self.https_base = https_base
        self.http_unreachable_remedy = "is the web server running? try `sudo systemctl status nginx`"
        self._running = set()  # the commands in flight, each a process group

    @classmethod
    def from_url(cls, url, settings):
        """local://, or local://?http=http://127.0.0.1:8080&https=https://127.0.0.1:8443
        to grade a web server on other ports."""
        return cls.parse_url(url)

    @classmethod
    def parse_url(cls, url):
        """The transport url names; opening it connects to nothing, so this is from_url."""
        example = "local:// or local://?http=http://127.0.0.1:8080"
        parts = address.split(url, example)
        if parts.netloc or parts.path not in ("", "/"):
            # local://host would read as "grade host", which it never does.
            raise address.bad(url, "local:// names no host or path: it is always this machine",
                              f"write {example}")
        query = address.query(url, ("http", "https"), example)
        return cls(**{f"{name}_base": address.web_base(url, name, value) for name, value in query.items()})

    def describe(self):
        return "this machine (local://)"

    def run_command(self, command, timeout):
        # The command travels in the environment, not in sh's arguments, so that a
        # probe never matches its own `ps` or `pkill -f` pattern. It gets a session
        # of its own: Ctrl-C in the terminal does not reach it (a check's cleanup
        # must still run), and a command that is stopped is killed with all it started.
        proc = subprocess.Popen(["/bin/sh", "-c", 'eval "$LAB_COMMAND"'], stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
                                env={**os.environ, "LAB_COMMAND": command})
        proc.lab_interrupted = False
        self._running.add(proc)
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._kill(proc)
            raise CouldNotCheck(f"`{command}` did not finish within {timeout:g} s",
                                "something in the guest is stuck; run the check again") from None
        except BaseException:  # Ctrl-C in the thread waiting for it: nothing may outlive the checker
            self._kill(proc)
            raise
        finally:
            self._running.discard(proc)
        if proc.lab_interrupted:
            raise CouldNotCheck(f"`{command}` was stopped: its check was abandoned", "run the check again")
        return CommandResult(command, proc.returncode,
                             stdout[:MAX_OUTPUT].decode("utf-8", "replace"),
                             stderr[:MAX_OUTPUT].decode("utf-8", "replace"))

    def interrupt(self):
        # Another thread waits for these: killing them ends its wait, and it reads what is left.
        for proc in list(self._running):
            proc.lab_interrupted = True
            self._signal_group(proc)

    def close(self):
        # Nothing the checker started may outlive it, such as an abandoned check's command.
        self.interrupt()

    @staticmethod
    def _signal_group(proc):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def _kill(self, proc):
        self._signal_group(proc)
        # Only wait for sh itself: its output is not read, since something that
        # left the group could keep the pipes open forever.
        proc.wait()
        proc.stdout.close()
        proc.stderr.close()
