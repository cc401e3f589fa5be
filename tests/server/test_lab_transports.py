"""The ssh and local transports, and the guest helpers on top, against a real
sshd (Debian's openssh-server) started on 127.0.0.1 by the test."""

import getpass
import os

import pytest

from lab.core.outcomes import CouldNotCheck, GuestUnreachable
from lab.engine.context import Settings
from lab.guest.system import Guest
from lab.transports import open_transport, transport_class
from lab.transports.local import LocalTransport
from lab.transports.ssh import SshTransport
from tests.support.localservers import free_port
from tests.support.sshd import Sshd


@pytest.fixture(params=["ssh", "local"])
def transport(request, sshd, tmp_path):
    if request.param == "ssh":
        t = open_transport(sshd.url(), Settings(root=tmp_path))
    else:
        t = open_transport("local://", Settings(root=tmp_path))
    yield t
    t.close()


def test_schemes_map_to_classes():
    assert transport_class("ssh://h") is SshTransport
    assert transport_class("local://") is LocalTransport
    with pytest.raises(CouldNotCheck, match="unknown guest address"):
        transport_class("telnet://h")


def test_commands_return_code_and_both_streams(transport):
    result = transport.run("printf %s; printf %s >&2; exit 3", "out put", "err")
    assert (result.rc, result.stdout, result.stderr) == (3, "out put", "err")
    assert transport.run("echo %s", "$HOME; `id`").stdout == "$HOME; `id`\n"


def test_guest_helpers_on_a_real_machine(transport, tmp_path):
    guest = Guest(transport)
    me = getpass.getuser()
    path = tmp_path / "a file"
    path.write_text("hello lab\n")
    path.chmod(0o640)
    f = guest.file(str(path))
    assert f.exists and f.is_file and not f.is_directory
    assert (f.mode, f.owner) == (0o640, me)
    assert f.content == "hello lab\n"
    assert f.contains("lab") and not f.contains("nope")
    assert guest.file(str(tmp_path)).is_directory
    missing = guest.file(str(tmp_path / "missing"))
    assert not missing.exists and missing.mode is None and missing.content is None
    assert guest.user(me).exists and guest.user(me).uid == os.getuid()
    assert not guest.user("no-such-user-here").exists
    assert guest.group("root").exists
    assert guest.package("openssh-server").is_installed
    assert not guest.package("no-such-package").is_installed
    assert guest.os_release()["ID"] == "debian"


def test_socket_helper_sees_sshd_listening(transport, sshd):
    guest = Guest(transport)
    assert guest.socket(f"tcp://127.0.0.1:{sshd.port}").is_listening
    assert guest.socket(f"tcp://{sshd.port}").is_listening
    assert not guest.socket(f"tcp://0.0.0.0:{sshd.port}").is_listening
    assert not guest.socket(f"tcp://127.0.0.1:{free_port()}").is_listening
    # The listener carries the pid of the sshd that holds it.
    [ours] = [s for s in guest.listeners("tcp") if s.address == f"127.0.0.1:{sshd.port}"]
    assert sshd.pid in ours.pids


def test_one_connection_serves_many_probes(sshd, tmp_path):
    transport = open_transport(sshd.url(), Settings(root=tmp_path))
    try:
        sessions_before = transport.client.get_transport()
        for n in range(20):
            assert transport.run("echo %s", n).stdout == f"{n}\n"
        assert transport.client.get_transport() is sessions_before
    finally:
        transport.close()


def test_command_timeout_is_could_not_check(transport):
    with pytest.raises(CouldNotCheck, match="did not finish within 0.5 s"):
        transport.run("sleep 5", timeout=0.5)


def test_closed_ssh_port_is_unreachable(tmp_path):
    with pytest.raises(GuestUnreachable, match="refused the connection"):
        open_transport(f"ssh://root@127.0.0.1:{free_port()}", Settings(root=tmp_path))


def test_wrong_key_is_refused(sshd, tmp_path):
    other = Sshd(tmp_path / "other")
    other._keygen(tmp_path / "stranger")
    url = f"ssh://{sshd.user}@127.0.0.1:{sshd.port}?key={tmp_path / 'stranger'}"
    with pytest.raises(CouldNotCheck, match="refused the login"):
        open_transport(url, Settings(root=tmp_path))


def test_http_base_of_ssh_url(sshd, tmp_path):
    transport = open_transport(sshd.url() + "&http=http://127.0.0.1:8123", Settings(root=tmp_path))
    transport.close()
    assert transport.http_base == "http://127.0.0.1:8123"
    assert SshTransport("example.test").http_base == "http://example.test"


def test_each_command_starts_clean(transport):
    transport.run("cd /tmp && export LAB_LEAK=1")
    assert transport.run("pwd").stdout.strip() != "/tmp"
    assert transport.run("echo ${LAB_LEAK:-unset}").stdout == "unset\n"
    assert transport.run("cat").stdout == ""  # stdin is empty: nothing waits for input


def test_output_is_returned_exactly(transport):
    assert transport.run("printf %s", "no newline at the end").stdout == "no newline at the end"
    assert transport.run("printf 'lab-0123456789abcdef 0 0\\n'").stdout == "lab-0123456789abcdef 0 0\n"
    big_err = transport.run("head -c 300000 /dev/zero | tr '\\0' e >&2; echo done")
    assert (big_err.stdout, len(big_err.stderr)) == ("done\n", 300000)
    assert transport.run("sh -c %s", "exit 7").rc == 7


def test_runaway_output_is_cut(transport):
    result = transport.run("head -c 3000000 /dev/zero | tr '\\0' x; echo; echo after")
    assert len(result.stdout) == 1024 * 1024
    assert result.rc == 0
    assert transport.run("echo next").stdout == "next\n"


def test_after_a_timeout_the_next_command_works(transport):
    with pytest.raises(CouldNotCheck):
        transport.run("sleep 5", timeout=0.5)
    assert transport.run("echo %s", "still here").stdout == "still here\n"
