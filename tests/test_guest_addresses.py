"""Guest addresses from every entry point (issue 17, checker faults 1-4): every part
checked before anything connects, one line naming the part, and no paramiko noise."""

import os
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from lab.engine.context import Settings
from lab.guest.http import Http
from lab.transports import check_url, open_transport
from tests.support.sshd import Sshd
from tests.test_vagrant_transport import FakeVagrant, ports_answer, ssh_config

REPO = Path(__file__).resolve().parent.parent
COURSE = Path(__file__).parent / "fixtures" / "course"


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

@pytest.mark.server
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


@pytest.mark.server
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


# --- 3 and 4. every part of every address, up front -------------------------------------------

BAD_ADDRESSES = [
    ("local://?http=127.0.0.1:8080", "http=127.0.0.1:8080 is not an http:// address: write http=http://127.0.0.1:8080"),
    ("local://?http=http://host:99999", "http=http://host:99999: the port '99999' is not a number from 1 to 65535: "
                                        "write http=http://host:PORT"),
    ("local://?http=http://host:abc", "http=http://host:abc: the port 'abc' is not a number from 1 to 65535: "
                                      "write http=http://host:PORT"),
    ("local://?https=http://host:8443", "https=http://host:8443 is not an https:// address: write "
                                        "https=https://host:port"),
    ("local://?http=http://host:8080/app", "http=http://host:8080/app is more than http://host:port: write "
                                           "http=http://host:8080"),
    ("local://?http=", "http= has no value: give one, as in local:// or local://?http=http://127.0.0.1:8080, "
                       "or leave http= out"),
    ("local://?htp=http://host", "it has no part 'htp': its parts are http=, https="),
    ("local://somehost", "local:// names no host or path: it is always this machine: write local:// or "
                         "local://?http=http://127.0.0.1:8080"),
    ("ssh://me@host?key=k&key=j", "key= is given twice: give it once"),
    ("ssh://me@host?kye=~/.ssh/id", "it has no part 'kye': its parts are key=, http=, https="),
    ("ssh://me@host:22/home", "the path '/home' means nothing to SSH: leave it out; write it as "
                              "ssh://user@host:22?key=PATH"),
    ("ssh://me@host?https=https://[::1", "https=https://[::1 is not an https:// address: write "
                                         "https=https://host:port"),
    ("ssh://u@[::1:22", "a '[' is not closed by ']': an IPv6 host is written in brackets, as in [2001:db8::1]:22"),
    ("ssh://u@::1:22", "an IPv6 host must be in brackets: write it as ssh://user@[::1]:22"),
    ("ssh://u@[nohost]:22", "the host is not an address a URL can hold ('nohost' does not appear to be an IPv4 or "
                            "IPv6 address): write it as ssh://user@host:22?key=PATH"),
    ("vagrant://default?http=http://h", "a Vagrant guest is named by its machine's name alone: write "
                                        "vagrant://default, or vagrant://NAME for a machine the Vagrantfile names NAME"),
]
IDS = [address for address, _ in BAD_ADDRESSES]


@pytest.mark.unit
@pytest.mark.parametrize("address, message", BAD_ADDRESSES, ids=IDS)
def test_every_part_of_an_address_is_checked_before_connecting(address, message):
    with pytest.raises(Exception) as err:
        check_url(address)
    assert err.value.one_line() == f"the guest address {address!r}: {message}"


@pytest.mark.unit
def test_a_password_in_an_address_is_never_repeated():
    with pytest.raises(Exception) as err:
        check_url("ssh://me:hunter2@host:99999")
    assert "hunter2" not in err.value.one_line()
    assert err.value.one_line().startswith("the guest address 'ssh://me:***@host:99999': the port '99999'")


@pytest.mark.unit
@pytest.mark.parametrize("address", ["local://", "local:///", "local://?http=http://127.0.0.1:8080&https=https://[::1]",
                                     "ssh://host", "ssh://me@[::1]:2222?key=~/k&http=http://[::1]:8080/",
                                     "vagrant://default", "vagrant://", "vagrant://web-1"])
def test_good_addresses_pass(address):
    check_url(address)


@pytest.mark.server
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


@pytest.mark.unit
def test_a_message_never_repeats_a_password_even_one_with_an_at_sign():
    from lab.transports.address import shown

    assert shown("ssh://me:s3cr@t@host:22") == "ssh://me:***@host:22"
    assert shown("local://?http=http://a:pw@h:1") == "local://?http=http://a:***@h:1"
    assert shown("ssh://me@host:22") == "ssh://me@host:22"
