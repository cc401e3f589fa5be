"""What a check function receives: the guest, HTTP to it, the settings, a log."""

# The Guest and Http types are named for the reader only: `--list` builds Settings
# and must not import the guest's probes (and their parsers) to do so.
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (5 ms) to learn it is False
if TYPE_CHECKING:
    from lab.guest.http import Http
    from lab.guest.system import Guest

@dataclass
class Settings:
    root: Path  # the lab folder: holds the Vagrantfile and the shared folder's host side
    guest_url: str = "vagrant://default"
    course: str = None
    debug: bool = False
    # Where the concept questions' answers are read (lab/core/questions.py): the lab folder on this
    # computer (a student's lab.check), or the one in the guest (a class's lab.grade).
    answers_in_guest: bool = False

    @property
    def state_dir(self):
        """Per-checkout state: progress and cached Vagrant lookups."""
        return self.root / ".lab"


@dataclass
class Context:
    guest: Guest
    http: Http
    settings: Settings
    log: list = field(default_factory=list)

    @classmethod
    def for_check(cls, transport, settings):
        from lab.guest.http import Http
        from lab.guest.system import Guest

        log = []
        http = Http(transport.http_base, transport.http_unreachable_remedy, log, https_base=transport.https_base)
        return cls(Guest(transport, log), http, settings, log)

    def note(self, message):
        """Add a line to this check's log, shown in --json and the HTML report."""
        self.log.append(message)

    @staticmethod
    def nonce(prefix="lab-check"):
        """A value no student wrote: a like, a file name or a query string the check can find again."""
        import secrets  # here: only a running check needs it, and it costs `--list` 10 ms

        return f"{prefix}-{secrets.token_hex(6)}"

    def wait_for(self, probe, timeout=10.0, interval=0.5, until=bool):
        """Call probe until until(its value) is true or timeout seconds pass; return its last value.

        For things still settling, such as a service that was just restarted.
        The last value is returned either way, so a check can say what it found.
        """
        deadline = time.monotonic() + timeout
        while True:
            value = probe()
            if until(value) or time.monotonic() >= deadline:
                return value
            time.sleep(interval)

    def wait_until_serving(self, units, timeout):
        """Wait up to timeout seconds until each unit serves again (listens, so it can answer);
        returns those that still don't.

        A check that restarts the app waits for this before it asks nginx anything: a
        request that reaches an instance still starting makes nginx leave that
        instance alone for a while (fail_timeout), which later checks would see."""
        return self.wait_for(lambda: [u for u in units if not self.guest.service(u).is_serving],
                             timeout=timeout, interval=1, until=lambda left: not left)
