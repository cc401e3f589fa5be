"""Guest addresses from every entry point (issue 17, checker faults 1-4), each in its own
process: a port that never speaks SSH, an IPv6 guest, and every bad address stopped at
once, one line naming the part, and no paramiko noise."""

import os
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from lab.engine.context import Settings
from lab.guest.http import Http
from lab.transports import open_transport
from tests.support.bad_addresses import BAD_ADDRESSES, IDS
from tests.support.fake_vagrant import FakeVagrant, ports_answer, ssh_config
from tests.support.paths import COURSE, REPO
from tests.support.sshd import Sshd


def start(module, *args, cwd, env=None):
    """An entry point of the kit as a student or instructor runs it, in its own process."""
    return subprocess.Popen([sys.executable, "-m", module, *args], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO), "PYTHONIOENCODING": "utf-8",
                                 "NO_COLOR": "1", **(env or {})})


def finish(process):
    stdout, stderr = process.communicate(timeout=90)
    return process.returncode, stdout, stderr


def lines(text):
    return [line for line in text.splitlines() if line.strip()]


# --- 1. a port that accepts TCP and never speaks SSH ---------------------------------------

def test_a_server_that_never_sends_the_ssh_banner_is_one_line_from_every_entry_point(tmp_path, listening_port,
                                                                                      sshd):
    """paramiko logs the banner it gave up on from its own thread; no entry point may show that."""
    url = f"ssh://root@127.0.0.1:{listening_port}?key={sshd.key}"
    roster = tmp_path / "roster.csv"
    roster.write_text(f"student,guest\nalice,{url}\n", encoding="utf-8")
    lab = tmp_path / "lab"
    machine = lab / ".vagrant" / "machines" / "default" / "virtualbox"
    machine.mkdir(parents=True)
    (lab / "Vagrantfile").write_text('Vagrant.configure("2") { }\n')
    (machine / "id").write_text("abc")
    # The selftest only grades the lab's Vagrant VM: a fake vagrant whose VM's sshd is still booting.
    vagrant = FakeVagrant(tmp_path / "bin")
    vagrant.answer("ssh-config", ssh_config(listening_port, sshd.key, "root"))
    vagrant.answer("port", ports_answer(p22=listening_port, p80=listening_port))
    vagrant.answer("status", "1700000000,default,state,running\n")
    path = {"PATH": f"{vagrant.folder}:{os.environ['PATH']}"}
    # Each waits paramiko's 10 s for the banner: all at once.
    runs = {
        "lab.check": start("lab.check", "--course", str(COURSE), "good", "--guest", url, cwd=tmp_path),
        "lab.grade": start("lab.grade", str(roster), "--course", str(COURSE), "--steps", "good", cwd=tmp_path),
        "lab replay": start("lab", "replay", "good", "--course", str(COURSE), "--guest", url, "--root", str(lab),
                            cwd=tmp_path),
        "lab.selftest": start("lab.selftest", "--root", str(lab), cwd=tmp_path, env=path),
    }
    said = {}
    for name, process in runs.items():
        rc, stdout, stderr = finish(process)
        assert "Traceback" not in stdout + stderr and "Exception" not in stderr, f"{name}:\n{stderr}"
        assert rc == 2, f"{name}: {stdout}{stderr}"
        said[name] = lines(stdout) + lines(stderr)
    where = f"127.0.0.1:{listening_port}"
    silent = (f"SSH at {where} accepted the connection but sent no SSH greeting within 10 s: is the machine still "
              f"starting up? wait a minute and try again; is {where} its SSH port?")
    assert said["lab.check"] == [f"could not check: {silent}"]
    # The replay names the step and its first action, then stops where it meets the guest.
    assert said["lab replay"][-1] == f"replay: could not reach the guest: {silent}"
    assert [line for line in said["lab replay"] if "SSH" in line or "replay:" in line] == said["lab replay"][-1:]
    assert said["lab.selftest"] == [f"selftest: the VM is running but does not answer over SSH at "
                                    f"127.0.0.1:{listening_port}: wait a minute if it is still booting, else run "
                                    f"`vagrant reload`"]
    assert said["lab.grade"] == [f"[1/1] alice: could not check: {silent}",
                                 "0 graded, 1 could not be checked, of 1: grades/gradebook.csv"]


# --- 2. an IPv6 ssh:// guest -------------------------------------------------------------------

def ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


class _Hello(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "5")
        self.end_headers()
        self.wfile.write(b"hello")

    def log_message(self, *args):
        pass


class _Http6(ThreadingHTTPServer):
    address_family = socket.AF_INET6


@pytest.mark.skipif(not ipv6_loopback(), reason="this machine has no IPv6 loopback")
def test_an_ipv6_ssh_guest_reaches_its_web_server_on_port_80(tmp_path):
    """Without http=, the web server is the SSH host's port 80: http://[::1], in brackets."""
    try:
        web = _Http6(("::1", 80), _Hello)
    except OSError as exc:
        pytest.skip(f"port 80 on ::1 is not free ({exc.strerror})")
    threading.Thread(target=web.serve_forever, daemon=True).start()
    try:
        with Sshd(tmp_path / "sshd", listen="::1") as server:
            assert server.url().startswith(f"ssh://{server.user}@[::1]:{server.port}?key=")
            transport = open_transport(server.url(), Settings(root=tmp_path))
            try:
                assert transport.run("echo %s", "over IPv6").stdout == "over IPv6\n"
                assert (transport.http_base, transport.https_base) == ("http://[::1]", "https://[::1]")
                answer = Http(transport.http_base, transport.http_unreachable_remedy).get("/likes")
                assert (answer.url, answer.status, answer.text) == ("http://[::1]/likes", 200, "hello")
            finally:
                transport.close()
    finally:
        web.shutdown()
        web.server_close()


@pytest.mark.parametrize("address, message", BAD_ADDRESSES[:4] + BAD_ADDRESSES[12:13],
                         ids=IDS[:4] + IDS[12:13])
def test_a_bad_address_stops_every_entry_point_at_once(tmp_path, address, message):
    """The student is never graded 0 ("the check itself crashed"), nor a roster row "graded, 0 points"."""
    one_line = f"the guest address {address!r}: {message}"
    roster = tmp_path / "roster.csv"
    roster.write_text(f"student,guest\nalice,local://\nbob,{address}\n", encoding="utf-8")
    runs = {
        "lab.check": start("lab.check", "--course", str(COURSE), "good", "--guest", address, cwd=tmp_path),
        "lab.grade": start("lab.grade", str(roster), "--course", str(COURSE), "--steps", "good", cwd=tmp_path),
        "lab replay": start("lab", "replay", "good", "--course", str(COURSE), "--guest", address, "--root",
                            str(tmp_path), cwd=tmp_path),
    }
    said = {}
    for name, process in runs.items():
        rc, stdout, stderr = finish(process)
        assert rc == 2 and "Traceback" not in stdout + stderr and "internal error" not in stdout + stderr, \
            f"{name}: {stdout}{stderr}"
        said[name] = lines(stdout) + lines(stderr)
    assert said["lab.check"] == [f"could not check: {one_line}"]
    assert said["lab.grade"] == [f"lab.grade: {roster}:3: bob: {one_line}"]
    assert said["lab replay"] == [f"replay: could not reach the guest: {one_line}"]
    assert not (tmp_path / "grades").exists()  # nobody was graded, no row says "graded"
