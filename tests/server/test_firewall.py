"""Steps 9 and 11's firewall checks, and step 9's reference solution, against
Debian's ufw run for real (in a private network namespace, see
tests/support/firewall.py) with the application profiles Debian's nginx and
openssh-server install. Every form of rule a student may follow from Ubuntu's
documentation counts as what it opens; the mistakes still fail."""

import os
import subprocess
import sys
from contextlib import contextmanager

import pytest

from checks import step09_firewall, step11_https
from lab.engine.context import Settings
from lab.engine.results import FAILED, PASSED
from lab.engine.runner import run_one
from tests.support.firewall import PrivateFirewall, can_run
from tests.support.localservers import REPO

WHY_NOT = can_run()
pytestmark = pytest.mark.skipif(bool(WHY_NOT), reason=WHY_NOT)

FIREWALL_CHECKS = [step09_firewall.firewall_active, step09_firewall.denies_by_default,
                   step09_firewall.allows_ssh_and_web, step09_firewall.app_ports_closed,
                   step11_https.firewall_lets_https_in]


def grade(firewall, checks=FIREWALL_CHECKS):
    """{check name: Result}, each check run alone inside the firewall's namespace."""
    transport = firewall.transport()
    settings = Settings(root=REPO, guest_url="local://")
    return {check.name: run_one(check, transport, settings) for check in checks}


@contextmanager
def firewall_with(*rules):
    """A private ufw with these rules (each a ufw command line's arguments), enabled as a student does."""
    with PrivateFirewall() as firewall:
        firewall.ufw("default", "deny", "incoming")
        for rule in rules:
            firewall.ufw(*rule)
        firewall.ufw("--force", "enable")
        yield firewall


@pytest.mark.parametrize("rules", [
    [("allow", "22/tcp"), ("allow", "80/tcp"), ("allow", "443/tcp")],                 # the exercise's
    [("allow", "OpenSSH"), ("allow", "Nginx Full")],                                   # Ubuntu's tutorials'
    [("limit", "OpenSSH"), ("allow", "Nginx HTTP"), ("allow", "Nginx HTTPS")],
    [("limit", "22/tcp"), ("allow", "80,443/tcp")],
    [("allow", "22"), ("allow", "80"), ("allow", "443")],                              # TCP and UDP
    [("allow", "proto", "tcp", "from", "any", "to", "any", "port", "22,80,443")],
], ids=["exercise", "profiles", "limit-profiles", "limit-multiport", "no-protocol", "one-rule"])
def test_every_correct_firewall_passes(rules):
    with firewall_with(*rules) as firewall:
        results = grade(firewall)
    assert {name: r.status for name, r in results.items()} == dict.fromkeys(results, PASSED), \
        {name: r.rationale for name, r in results.items()}


@pytest.mark.parametrize("extra, found, remedy", [
    (("allow", "8080/tcp"), "8080/tcp", "`sudo ufw delete allow 8080/tcp`"),
    (("allow", "8080"), "8080", "`sudo ufw delete allow 8080`"),
    (("allow", "6000:6007/tcp"), "6000:6007/tcp", "`sudo ufw delete allow 6000:6007/tcp`"),
    (("allow", "80,8080/tcp"), "80,8080/tcp", "`sudo ufw delete allow 80,8080/tcp`"),
    (("allow", "from", "10.0.2.2", "to", "any", "port", "8080", "proto", "tcp"), "8080/tcp from 10.0.2.2",
     "`sudo ufw status numbered`, then `sudo ufw delete NUMBER`"),
])
def test_an_extra_port_fails(extra, found, remedy):
    with firewall_with(("allow", "OpenSSH"), ("allow", "Nginx Full"), extra) as firewall:
        result = grade(firewall, [step09_firewall.app_ports_closed])["app_ports_closed"]
    assert result.status == FAILED
    assert result.rationale == f"expected only ports 22, 80 and 443 to be allowed in, found rules for {found}"
    assert result.hint.endswith(remedy)


def test_what_is_not_let_in_fails():
    ssh_and_web, https = step09_firewall.allows_ssh_and_web, step11_https.firewall_lets_https_in
    with firewall_with(("allow", "Nginx HTTP")) as no_ssh, \
            firewall_with(("allow", "OpenSSH"), ("allow", "Nginx HTTP")) as no_https, \
            firewall_with(("deny", "80"), ("allow", "OpenSSH"), ("allow", "Nginx Full")) as denied_first:
        assert grade(no_ssh, [ssh_and_web])[ssh_and_web.name].rationale.startswith(
            "expected a ufw rule letting TCP port 22 in")
        without_https = grade(no_https, [ssh_and_web, https])
        assert (without_https[ssh_and_web.name].status, without_https[https.name].status) == (PASSED, FAILED)
        assert without_https[https.name].rationale.startswith("expected a ufw rule letting TCP port 443 in")
        # ufw stops at the first rule that matches: the deny, listed first.
        assert grade(denied_first, [ssh_and_web])[ssh_and_web.name].rationale.startswith(
            "expected a ufw rule letting TCP port 80 in")


def test_an_inactive_or_open_firewall_fails():
    with PrivateFirewall() as firewall:
        firewall.ufw("allow", "OpenSSH")
        inactive = grade(firewall, [step09_firewall.firewall_active])["firewall_active"]
        assert inactive.rationale == "expected `sudo ufw status` to say active, it says inactive"
        firewall.ufw("default", "allow", "incoming")
        firewall.ufw("--force", "enable")
        result = grade(firewall, [step09_firewall.denies_by_default])["denies_by_default"]
    assert (result.status, result.actual) == (FAILED, "allow")


def solve_step9(firewall):
    """Step 9's reference solution, run inside with Debian's python3 as provisioning runs it."""
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(REPO / "provision")}  # as solve.py sets it
    python = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
    return firewall.run("%s %s", python, REPO / "provision" / "solutions" / "step09-firewall.py", env=env)


def test_the_solution_makes_a_passing_firewall_and_then_changes_nothing():
    with PrivateFirewall() as firewall:
        first, second = solve_step9(firewall), solve_step9(firewall)
        results = grade(firewall)
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines() == [
        "  changed: ufw allows 22/tcp", "  changed: ufw allows 80/tcp", "  changed: ufw allows 443/tcp",
        "  changed: ufw denies other incoming traffic", "  changed: ufw enabled (and started at boot)"]
    assert (second.returncode, second.stdout) == (0, "")
    assert all(r.status == PASSED for r in results.values()), {n: r.rationale for n, r in results.items()}


def test_the_solution_keeps_a_students_profile_rules():
    with firewall_with(("allow", "OpenSSH"), ("allow", "Nginx Full")) as firewall:
        solved = solve_step9(firewall)
        rules = firewall.run("LC_ALL=C ufw status").stdout
    assert (solved.returncode, solved.stdout) == (0, ""), solved.stderr
    assert "22/tcp" not in rules and "OpenSSH" in rules and "Nginx Full" in rules


def test_the_hosts_own_firewall_is_untouched():
    before = subprocess.run(["cat", "/etc/ufw/ufw.conf", "/etc/default/ufw"], capture_output=True, text=True).stdout
    with firewall_with(("allow", "OpenSSH")) as firewall:
        assert "ENABLED=yes" in firewall.run("cat /etc/ufw/ufw.conf").stdout
    after = subprocess.run(["cat", "/etc/ufw/ufw.conf", "/etc/default/ufw"], capture_output=True, text=True).stdout
    assert after == before
