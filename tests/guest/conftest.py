"""The guest tier: one real guest booted with the project's Vagrantfile for the
whole session (vagrant-libvirt, qemu in software mode, a box built here), in a
network namespace the fixture creates and removes."""

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.support.guesthost import GuestHost
from tests.support.tiers import mark_tier

# Figures the tier measures; printed at the end of the run, never asserted.
BENCH = []
# pytest sets up a failed session fixture again for every test: remember the
# failure instead of booting (and failing) twenty times.
SETUP_FAILURE = []


def pytest_collection_modifyitems(items):
    mark_tier(items, "guest")


def pytest_terminal_summary(terminalreporter):
    if BENCH:
        terminalreporter.section("guest tier figures (measured, not asserted)")
        for line in BENCH:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def guest():
    """A booted guest: `vagrant up` done, base provisioning applied. Destroyed at the end."""
    if os.geteuid() != 0:
        pytest.skip("the guest tier needs root (network namespaces, libvirt); tests/run runs it as root")
    if SETUP_FAILURE:
        pytest.fail(f"the guest could not be set up (see the first error): {SETUP_FAILURE[0]}", pytrace=False)
    # Not pytest's tmp_path: its folders are private, and libvirt's qemu (its
    # own user) must read the disk images and kernel below the work folder.
    work = Path(tempfile.mkdtemp(prefix="lab-guest-", dir="/var/tmp"))
    host = GuestHost(work, log=lambda m: print(f"[guest {time.strftime('%H:%M:%S')}] {m}", file=sys.stderr,
                                                flush=True))
    try:
        try:
            host.setup()
            started = time.monotonic()
            host.up = host.vagrant("up", "--provider=libvirt", timeout=2400)
            host.first_up_seconds = time.monotonic() - started
        except Exception as exc:
            SETUP_FAILURE.append(str(exc).splitlines()[0])
            raise
        yield host
    finally:
        host.teardown()
        shutil.rmtree(work, ignore_errors=True)


@pytest.fixture(scope="session")
def lab_check(guest):
    """Run `python -m lab.check ARGS` on the host side, inside the namespace."""
    def run(*args, timeout=900):
        return guest.in_namespace([sys.executable, "-m", "lab.check", *args], timeout=timeout,
                                  env={**guest.env(), "PYTHONIOENCODING": "utf-8", "NO_COLOR": "1"})
    return run
