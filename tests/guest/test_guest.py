"""A real guest from the project's Vagrantfile, taken through its whole life in
order: base provisioning, a second provision, the checker's faults, the
selftest of every step, a reload, the break-it scenarios, and a halt.

The tests share one guest and run in file order; each leaves it as the next expects.
"""

import base64
import csv
import json
import re
import shlex
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest

from lab.core import questions
from lab.core.manifest import load
from lab.tools.answer import save
from lab.tools.gradebook import FREE_TEXT_FILE
from provision.facts import LAB_FOLDER
from tests.guest.conftest import BENCH
from tests.support.guesthost import NETNS
from tests.support.sshd import Sshd

HTTP = "http://127.0.0.1:8500"
HTTPS = "https://127.0.0.1:8443"


def curl(guest, path, *args, base=HTTP):
    """curl a forwarded port from the host side (inside the namespace)."""
    return guest.in_namespace(["curl", "-s", "-m", "10", *args, base + path])


def curl_solved(guest, path, *args):
    """curl the solved guest: over HTTPS since step 11, with its self-signed certificate."""
    return curl(guest, path, "--insecure", *args, base=HTTPS)


def in_guest(guest, command):
    """Run a shell command in the guest as root, through `vagrant ssh`."""
    return guest.vagrant("ssh", "-c", f"sudo sh -c {shlex.quote(command)}", check=False)


def until(condition, seconds=90):
    """A guest shell command that waits for `condition` to hold, and fails if it
    never does. The guest runs under TCG, where a restart can take a while, so
    a fixed sleep would be either too short on a busy day or slow every day."""
    return f"timeout {seconds} sh -c 'until {condition}; do sleep 0.5; done'"


def gunicorn_processes_at_least(count):
    # [g] keeps the pattern from matching the waiting shell's own command line.
    return until(f'[ "$(pgrep -cf /usr/bin/[g]unicorn)" -ge {count} ]')


def likes_after_boot(guest):
    """GET /likes once the services have come back after a boot."""
    deadline = time.monotonic() + 120
    answer = curl_solved(guest, "/likes", "-f")
    while answer.returncode != 0 and time.monotonic() < deadline:
        time.sleep(1)
        answer = curl_solved(guest, "/likes", "-f")
    assert answer.returncode == 0, f"/likes did not answer within 2 minutes of the boot: {answer.stderr}"
    return json.loads(answer.stdout)["likes"]


# -- the Vagrantfile and base provisioning ----------------------------------------

def test_preflight_box_and_base_provisioning(guest):
    out = guest.up.stdout
    assert "+-- lab preflight" in out
    assert re.search(r"\| provider +libvirt \(vagrant-libvirt [\d.]+, libvirt [\d.]+\) +\[ok\]", out)
    assert re.search(r"\| port 8500 +free \(for the guest's port 80\) +\[ok\]", out)
    assert re.search(r"\| line endings +LF in \d+ provisioning files +\[ok\]", out)
    assert "base: changed: installed curl sqlite3" in out


def test_second_provision_changes_nothing(guest):
    started = time.monotonic()
    result = guest.vagrant("provision")
    second = time.monotonic() - started
    assert "base: nothing to change" in result.stdout
    assert "base: changed" not in result.stdout
    BENCH.append(f"[{guest.release}] vagrant up (boot and base provisioning): {guest.first_up_seconds:.0f} s")
    BENCH.append(f"[{guest.release}] second `vagrant provision`: {second:.0f} s, "
                 f"{100 * second / guest.first_up_seconds:.0f} % of the first up (goal <= 15 %)")


def test_solution_provisioner_needs_a_step(guest):
    result = guest.vagrant("provision", "--provision-with", "solution", check=False)
    assert result.returncode != 0
    assert "say which step to solve up to" in result.stdout + result.stderr


def test_synced_folder_carries_host_files_into_the_guest(guest):
    marker = guest.lab / "host-note.txt"
    marker.write_text("written on the host\n")
    guest.vagrant("rsync")
    assert in_guest(guest, "cat /vagrant/host-note.txt").stdout.strip() == "written on the host"
    marker.unlink()


def test_checker_sees_an_unsolved_step1(guest, lab_check):
    run = lab_check("step1", "--json")
    assert run.returncode == 1, run.stderr
    checks = {c["name"]: c for c in json.loads(run.stdout)["steps"][0]["checks"]}
    assert checks["guest_os"]["passed"] is True
    assert checks["shared_folder"]["passed"] is True
    assert checks["forwarded_port_private"]["passed"] is True
    assert checks["tree_installed"]["passed"] is False
    assert "sudo apt install tree" in checks["tree_installed"]["hint"]
    cache = json.loads((guest.lab / ".lab" / "vagrant.json").read_text())
    assert (cache["http_port"], cache["https_port"], cache["user"]) == (8500, 8443, "vagrant")
    # Vagrant's inserted key, below the lab folder's path with its space and accent.
    assert cache["key"] == str(guest.lab / ".vagrant" / "machines" / "default" / "libvirt" / "private_key")
    assert Path(cache["key"]).is_file()


def test_forwarded_port_without_a_web_server_is_a_failure_not_a_crash(guest, lab_check):
    run = lab_check("step2", "--target", "page_reaches_host")
    assert run.returncode == 1
    assert "Traceback" not in run.stdout + run.stderr


# -- the curriculum, proven step by step -------------------------------------------

def test_selftest_every_step(guest):
    started = time.monotonic()
    run = guest.in_namespace([sys.executable, "-m", "lab.selftest"], timeout=3600)
    BENCH.append(f"[{guest.release}] selftest of every step: {time.monotonic() - started:.0f} s")
    BENCH.extend(f"[{guest.release}] {line}" for line in run.stdout.splitlines()
                 if line and not line.startswith("selftest:"))
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-3000:]
    steps = load().ids()
    rows = [line.split()[0] for line in run.stdout.splitlines() if line.split() and line.split()[-1] == "ok"]
    assert rows == steps
    # Its last row graded every step on the solved guest ("earlier steps: all pass"), so no
    # `lab.check all` follows here: the replay's last step runs that as the student does.


def test_solved_guest_serves_page_and_api_through_the_forwarded_ports(guest):
    redirect = curl(guest, "/likes?x=1", "-I")
    assert re.search(r"^Location: https://127.0.0.1:8443/likes\?x=1\s*$", redirect.stdout, re.M), redirect.stdout
    page = curl_solved(guest, "/")
    assert "<title>AJAX ListMaker</title>" in page.stdout
    posted = curl_solved(guest, "/likes", "-H", "Content-Type: application/json", "-d",
                         '{"likes": ["from the host"]}')
    assert "from the host" in json.loads(posted.stdout)["likes"]
    headers = curl_solved(guest, "/static/style.css", "-I")
    assert re.search(r"^Server: nginx\s*$", headers.stdout, re.M), headers.stdout  # no version
    # The data lives on the guest's own disk, never in the shared folder.
    where = in_guest(guest, "test -s /var/lib/likes/likes.db && find /vagrant /opt/likes -name '*.db*' | wc -l")
    assert where.returncode == 0 and where.stdout.split()[-1] == "0", where.stdout


def test_a_class_is_graded_over_ssh(guest, tmp_path):
    """An instructor's roster of three, graded with lab.grade inside the namespace: this
    solved guest reached over ssh:// (as a cloud server is), an address where nothing
    listens, and a fresh sshd on a machine with nothing deployed."""
    cache = json.loads((guest.lab / ".lab" / "vagrant.json").read_text())
    # What `vagrant ssh-config` says (on libvirt, the guest's own address and port 22), with
    # the key that lives below "Jane Doé/my lab", quoted as a URL wants it.
    own = (f"ssh://{cache['user']}@{cache['host']}:{cache['port']}?key={quote(cache['key'])}"
           f"&http=http://127.0.0.1:{cache['http_port']}&https=https://127.0.0.1:{cache['https_port']}")
    # The class answered the concept questions, as the keys do, in the lab folder each guest
    # sees: lab.grade reads them there, over the same connection as the checks.
    answered = tmp_path / "class"
    answered.mkdir()
    for step in load().steps:
        save(answered, step.id, questions.key_answers(questions.read(step.exercise)[0]), out=lambda line: None)
    for path in sorted((answered / questions.ANSWERS_FOLDER).iterdir()):
        encoded = base64.b64encode(path.read_bytes()).decode()
        written = in_guest(guest, f"mkdir -p {LAB_FOLDER}/{questions.ANSWERS_FOLDER} && echo {encoded} | base64 -d "
                                  f"> {LAB_FOLDER}/{questions.answers_file(path.stem)}")
        assert written.returncode == 0, written.stdout + written.stderr
    with Sshd(tmp_path / "sshd", netns=NETNS) as empty:
        roster = tmp_path / "roster.csv"
        roster.write_text(f"student,guest,section\nsolved,{own},A\nnobody,ssh://vagrant@127.0.0.1:9,A\n"
                          f"empty,{empty.url()},B\n", encoding="utf-8")
        started = time.monotonic()
        run = guest.in_namespace([sys.executable, "-m", "lab.grade", str(roster), "--out", str(tmp_path / "grades"),
                                  "--jobs", "3"], timeout=1800, env={**guest.env(), "NO_COLOR": "1"})
        BENCH.append(f"[{guest.release}] python -m lab.grade of a roster of three: {time.monotonic() - started:.0f} s")
    assert run.returncode == 2, run.stdout[-3000:] + run.stderr[-3000:]  # one student could not be checked
    assert "Traceback" not in run.stdout + run.stderr
    with open(tmp_path / "grades" / "gradebook.csv", encoding="utf-8-sig", newline="") as f:
        book = {row["student"]: row for row in csv.DictReader(f)}
    steps = load().ids()
    solved, nobody, empty_row = book["solved"], book["nobody"], book["empty"]
    # Full marks, out of what applies to a guest that is not a Vagrant VM.
    assert solved["status"] == "graded" and solved["total"] == solved["max"], solved
    results = json.loads((tmp_path / "grades" / "solved" / "results.json").read_text())
    not_applicable = {f"{s['id']}.{c['name']}" for s in results["steps"] for c in s["checks"]
                      if c["status"] == "not applicable"}
    assert not_applicable == {"step1.shared_folder", "step1.forwarded_port_private"}
    # The checks' points, and a point for each concept question (the kit's courses count them).
    question_points = sum(len(questions.read(step.exercise)[0]) for step in load().steps)
    assert int(solved["max"]) == sum(step.max_points for step in load().steps) - 4 + question_points
    # The selftest solved every step with the kit's solutions: each is flagged.
    assert solved["kit_solved"].split() == steps
    assert nobody["status"] == "could not check" and "127.0.0.1:9" in nobody["reason"], nobody
    assert (nobody["section"], empty_row["section"]) == ("A", "B")
    assert empty_row["status"] == "graded" and int(empty_row["total"]) < int(empty_row["max"]) // 4, empty_row
    failed = [c for s in json.loads((tmp_path / "grades" / "empty" / "results.json").read_text())["steps"]
              for c in s["checks"] if c["status"] == "failed"]
    assert failed and all(c["rationale"] and c["hint"] for c in failed)
    # What the solved guest's class wrote in words reaches the instructor, one answer per free-text question.
    free_text = (tmp_path / "grades" / "solved" / FREE_TEXT_FILE).read_text(encoding="utf-8")
    assert free_text.count("(answered by the replay, from the key)") == sum(
        q.kind == "free" for step in load().steps for q in questions.read(step.exercise)[0])


def test_solving_again_changes_nothing(guest):
    # The selftest solved every step; the same solutions again find nothing to do.
    result = guest.vagrant("provision", "--provision-with", "solution", env={"LAB_SOLVE_TO": "all"})
    last = load().ids()[-1]
    assert f"solve: steps step1..{last} are solved (nothing changed)" in result.stdout, result.stdout[-3000:]
    assert "changed:" not in result.stdout


def test_data_survives_vagrant_reload(guest):
    curl_solved(guest, "/likes", "-H", "Content-Type: application/json", "-d", '{"likes": ["kept across reload"]}')
    started = time.monotonic()
    guest.vagrant("reload")
    BENCH.append(f"[{guest.release}] vagrant reload of the solved guest: {time.monotonic() - started:.0f} s")
    likes = likes_after_boot(guest)
    assert "kept across reload" in likes
    assert "from the host" in likes


# -- break it: each misconfiguration is caught by the right check ----------------------

SITE = "/etc/nginx/sites-available/likes"
DROP_IN = "/etc/systemd/system/likes@2.service.d"
BREAKS = [
    # (name, the check that must fail, words its rationale must contain, break command, restore command)
    ("nginx proxies to the wrong port", "step4.proxies_to_app", "502",
     # Every server of the upstream: the gunicorn instances' sockets and cheroot's.
     f"cp {SITE} /root/site.bak && sed -i 's#server unix:/run/likes-[^/]*/[a-z]*[.]sock.*;#server 127.0.0.1:9;#' "
     f"{SITE} && systemctl reload nginx",
     f"cp /root/site.bak {SITE} && systemctl reload nginx"),
    ("static files served by the app", "step5.static_served_by_nginx", "reached the app",
     f"cp {SITE} /root/site.bak && sed -i 's#location /static/#location /nostatic/#' {SITE} && systemctl reload nginx",
     f"cp /root/site.bak {SITE} && systemctl reload nginx"),
    ("the service not enabled", "step6.service_running_and_enabled", "not enabled",
     "systemctl disable likes@2", "systemctl enable likes@2"),
    # A decoy: the unit mentions the folder, but the instance's database is elsewhere.
    ("a database elsewhere, its folder only mentioned", "step6.database_in_var_lib", "/tmp/decoy.db",
     f"mkdir -p {DROP_IN} && printf '[Service]\\nEnvironment=\"LIKES_DB=/tmp/decoy.db\" DECOY=/var/lib/likes\\n' "
     f"> {DROP_IN}/decoy.conf && systemctl daemon-reload && systemctl restart likes@2 && "
     + gunicorn_processes_at_least(3 + 3 * 3),
     f"rm -r {DROP_IN} && systemctl daemon-reload && systemctl restart likes@2 && rm -f /tmp/decoy.db* && "
     + gunicorn_processes_at_least(3 + 3 * 3)),
    # The modes the exercise sets, undone on the live socket and its folder: gunicorn's answers still
    # reach nginx, and anybody else too.
    ("a socket open to everyone", "step7.socket_closed_to_others", "nobody connected",
     "chmod 755 /run/likes-2 && chmod 777 /run/likes-2/gunicorn.sock",
     "chmod 750 /run/likes-2 && chmod 770 /run/likes-2/gunicorn.sock"),
    ("the app bound to 0.0.0.0", "step3.app_on_loopback_only", "0.0.0.0:8080",
     "runuser -u vagrant -- sh -c 'cd /vagrant && nohup setsid python3 -m sample_app --host 0.0.0.0 "
     "--port 8080 --db /tmp/break.db > /tmp/break.log 2>&1 < /dev/null &' && "
     + until("ss -ltnH | grep -q 0.0.0.0:8080"),
     # [0] keeps the pattern from matching this very command line.
     "pkill -f 'sample_app --host [0].0.0.0'; rm -f /tmp/break.db*"),
    ("sendfile on over the shared folder", "step5.static_served_fresh", "sendfile off",
     f"cp {SITE} /root/site.bak && sed -i 's#sendfile off;#sendfile on;#' {SITE} && systemctl reload nginx",
     f"cp /root/site.bak {SITE} && systemctl reload nginx"),
    ("ufw allowing 8080", "step9.app_ports_closed", "8080",
     "ufw allow 8080/tcp", "ufw delete allow 8080/tcp"),
    ("a single gunicorn worker", "step7.workers_on_unix_socket", "at least 3 gunicorn workers",
     "cp /etc/likes/gunicorn.conf.py /root/gunicorn.bak && sed -i 's/^workers = .*/workers = 1/' "
     "/etc/likes/gunicorn.conf.py && systemctl restart likes@1 likes@2 likes@3 && "
     + gunicorn_processes_at_least(3 + 3),
     "cp /root/gunicorn.bak /etc/likes/gunicorn.conf.py && systemctl restart likes@1 likes@2 likes@3 && "
     + gunicorn_processes_at_least(3 + 3 * 3)),
    # A decoy: ufw is on now, and a comment says it starts at boot; the line that counts says no.
    ("ufw off at the next boot, a comment saying otherwise", "step9.firewall_active", "off after a reboot",
     "cp /etc/ufw/ufw.conf /root/ufw.conf.bak && sed -i 's/^ENABLED=yes/# ENABLED=yes\\nENABLED=no/' "
     "/etc/ufw/ufw.conf && grep -qx ENABLED=no /etc/ufw/ufw.conf",
     "cp /root/ufw.conf.bak /etc/ufw/ufw.conf"),
    ("an upstream with one dead member and no failover", "step8.survives_one_down", "failed with HTTP 502",
     f"cp {SITE} /root/site.bak && sed -i 's#proxy_next_upstream .*;#proxy_next_upstream off;#' {SITE} "
     "&& systemctl reload nginx",
     f"cp /root/site.bak {SITE} && systemctl reload nginx"),
    ("a private key anyone can read", "step11.private_key_secret", "readable by root alone",
     "chmod 644 /etc/ssl/private/likes.key", "chmod 600 /etc/ssl/private/likes.key"),
]


@pytest.mark.parametrize("name, check, words, breaks, restores", BREAKS, ids=[b[0] for b in BREAKS])
def test_break_it(guest, lab_check, name, check, words, breaks, restores):
    broken = in_guest(guest, breaks)
    assert broken.returncode == 0, broken.stdout + broken.stderr
    try:
        run = lab_check("--target", check, "--json")
        results = {f"{c['step']}.{c['name']}": c for s in json.loads(run.stdout)["steps"] for c in s["checks"]}
        assert results[check]["passed"] is False, results[check]
        assert words in results[check]["rationale"]
        assert results[check]["hint"]
    finally:
        restored = in_guest(guest, restores)
        assert restored.returncode == 0, restored.stdout + restored.stderr
    again = lab_check("--target", check)
    assert again.returncode == 0, again.stdout


# -- the checker on a guest that is down ------------------------------------------------

def test_halted_vm_is_one_line_and_exit_2(guest, lab_check):
    guest.vagrant("halt")
    run = lab_check("step1")
    assert run.returncode == 2
    assert run.stdout.strip() == "could not check: the VM is halted: run `vagrant up`"
