"""The Vagrant transport: what `vagrant ssh-config` and `vagrant port` print, the
cache in .lab/vagrant.json that heals itself, and `vagrant` commands that hang.

A fake `vagrant` (a Python script first on PATH) prints the answers a test
sets and logs every call; the SSH logins are real, to a local sshd.
"""

import json
import socket
import sys
import time
from pathlib import Path

import pytest

import lab.transports.vagrant as vagrant_mod
from lab.check import main
from lab.engine.context import Settings
from lab.core.outcomes import CouldNotCheck, GuestUnreachable
from lab.transports import open_transport
from lab.transports.vagrant import (SshConfig, VagrantTransport, configured_port, parse_forwarded_ports,
                                    parse_ssh_config, parse_status)
from tests.support.localservers import free_port
from tests.support.sshd import Sshd

# --- what `vagrant ssh-config` prints, as real Vagrants print it --------------------------------
# The template (templates/commands/ssh_config/config.erb) leaves an empty line before each
# IdentityFile, and quotes the path only when it holds a space.

VIRTUALBOX_MACOS = """Host default
  HostName 127.0.0.1
  User vagrant
  Port 2222
  UserKnownHostsFile /dev/null
  StrictHostKeyChecking no
  PasswordAuthentication no

  IdentityFile "/Users/Jane Doé/lab/.vagrant/machines/default/virtualbox/private_key"
  IdentitiesOnly yes
  LogLevel FATAL
  PubkeyAcceptedKeyTypes +ssh-rsa
  HostKeyAlgorithms +ssh-rsa
"""

WINDOWS_FORWARD_SLASHES = """Host default
  HostName 127.0.0.1
  User vagrant
  Port 2200
  UserKnownHostsFile /dev/null
  StrictHostKeyChecking no
  PasswordAuthentication no

  IdentityFile "C:/Users/Jane Doé/lab/.vagrant/machines/default/virtualbox/private_key"
  IdentitiesOnly yes
  LogLevel FATAL
"""

WINDOWS_BACKSLASHES = r"""Host default
  HostName 127.0.0.1
  User vagrant
  Port 2222
  UserKnownHostsFile /dev/null
  StrictHostKeyChecking no
  PasswordAuthentication no

  IdentityFile "C:\Users\Jane Doé\lab\.vagrant\machines\default\virtualbox\private_key"

  IdentityFile C:\Users\jane\.vagrant.d\insecure_private_key
  IdentitiesOnly yes
  LogLevel FATAL
"""

LIBVIRT = """Host default
  HostName 192.168.121.45
  User vagrant
  Port 22
  UserKnownHostsFile /dev/null
  StrictHostKeyChecking no
  PasswordAuthentication no

  IdentityFile /home/jane/lab/.vagrant/machines/default/libvirt/private_key
  IdentitiesOnly yes
  LogLevel FATAL
"""

# When Vagrant could not put the machine's own key in place yet, it offers both.
INSECURE_KEY_FALLBACK = """Host default
  HostName 127.0.0.1
  User vagrant
  Port 2222
  UserKnownHostsFile /dev/null
  StrictHostKeyChecking no
  PasswordAuthentication no

  IdentityFile /home/jane/lab/.vagrant/machines/default/virtualbox/private_key

  IdentityFile /home/jane/.vagrant.d/insecure_private_key
  IdentitiesOnly yes
  LogLevel FATAL
"""


@pytest.mark.unit
@pytest.mark.parametrize("text, host, port, keys", [
    (VIRTUALBOX_MACOS, "127.0.0.1", 2222, ["/Users/Jane Doé/lab/.vagrant/machines/default/virtualbox/private_key"]),
    (WINDOWS_FORWARD_SLASHES, "127.0.0.1", 2200,
     ["C:/Users/Jane Doé/lab/.vagrant/machines/default/virtualbox/private_key"]),
    (WINDOWS_BACKSLASHES, "127.0.0.1", 2222,
     [r"C:\Users\Jane Doé\lab\.vagrant\machines\default\virtualbox\private_key",
      r"C:\Users\jane\.vagrant.d\insecure_private_key"]),
    (LIBVIRT, "192.168.121.45", 22, ["/home/jane/lab/.vagrant/machines/default/libvirt/private_key"]),
    (INSECURE_KEY_FALLBACK, "127.0.0.1", 2222,
     ["/home/jane/lab/.vagrant/machines/default/virtualbox/private_key", "/home/jane/.vagrant.d/insecure_private_key"]),
], ids=["virtualbox-space", "windows", "windows-backslashes", "libvirt", "two-keys"])
def test_ssh_config_as_vagrant_prints_it(text, host, port, keys):
    conf = parse_ssh_config(text)
    assert (conf.host, conf.port, conf.user, conf.identity_files) == (host, port, "vagrant", keys)
    assert conf.known_hosts is None  # UserKnownHostsFile /dev/null: Vagrant checks no host key


@pytest.mark.unit
def test_the_first_key_that_exists_is_used(tmp_path):
    second = tmp_path / "insecure_private_key"
    second.write_text("key")
    assert SshConfig("h", 22, "u", [str(tmp_path / "gone"), str(second)]).key() == str(second)
    assert SshConfig("h", 22, "u", ["/gone/a", "/gone/b"]).key() == "/gone/a"  # its error will name it
    assert SshConfig("h", 22, "u", []).key() is None


@pytest.mark.unit
def test_ssh_config_reads_as_openssh_does():
    conf = parse_ssh_config("# a comment\nHost web\n  HostName=10.0.0.5\n  port 2201\n  Port 9\n"
                            "  UserKnownHostsFile ~/lab_known_hosts\nHost db\n  HostName 10.0.0.6\n", "web")
    # The first value wins, keywords ignore case, and the second machine's block is not read.
    assert (conf.host, conf.port, conf.user) == ("10.0.0.5", 2201, "vagrant")
    assert conf.known_hosts == str(Path.home() / "lab_known_hosts")
    assert parse_ssh_config("Host default\n  Port 22\n").host == "default"  # no HostName: the Host alias
    assert parse_ssh_config("Host x\n HostName h\n", "x").known_hosts == str(Path.home() / ".ssh" / "known_hosts")
    with pytest.raises(ValueError, match="'22x' is not a port number"):
        parse_ssh_config("Host x\n HostName h\n Port 22x\n", "x")


# --- what `vagrant port` and `vagrant status` print ----------------------------------------------

PORTS_MACHINE_READABLE = """1700000000,default,metadata,provider,virtualbox
1700000000,,ui,info,The forwarded ports for the machine are listed below. Please note that\\nthese values may \
differ from values configured in the Vagrantfile if the\\nprovider supports automatic port collision detection \
and resolution.
1700000000,,ui,info,
1700000000,,ui,info,    22 (guest) => 2200 (host)
1700000000,default,forwarded_port,22,2200
1700000000,,ui,info,    80 (guest) => 8501 (host)
1700000000,default,forwarded_port,80,8501
1700000000,,ui,info,   443 (guest) => 8444 (host)
1700000000,default,forwarded_port,443,8444
"""

PORTS_TABLE = """The forwarded ports for the machine are listed below. Please note that
these values may differ from values configured in the Vagrantfile if the
provider supports automatic port collision detection and resolution.

    22 (guest) => 2222 (host)
    80 (guest) => 8500 (host)
"""

LIBVIRT_PORTS = ("1700000000,,ui,error,The libvirt provider does not support listing forwarded ports. This is"
                 "\\nmost likely a limitation of the provider and not a bug in Vagrant. If you\\nbelieve this is a "
                 "bug in Vagrant%!(VAGRANT_COMMA) please search existing issues before\\nopening a new one.\n")


@pytest.mark.unit
def test_forwarded_ports_as_vagrant_prints_them():
    assert parse_forwarded_ports(PORTS_MACHINE_READABLE) == {22: 2200, 80: 8501, 443: 8444}
    assert parse_forwarded_ports(PORTS_TABLE) == {22: 2222, 80: 8500}
    assert parse_forwarded_ports(LIBVIRT_PORTS) == {}


@pytest.mark.unit
def test_status_as_vagrant_prints_it():
    text = ("1700000000,default,metadata,provider,virtualbox\n1700000000,default,provider-name,virtualbox\n"
            "1700000000,default,state,poweroff\n1700000000,default,state-human-short,poweroff\n")
    assert parse_status(text) == "poweroff"
    assert parse_status("nonsense") == "unknown"


# --- the ports the Vagrantfile resolved: .lab/settings.json ------------------------------------

@pytest.mark.unit
def test_configured_ports_come_from_the_vagrantfiles_settings_first(tmp_path, monkeypatch):
    monkeypatch.delenv("LAB_HTTP_PORT", raising=False)
    (tmp_path / "lab.yml").write_text("http_port: 8600\n")
    assert configured_port(tmp_path, "http_port") == 8600
    (tmp_path / ".lab").mkdir()
    settings = tmp_path / ".lab" / "settings.json"
    settings.write_text(json.dumps({"http_port": 8501, "https_port": 8443, "box": "bento/ubuntu-24.04",
                                    "vm_name": "likes-lab-1a2b3c4d"}))
    assert (configured_port(tmp_path, "http_port"), configured_port(tmp_path, "https_port")) == (8501, 8443)
    # A damaged file, or one with a value that is not a port, is passed over.
    for damaged in ("{not json", "[8501]", json.dumps({"http_port": "8501"}), json.dumps({"http_port": 0})):
        settings.write_text(damaged)
        assert configured_port(tmp_path, "http_port") == 8600
    settings.write_bytes(b"\xff\xfe")
    assert configured_port(tmp_path, "http_port") == 8600


# --- a fake vagrant --------------------------------------------------------------------------

FAKE_VAGRANT = """#!{python}
# A stand-in for vagrant: answers.json says what each command prints; every call is logged.
import json, os, sys, time
here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "calls.log"), "a", encoding="utf-8") as log:
    log.write(json.dumps(sys.argv[1:]) + "\\n")
with open(os.path.join(here, "answers.json"), encoding="utf-8") as f:
    answer = json.load(f).get(sys.argv[1], {{"rc": 1, "stderr": "no answer set for this command"}})
time.sleep(answer.get("sleep", 0))
sys.stdout.buffer.write(answer.get("stdout", "").encode("utf-8"))
sys.stderr.buffer.write(answer.get("stderr", "").encode("utf-8"))
sys.exit(answer.get("rc", 0))
"""


class FakeVagrant:
    def __init__(self, folder):
        self.folder = folder
        folder.mkdir()
        script = folder / "vagrant"
        script.write_text(FAKE_VAGRANT.format(python=sys.executable))
        script.chmod(0o755)
        self.answers = {}
        self.save()

    def answer(self, command, stdout="", rc=0, stderr="", sleep=0):
        self.answers[command] = {"stdout": stdout, "rc": rc, "stderr": stderr, "sleep": sleep}
        self.save()

    def save(self):
        (self.folder / "answers.json").write_text(json.dumps(self.answers), encoding="utf-8")

    def calls(self):
        log = self.folder / "calls.log"
        return [json.loads(line)[0] for line in log.read_text().splitlines()] if log.exists() else []


@pytest.fixture
def fake_vagrant(tmp_path, monkeypatch):
    fake = FakeVagrant(tmp_path / "bin")
    monkeypatch.setenv("PATH", f"{fake.folder}:{sys.exec_prefix}/bin:/usr/bin:/bin")
    return fake


@pytest.fixture
def lab_folder(tmp_path):
    """A lab folder whose path holds a space and a letter beyond ASCII, with a VM of id "abc"."""
    folder = tmp_path / "Jane Doé" / "lab"
    machine = folder / ".vagrant" / "machines" / "default" / "virtualbox"
    machine.mkdir(parents=True)
    (folder / "Vagrantfile").write_text('Vagrant.configure("2") { }\n')
    (machine / "id").write_text("abc")
    return folder


def ssh_config(port, key, user="vagrant", known_hosts=None):
    """Vagrant's answer; with known_hosts, as when the Vagrantfile sets config.ssh.verify_host_key."""
    checking = f"  UserKnownHostsFile {known_hosts}\n" if known_hosts else \
        "  UserKnownHostsFile /dev/null\n  StrictHostKeyChecking no\n"
    return (f"Host default\n  HostName 127.0.0.1\n  User {user}\n  Port {port}\n{checking}"
            f'  PasswordAuthentication no\n\n  IdentityFile "{key}"\n  IdentitiesOnly yes\n  LogLevel FATAL\n')


def ports_answer(**host_ports):
    """--machine-readable lines, e.g. ports_answer(p22=2222, p80=8500)."""
    return "".join(f"1700000000,default,forwarded_port,{guest[1:]},{host}\n" for guest, host in host_ports.items())


# --- `vagrant` commands that hang ------------------------------------------------------------

@pytest.mark.unit
@pytest.mark.parametrize("hangs, command", [
    ("ssh-config", "vagrant ssh-config default"),
    ("port", "vagrant port default --machine-readable"),
    ("status", "vagrant status default --machine-readable"),
])
def test_a_vagrant_that_does_not_answer_is_one_line(fake_vagrant, lab_folder, monkeypatch, capsys, hangs, command):
    monkeypatch.setattr(vagrant_mod, "VAGRANT_TIMEOUT", 0.5)
    if hangs == "status":  # reached when ssh-config fails, to say why
        fake_vagrant.answer("ssh-config", rc=1)
    else:
        fake_vagrant.answer("ssh-config", ssh_config(free_port(), "/k"))
    fake_vagrant.answer("port", ports_answer(p80=8500))
    fake_vagrant.answer(hangs, sleep=30)
    started = time.monotonic()
    assert main(["step1", "--root", str(lab_folder)]) == 2
    assert time.monotonic() - started < 10
    out = capsys.readouterr()
    assert f"could not check: `{command}` did not answer within 0.5 s: run `{command}` yourself in {lab_folder} " \
           f"to see why; if it hangs there too, restart VirtualBox (or the provider you use) and try again" \
           in out.out
    assert "Traceback" not in out.out + out.err and "internal error" not in out.out + out.err


@pytest.mark.unit
def test_a_vagrant_rsync_that_does_not_answer(fake_vagrant, lab_folder, monkeypatch):
    monkeypatch.setattr(vagrant_mod, "RSYNC_TIMEOUT", 0.5)
    fake_vagrant.answer("rsync", sleep=30)
    transport = VagrantTransport(lab_folder, "default", lab_folder / ".lab" / "vagrant.json")
    with pytest.raises(CouldNotCheck, match=r"`vagrant rsync default` did not answer within 0.5 s"):
        transport.rsync()


@pytest.mark.unit
def test_a_timeout_ends_what_vagrant_started(fake_vagrant, lab_folder, monkeypatch, tmp_path):
    # A real vagrant runs ruby, which runs VBoxManage: the timeout must end the whole group.
    pid_file = tmp_path / "child.pid"
    (fake_vagrant.folder / "vagrant").write_text(f"#!/bin/sh\nsleep 30 &\necho $! > '{pid_file}'\nwait\n")
    monkeypatch.setattr(vagrant_mod, "VAGRANT_TIMEOUT", 0.5)
    with pytest.raises(CouldNotCheck, match="did not answer"):
        vagrant_mod.run_vagrant(lab_folder, "status", timeout=0.5)
    child = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while Path(f"/proc/{child}").exists() and "Z" not in _state(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not Path(f"/proc/{child}").exists() or "Z" in _state(child)


def _state(pid):
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "Z"


@pytest.mark.unit
def test_the_vm_state_explains_a_failed_lookup(fake_vagrant, lab_folder):
    fake_vagrant.answer("ssh-config", rc=1, stderr="The provider for this Vagrant-managed machine is reporting "
                                                   "that it is not yet ready for SSH.")
    fake_vagrant.answer("status", "1700000000,default,state,poweroff\n")
    with pytest.raises(CouldNotCheck, match="^the VM is halted$"):
        open_transport("vagrant://default", Settings(root=lab_folder))


@pytest.mark.unit
def test_a_cache_that_cannot_be_written_costs_only_a_lookup(fake_vagrant, lab_folder):
    (lab_folder / ".lab").write_text("a file where the state folder should be")
    fake_vagrant.answer("ssh-config", VIRTUALBOX_MACOS)
    fake_vagrant.answer("port", PORTS_TABLE)
    transport = VagrantTransport(lab_folder, "default", lab_folder / ".lab" / "vagrant.json")
    transport.id = "abc"
    assert transport._discover() == {
        "id": "abc", "host": "127.0.0.1", "port": 2222, "user": "vagrant", "known_hosts": None,
        "key": "/Users/Jane Doé/lab/.vagrant/machines/default/virtualbox/private_key",
        "http_port": 8500, "https_port": None}


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


@pytest.mark.server
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


@pytest.mark.server
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


@pytest.mark.server
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


@pytest.mark.server
def test_a_changed_host_key_is_looked_up_again(vm, sshd, tmp_path):
    known_hosts = another_host_key(sshd, tmp_path)
    transport = open_vm(vm, good_cache(vm, sshd, known_hosts=str(known_hosts)))
    assert logs_in(transport)
    assert vm.calls() == ["ssh-config", "port"]


@pytest.mark.server
def test_a_changed_host_key_after_a_lookup_is_reported(vm, sshd, tmp_path):
    known_hosts = another_host_key(sshd, tmp_path)
    vm.answer("ssh-config", ssh_config(sshd.port, vm.key, sshd.user, known_hosts=known_hosts))
    with pytest.raises(CouldNotCheck) as raised:
        open_vm(vm, good_cache(vm, sshd, known_hosts=str(known_hosts)))
    assert raised.value.one_line() == (f"the SSH host key of 127.0.0.1:{sshd.port} changed: if you rebuilt that "
                                       f"machine, remove its line with `ssh-keygen -R \"[127.0.0.1]:{sshd.port}\"`")
    assert vm.calls() == ["ssh-config", "port"]


@pytest.mark.server
def test_a_refused_web_port_is_looked_up_again_and_ssh_stays(vm, sshd):
    transport = open_vm(vm, good_cache(vm, sshd, http_port=free_port()))
    assert transport.http_base == f"http://127.0.0.1:{vm.web_port}"
    assert logs_in(transport)
    assert vm.calls() == ["ssh-config", "port"]


@pytest.mark.server
def test_a_cache_that_stays_wrong_is_reported_after_one_lookup(vm, sshd):
    gone = free_port()
    vm.answer("ssh-config", ssh_config(gone, vm.key, sshd.user))
    with pytest.raises(GuestUnreachable, match=f"the VM is running but does not answer over SSH at 127.0.0.1:{gone}"):
        open_vm(vm, good_cache(vm, sshd, port=gone))
    assert vm.calls() == ["ssh-config", "port", "status"]


@pytest.mark.server
def test_ports_vagrant_moved_are_used(vm, sshd):
    # auto_correct moved 2222/8500/8443 to 2200/8501/8444, as when another lab VM holds them.
    vm.answer("port", PORTS_MACHINE_READABLE)
    transport = open_vm(vm)
    assert (transport.http_base, transport.https_base) == ("http://127.0.0.1:8501", "https://127.0.0.1:8444")
    assert logs_in(transport)


@pytest.mark.server
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


@pytest.mark.server
def test_no_forwarded_web_port(vm, sshd):
    vm.answer("port", ports_answer(p22=2222))
    with pytest.raises(CouldNotCheck, match="Vagrant forwards no host port to the guest's port 80"):
        open_vm(vm)

