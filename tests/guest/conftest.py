"""The guest tier: one real guest booted with the project's Vagrantfile for the
whole session (vagrant-libvirt, qemu in software mode, a box built here), in a
network namespace the fixture creates and removes."""

import os
import sys
import time

import pytest

from tests.support.guesthost import GuestHost

# Figures the tier measures; printed at the end of the run, never asserted.
BENCH = []


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/guest/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.guest)


def pytest_terminal_summary(terminalreporter):
    if BENCH:
        terminalreporter.section("guest tier figures (measured, not asserted)")
        for line in BENCH:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def guest(tmp_path_factory):
    """A booted guest: `vagrant up` done, base provisioning applied. Destroyed at the end."""
    if os.geteuid() != 0:
        pytest.skip("the guest tier needs root (network namespaces, libvirt); tests/run runs it as root")
    host = GuestHost(tmp_path_factory.mktemp("guest"),
                     log=lambda m: print(f"[guest {time.strftime('%H:%M:%S')}] {m}", file=sys.stderr, flush=True))
    try:
        host.setup()
        started = time.monotonic()
        host.up = host.vagrant("up", "--provider=libvirt", timeout=2400)
        host.first_up_seconds = time.monotonic() - started
        yield host
    finally:
        host.teardown()


@pytest.fixture(scope="session")
def lab_check(guest):
    """Run `python -m lab.check ARGS` on the host side, inside the namespace."""
    def run(*args, timeout=900):
        return guest.in_namespace([sys.executable, "-m", "lab.check", *args], timeout=timeout,
                                  env={**guest.env(), "PYTHONIOENCODING": "utf-8", "NO_COLOR": "1"})
    return run
