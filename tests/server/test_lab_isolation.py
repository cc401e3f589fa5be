"""No check can garble another (issue 9): an abandoned check, a login banner,
print() in a check and Ctrl-C, against a real sshd and local://, through the
real CLI where the student would see it."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from lab.core.outcomes import CouldNotCheck
from lab.engine.context import Settings
from lab.transports import open_transport
from tests.support.localservers import REPO
from tests.support.paths import FIXTURES
from tests.support.sshd import Sshd

COURSE = FIXTURES / "unruly_course"
# The checker of this checkout, whichever one the virtualenv installed.
ENV = {**os.environ, "PYTHONIOENCODING": "utf-8", "PYTHONPATH": str(REPO)}


@pytest.fixture(params=["ssh", "local"])
def guest_url(request, sshd):
    return sshd.url() if request.param == "ssh" else "local://"


def lab_check(*args, cwd):
    return subprocess.run([sys.executable, "-m", "lab.check", "--course", str(COURSE), *args], cwd=cwd,
                          capture_output=True, text=True, timeout=60,
                          env=ENV)


def test_an_abandoned_check_garbles_no_later_check(guest_url, tmp_path):
    run = lab_check("abandoned", "--guest", guest_url, cwd=tmp_path)
    lines = run.stdout.splitlines()
    assert lines[:6] == [
        "abandoned: A check outlives its timeout",
        "  ? a check that runs on after its timeout (0/1)",
        "      could not check: the check did not finish within 2 s: the guest may be overloaded or a command "
        "hung; run the checker again",
        "  ✓ each later command reads its own output (1/1)",
        "  ✓ the abandoned check ran nothing after its timeout (1/1)",
        "",
    ], run.stdout + run.stderr
    assert run.returncode == 2 and run.stderr == ""
    if guest_url == "local://":
        # `sleep 3; touch` was in flight at the timeout: killed with its shell, not left running.
        time.sleep(2)
        assert not (tmp_path / "left-running").exists()


@pytest.fixture
def transport(guest_url, tmp_path):
    t = open_transport(guest_url, Settings(root=tmp_path))
    yield t
    t.close()


def test_a_command_ends_by_its_checks_deadline(transport):
    handle = transport.for_check(time.monotonic() + 1)
    started = time.monotonic()
    with pytest.raises(CouldNotCheck, match="did not finish within"):
        handle.run("sleep 5", timeout=30)
    assert time.monotonic() - started < 2
    with pytest.raises(CouldNotCheck, match="the check's time was up"):
        handle.run("true")
    assert transport.run("echo %s", "next").stdout == "next\n"


def test_a_retired_handle_runs_nothing(transport, tmp_path):
    handle = transport.for_check(time.monotonic() + 30)
    assert handle.run("echo %s", "before").stdout == "before\n"
    handle.retire()
    with pytest.raises(CouldNotCheck, match="abandoned"):
        handle.run("touch %s", tmp_path / "after")
    assert not (tmp_path / "after").exists()
    assert transport.for_check(time.monotonic() + 5).run("echo %s", "fresh").stdout == "fresh\n"


def test_output_that_trickles_does_not_stretch_the_timeout(transport):
    started = time.monotonic()
    with pytest.raises(CouldNotCheck, match="did not finish within 1 s"):
        transport.run("for n in 1 2 3 4 5 6 7 8 9 10; do echo $n; sleep 0.3; done", timeout=1)
    assert time.monotonic() - started < 2
    assert transport.run("echo %s", "next").stdout == "next\n"


def test_a_login_banner_is_not_the_first_commands_output(tmp_path):
    # What a .bashrc echo or a MOTD-like line does: the login prints before the command's shell starts.
    login = tmp_path / "login-with-banner"
    login.write_text('#!/bin/sh\necho "Welcome to the lab guest!"\nexec /bin/sh -c "$SSH_ORIGINAL_COMMAND"\n')
    login.chmod(0o755)
    with Sshd(tmp_path / "sshd", extra_config=f"ForceCommand {login}") as server:
        transport = open_transport(server.url(), Settings(root=tmp_path))
        try:
            assert transport.run("echo %s", "first").stdout == "first\n"
            assert transport.run("echo %s", "second").stdout == "second\n"
        finally:
            transport.close()


def test_print_in_a_check_goes_to_its_log_not_into_json(tmp_path):
    run = lab_check("prints", "--guest", "local://", "--json", cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    [result] = json.loads(run.stdout)["steps"][0]["checks"]
    assert result["log"] == ["hello from a check, and more", "{not json"]


def as_from_a_terminal():
    # A shell without job control starts a background command with SIGINT ignored
    # (POSIX), and a child keeps that: the suite run as `tests/run &` would then
    # send its Ctrl-C to a checker that can't hear it. A terminal's Ctrl-C is what is tested.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_cleanup_check(guest_url, tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "lab.check", "--course", str(COURSE), "cleanup",
                             "--guest", guest_url], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=ENV, preexec_fn=as_from_a_terminal)
    changed = tmp_path / "changed-by-check"
    deadline = time.monotonic() + 20
    while not changed.exists():
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.05)
    return proc, changed


def test_ctrl_c_lets_the_check_clean_up(guest_url, tmp_path):
    proc, changed = start_cleanup_check(guest_url, tmp_path)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 130, stdout + stderr
    assert not changed.exists(), "the check's finally block should have put the guest back"
    assert stderr.splitlines() == [
        'interrupted: letting "a check that changes the guest and puts it back" finish and clean up '
        "(at most 20 s); press Ctrl-C again to quit at once",
        "lab.check: interrupted",
    ]


def test_a_second_ctrl_c_quits_at_once(tmp_path):
    proc, changed = start_cleanup_check("local://", tmp_path)
    proc.send_signal(signal.SIGINT)
    assert proc.stderr.readline().startswith("interrupted: letting")
    proc.send_signal(signal.SIGINT)
    started = time.monotonic()
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 130, stdout + stderr
    assert time.monotonic() - started < 2, "it should not wait for the check's `sleep 4`"
    assert changed.exists(), "quitting at once leaves the cleanup undone"
