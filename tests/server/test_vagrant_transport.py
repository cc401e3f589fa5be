"""The Vagrant transport's cache in .lab/vagrant.json, which heals itself: a fake
`vagrant` (tests/support/fake_vagrant.py) answers, the SSH logins are real, to a local
sshd."""

import json
import socket

import pytest

from lab.core.outcomes import CouldNotCheck, GuestUnreachable
from lab.transports.vagrant import VagrantTransport
from tests.support.fake_vagrant import (  # noqa: F401 (fixtures)
    LIBVIRT_PORTS,
    PORTS_MACHINE_READABLE,
    fake_vagrant,
    lab_folder,
    ports_answer,
    ssh_config,
)
from tests.support.localservers import free_port
from tests.support.sshd import Sshd

# --- real logins through the fake vagrant's answers --------------------------------------------

@pytest.fixture
def web_port(listening_port):
    """A port on 127.0.0.1 that accepts connections, as Vagrant's forwarded web port does."""
    return listening_port


@pytest.fixture
def vm(fake_vagrant, lab_folder, sshd, web_port):
    """The fake vagrant answers with the real sshd, its key copied under the lab folder (a space, an é)."""
    key = lab_folder / ".vagrant" / "machines" / "default" / "virtualbox" / "private_key"
    key.write_bytes(sshd.key.read_bytes())
    key.chmod(0o600)
    fake_vagrant.answer("ssh-config", ssh_config(sshd.port, key, sshd.user))
    fake_vagrant.answer("port", ports_answer(p22=sshd.port, p80=web_port, p443=8443))
    fake_vagrant.answer("status", "1700000000,default,state,running\n")
    fake_vagrant.key, fake_vagrant.web_port, fake_vagrant.lab = str(key), web_port, lab_folder
    return fake_vagrant


def good_cache(vm, sshd, **changes):
    return {"id": "abc", "host": "127.0.0.1", "port": sshd.port, "user": sshd.user, "key": vm.key,
            "known_hosts": None, "http_port": vm.web_port, "https_port": 8443, **changes}


def open_vm(vm, cache=None, connect_timeout=None):
    cache_file = vm.lab / ".lab" / "vagrant.json"
    if cache is not None:
        cache_file.parent.mkdir(exist_ok=True)
        cache_file.write_text(json.dumps(cache))
    transport = VagrantTransport(vm.lab, "default", cache_file)
    if connect_timeout:
        transport.connect_timeout = connect_timeout
    transport.open()
    return transport


def logs_in(transport):
    try:
        return transport.run("echo %s", "in").stdout == "in\n"
    finally:
        transport.close()


def test_a_key_under_a_path_with_a_space_logs_in_and_is_cached(vm, sshd):
    transport = open_vm(vm)
    assert logs_in(transport)
    assert vm.calls() == ["ssh-config", "port"]
    cache = (vm.lab / ".lab" / "vagrant.json").read_bytes()
    assert cache.isascii() and json.loads(cache)["key"] == vm.key
    # The next run reads the cache and asks vagrant nothing.
    again = open_vm(vm)
    assert logs_in(again)
    assert vm.calls() == ["ssh-config", "port"]
    # The provider comes from .vagrant/ too: VirtualBox binds forwards to host_ip.
    assert again.provider == "virtualbox" and again.loopback_forwarding_refused() is None


@pytest.mark.parametrize("stale", ["user", "key", "key file gone", "ssh port refused", "machine id"])
def test_a_stale_cache_is_looked_up_again_once(vm, sshd, tmp_path, stale):
    stranger = tmp_path / "stranger"
    Sshd(tmp_path)._keygen(stranger)
    # "key file gone": the student moved the lab folder, and the cache names the key where it was.
    changes = {"user": {"user": "nobody"}, "key": {"key": str(stranger)},
               "key file gone": {"key": str(tmp_path / "old place" / "private_key")},
               "ssh port refused": {"port": free_port()}, "machine id": {"id": "an older VM"}}[stale]
    transport = open_vm(vm, good_cache(vm, sshd, **changes))
    assert logs_in(transport)
    assert vm.calls() == ["ssh-config", "port"]
    assert json.loads((vm.lab / ".lab" / "vagrant.json").read_text()) == good_cache(vm, sshd)


def test_an_ssh_port_that_never_answers_is_looked_up_again(vm, sshd):
    with socket.socket() as silent:  # accepts connections, never says a word
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        transport = open_vm(vm, good_cache(vm, sshd, port=silent.getsockname()[1]), connect_timeout=0.5)
    assert logs_in(transport)
    assert vm.calls() == ["ssh-config", "port"]


def another_host_key(sshd, tmp_path):
    """A known_hosts file that knows the sshd's address by another machine's key, as after a rebuild."""
    other = tmp_path / "other_host_key"
    Sshd(tmp_path)._keygen(other)
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(f"[127.0.0.1]:{sshd.port} {(tmp_path / 'other_host_key.pub').read_text()}")
    return known_hosts


def test_a_changed_host_key_is_looked_up_again(vm, sshd, tmp_path):
    known_hosts = another_host_key(sshd, tmp_path)
    transport = open_vm(vm, good_cache(vm, sshd, known_hosts=str(known_hosts)))
    assert logs_in(transport)
    assert vm.calls() == ["ssh-config", "port"]


def test_a_changed_host_key_after_a_lookup_is_reported(vm, sshd, tmp_path):
    known_hosts = another_host_key(sshd, tmp_path)
    vm.answer("ssh-config", ssh_config(sshd.port, vm.key, sshd.user, known_hosts=known_hosts))
    with pytest.raises(CouldNotCheck) as raised:
        open_vm(vm, good_cache(vm, sshd, known_hosts=str(known_hosts)))
    assert raised.value.one_line() == (f"the SSH host key of 127.0.0.1:{sshd.port} changed: if you rebuilt that "
                                       f"machine, remove its line with `ssh-keygen -R \"[127.0.0.1]:{sshd.port}\"`")
    assert vm.calls() == ["ssh-config", "port"]


def test_a_refused_web_port_is_looked_up_again_and_ssh_stays(vm, sshd):
    transport = open_vm(vm, good_cache(vm, sshd, http_port=free_port()))
    assert transport.http_base == f"http://127.0.0.1:{vm.web_port}"
    assert logs_in(transport)
    assert vm.calls() == ["ssh-config", "port"]


def test_a_cache_that_stays_wrong_is_reported_after_one_lookup(vm, sshd):
    gone = free_port()
    vm.answer("ssh-config", ssh_config(gone, vm.key, sshd.user))
    with pytest.raises(GuestUnreachable, match=f"the VM is running but does not answer over SSH at 127.0.0.1:{gone}"):
        open_vm(vm, good_cache(vm, sshd, port=gone))
    assert vm.calls() == ["ssh-config", "port", "status"]


def test_ports_vagrant_moved_are_used(vm, sshd):
    # auto_correct moved 2222/8500/8443 to 2200/8501/8444, as when another lab VM holds them.
    vm.answer("port", PORTS_MACHINE_READABLE)
    transport = open_vm(vm)
    assert (transport.http_base, transport.https_base) == ("http://127.0.0.1:8501", "https://127.0.0.1:8444")
    assert logs_in(transport)


@pytest.mark.parametrize("settings_json", [True, False])
def test_a_provider_that_cannot_list_ports_uses_the_settings(vm, sshd, monkeypatch, settings_json):
    monkeypatch.delenv("LAB_HTTP_PORT", raising=False)
    monkeypatch.delenv("LAB_HTTPS_PORT", raising=False)
    vm.answer("port", LIBVIRT_PORTS, rc=1)
    (vm.lab / "lab.yml").write_text("http_port: 8600\nhttps_port: 8643\n")
    if settings_json:
        (vm.lab / ".lab").mkdir()
        (vm.lab / ".lab" / "settings.json").write_text(json.dumps({"http_port": 8501, "https_port": 8444}))
    transport = open_vm(vm)
    expected = (8501, 8444) if settings_json else (8600, 8643)
    assert (transport.http_base, transport.https_base) == (f"http://127.0.0.1:{expected[0]}",
                                                           f"https://127.0.0.1:{expected[1]}")
    assert logs_in(transport)


def test_no_forwarded_web_port(vm, sshd):
    vm.answer("port", ports_answer(p22=2222))
    with pytest.raises(CouldNotCheck, match="Vagrant forwards no host port to the guest's port 80"):
        open_vm(vm)
