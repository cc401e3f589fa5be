"""Run probes on this machine: for a checker running inside the guest itself."""

import os
import subprocess
from urllib.parse import parse_qs, urlsplit

from ..outcomes import CouldNotCheck
from .base import MAX_OUTPUT, CommandResult, Transport


class LocalTransport(Transport):
    scheme = "local"

    def __init__(self, http_base="http://127.0.0.1", https_base="https://127.0.0.1"):
        self.http_base = http_base
        self.https_base = https_base
        self.http_unreachable_remedy = "is the web server running? try `sudo systemctl status nginx`"

    @classmethod
    def from_url(cls, url, settings):
        """local://, or local://?http=http://127.0.0.1:8080&https=https://127.0.0.1:8443
        to grade a web server on other ports."""
        query = parse_qs(urlsplit(url).query)
        return cls(**{f"{k}_base": query[k][0] for k in ("http", "https") if k in query})

    def describe(self):
        return "this machine (local://)"

    def run_command(self, command, timeout):
        try:
            # The command travels in the environment, not in sh's arguments, so that a
            # probe never matches its own `ps` or `pkill -f` pattern.
            proc = subprocess.run(["/bin/sh", "-c", 'eval "$LAB_COMMAND"'], capture_output=True, timeout=timeout,
                                  stdin=subprocess.DEVNULL, env={**os.environ, "LAB_COMMAND": command})
        except subprocess.TimeoutExpired:
            raise CouldNotCheck(f"`{command}` did not finish within {timeout:g} s",
                                "something in the guest is stuck; run the check again") from None
        return CommandResult(command, proc.returncode,
                             proc.stdout[:MAX_OUTPUT].decode("utf-8", "replace"),
                             proc.stderr[:MAX_OUTPUT].decode("utf-8", "replace"))
