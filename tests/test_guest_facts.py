"""Facts about the guest tell "no" apart from "could not ask": a refused sudo or
a probe that fails for another reason is CouldNotCheck, never the student's fault."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from lab import CouldNotCheck
from lab.guest import Guest
from lab.transports.base import CommandResult, Transport
from tests.support.localservers import REPO

COURSE = Path(__file__).parent / "fixtures" / "course"
REFUSED = (1, "", "sudo: a password is required\n")


class ScriptedTransport(Transport):
    """Answers each command with (rc, stdout, stderr): the first rule whose text the command contains wins."""

    scheme = "scripted"

    def __init__(self, rules):
        self.rules = rules
        self.commands = []

    def run_command(self, command, timeout):
        self.commands.append(command)
        rc, out, err = next((answer for part, answer in self.rules if part in command), (0, "", ""))
        return CommandResult(command, rc, out, err)


def guest(*rules):
    return Guest(ScriptedTransport(list(rules)))


@pytest.mark.unit
@pytest.mark.parametrize("fact", [
    lambda g: g.file("/etc/nginx/nginx.conf").exists,
    lambda g: g.file("/etc/nginx/nginx.conf").mode,
    lambda g: g.file("/etc/nginx/nginx.conf").content,
    lambda g: g.file("/etc/nginx/nginx.conf").contains("gzip"),
    lambda g: g.file("/vagrant/static/app.css").readable_by("www-data"),
    lambda g: g.socket("tcp://127.0.0.1:8080").is_listening,
    lambda g: g.socket("unix:///run/likes/gunicorn.sock").is_listening,
    lambda g: g.listeners(),
    lambda g: g.sudo("nginx -t"),
], ids=["exists", "mode", "content", "contains", "readable_by", "tcp", "unix", "listeners", "sudo"])
def test_refused_sudo_is_could_not_check_with_the_remedy(fact):
    with pytest.raises(CouldNotCheck) as refused:
        fact(guest(("sudo -n sh -c", REFUSED)))
    assert "sudo in the guest refused to run" in refused.value.reason
    assert "a password is required" in refused.value.reason
    assert "sudo without a password" in refused.value.remedy


@pytest.mark.unit
def test_sudo_missing_altogether_is_could_not_check():
    with pytest.raises(CouldNotCheck, match="sudo: not found"):
        guest(("sudo -n sh -c", (127, "", "sh: 1: sudo: not found\n"))).file("/x").exists


@pytest.mark.unit
@pytest.mark.parametrize("fact, rule", [
    (lambda g: g.service("nginx").is_active,
     ("systemctl is-active", (1, "", "System has not been booted with systemd as init system (PID 1). "
                                     "Can't operate.\nFailed to connect to bus: Host is down\n"))),
    (lambda g: g.service("nginx").is_enabled, ("systemctl is-enabled", (1, "", "Failed to connect to bus\n"))),
    (lambda g: g.service("likes").main_pid, ("systemctl show", (1, "", "Failed to connect to bus\n"))),
    (lambda g: g.package("nginx").is_installed, ("dpkg-query", (2, "", "dpkg-query: error: parsing file\n"))),
    (lambda g: g.package("nginx").version, ("dpkg-query", (2, "", "dpkg-query: error: parsing file\n"))),
    (lambda g: g.file("/x").exists, ("stat", (127, "", "sh: 1: stat: not found\n"))),
    (lambda g: g.file("/x").content, ("cat", (126, "", "sh: 1: cat: Permission denied\n"))),
    (lambda g: g.user("www-data").exists, ("getent", (1, "", "Unknown database: passwd\n"))),
    (lambda g: g.group("vboxsf").members, ("getent", (1, "", "Unknown database: group\n"))),
    (lambda g: g.listeners("tcp"), ("ss -Hltnp", (127, "", "sh: 1: ss: not found\n"))),
], ids=["is_active", "is_enabled", "main_pid", "is_installed", "version", "stat", "cat", "user", "group",
        "ss"])
def test_a_probe_that_breaks_is_could_not_check(fact, rule):
    with pytest.raises(CouldNotCheck) as broken:
        fact(guest(rule))
    assert f"exit code {rule[1][0]}" in broken.value.reason
    assert rule[1][2].splitlines()[0] in broken.value.reason
    assert broken.value.remedy


@pytest.mark.unit
def test_the_answer_no_is_still_an_answer():
    g = guest(
        ("systemctl is-active nginx", (3, "inactive\n", "")),
        ("systemctl is-active nosuch", (3, "inactive\n", "")),
        ("systemctl is-enabled likes", (1, "disabled\n", "")),
        ("systemctl is-enabled nosuch", (1, "", "Failed to get unit file state for nosuch.service: "
                                                "No such file or directory\n")),
        ("stat", (1, "", "stat: cannot statx '/etc/missing': No such file or directory\n")),
        ("cat", (1, "", "cat: /etc/missing: No such file or directory\n")),
        ("test -r", (1, "", "")),
        ("dpkg-query", (1, "", "dpkg-query: no packages found matching apache2\n")),
        ("getent", (2, "", "")),
        ("id -", (1, "", "id: 'nobody2': no such user\n")),
    )
    assert g.service("nginx").state == "inactive"
    assert not g.service("nosuch").is_active
    assert not g.service("likes").is_enabled
    assert not g.service("nosuch").is_enabled
    assert g.file("/etc/missing").stat() is None
    assert not g.file("/etc/missing").exists
    assert g.file("/etc/missing").content is None
    assert not g.file("/etc/missing").readable_by("www-data")
    assert not g.package("apache2").is_installed
    assert g.package("apache2").version is None
    assert not g.user("nobody2").exists
    assert g.user("nobody2").groups == set() and g.user("nobody2").uid is None
    assert not g.group("nogroup2").exists and g.group("nogroup2").members == set()


@pytest.mark.server
def test_refused_sudo_in_a_real_run_is_could_not_check(tmp_path):
    """local:// with a sudo that wants a password: the missing-file check must not blame the student."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake_sudo = bin_dir / "sudo"
    fake_sudo.write_text("#!/bin/sh\necho 'sudo: a password is required' >&2\nexit 1\n")
    fake_sudo.chmod(0o755)
    run = subprocess.run([sys.executable, "-m", "lab.check", "--course", str(COURSE), "--target", "missing_file",
                          "--guest", "local://"], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                         # PYTHONPATH: this checkout's lab package, whatever the venv has installed.
                         env={**os.environ, "PYTHONIOENCODING": "utf-8", "PYTHONPATH": str(REPO),
                              "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"})
    assert run.returncode == 2, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    assert "? /etc/lab-fixture-missing exists (0/2)" in lines[3]
    assert lines[4].startswith("      could not check: sudo in the guest refused to run `stat -L -c")
    assert lines[4].endswith("(sudo: a password is required): the checker needs sudo without a password in the "
                             "guest: connect as a user that has it (vagrant does), or add one with `sudo visudo`")
    assert "found nothing there" not in run.stdout
