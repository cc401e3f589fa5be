"""The Vagrant transport in process: what `vagrant ssh-config`, `vagrant port` and
`vagrant status` print, the ports the Vagrantfile's settings give, and `vagrant`
commands that hang (a fake `vagrant`, tests/support/fake_vagrant.py)."""

import json
import time
from pathlib import Path

import pytest

import lab.transports.vagrant as vagrant_mod
from lab.check import main
from lab.core.outcomes import CouldNotCheck
from lab.engine.context import Settings
from lab.transports import open_transport
from lab.transports.vagrant import (
    SshConfig,
    VagrantTransport,
    configured_port,
    parse_forwarded_ports,
    parse_ssh_config,
    parse_status,
)
from tests.support.fake_vagrant import (  # noqa: F401 (fixtures)
    LIBVIRT_PORTS,
    PORTS_MACHINE_READABLE,
    fake_vagrant,
    lab_folder,
    ports_answer,
    ssh_config,
)
from tests.support.localservers import free_port
from tests.support.ssh_config import VIRTUALBOX_MACOS


def test_the_first_key_that_exists_is_used(tmp_path):
    second = tmp_path / "insecure_private_key"
    second.write_text("key")
    assert SshConfig("h", 22, "u", [str(tmp_path / "gone"), str(second)]).key() == str(second)
    assert SshConfig("h", 22, "u", ["/gone/a", "/gone/b"]).key() == "/gone/a"  # its error will name it
    assert SshConfig("h", 22, "u", []).key() is None


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


# --- what `vagrant port` and `vagrant status` print (the machine-readable forms are in
# tests/support/fake_vagrant.py) --------------------------------------------------

PORTS_TABLE = """The forwarded ports for the machine are listed below. Please note that
these values may differ from values configured in the Vagrantfile if the
provider supports automatic port collision detection and resolution.

    22 (guest) => 2222 (host)
    80 (guest) => 8500 (host)
"""


def test_forwarded_ports_as_vagrant_prints_them():
    assert parse_forwarded_ports(PORTS_MACHINE_READABLE) == {22: 2200, 80: 8501, 443: 8444}
    assert parse_forwarded_ports(PORTS_TABLE) == {22: 2222, 80: 8500}
    assert parse_forwarded_ports(LIBVIRT_PORTS) == {}


def test_status_as_vagrant_prints_it():
    text = ("1700000000,default,metadata,provider,virtualbox\n1700000000,default,provider-name,virtualbox\n"
            "1700000000,default,state,poweroff\n1700000000,default,state-human-short,poweroff\n")
    assert parse_status(text) == "poweroff"
    assert parse_status("nonsense") == "unknown"


# --- the ports the Vagrantfile resolved: .lab/settings.json ------------------------------------

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


def test_vagrant_transport_reads_the_ports_as_the_vagrantfile_does(tmp_path, monkeypatch):
    from lab.transports.vagrant import configured_port

    monkeypatch.delenv("LAB_HTTP_PORT", raising=False)
    monkeypatch.delenv("LAB_HTTPS_PORT", raising=False)
    assert (configured_port(tmp_path, "http_port"), configured_port(tmp_path, "https_port")) == (8500, 8443)
    (tmp_path / "lab.default.yml").write_text("http_port: 8500\nhttps_port: 8443\n")
    (tmp_path / "lab.yml").write_text("https_port: 9443  # mine\n")
    assert configured_port(tmp_path, "https_port") == 9443
    assert configured_port(tmp_path, "http_port") == 8500
    monkeypatch.setenv("LAB_HTTPS_PORT", "10443")
    assert configured_port(tmp_path, "https_port") == 10443


def test_a_folder_with_no_file_that_gives_a_port_falls_back_to_the_kits_defaults(tmp_path, monkeypatch):
    from lab.core import labyml

    monkeypatch.delenv("LAB_HTTP_PORT", raising=False)
    kit_default = labyml.read_value((labyml.KIT / labyml.DEFAULTS_FILE).read_text(encoding="utf-8"), "http_port")
    assert configured_port(tmp_path, "http_port") == int(kit_default)
    # Only an edited copy of the kit, whose lab.default.yml gives no port, leaves none: one line, no traceback.
    (tmp_path / "kit").mkdir()
    (tmp_path / "kit" / labyml.DEFAULTS_FILE).write_text("http_port: soon\n")
    monkeypatch.setattr(labyml, "KIT", tmp_path / "kit")
    with pytest.raises(CouldNotCheck, match=r"neither lab.yml nor lab.default.yml gives http_port a port number"):
        configured_port(tmp_path, "http_port")


# --- `vagrant` commands that hang ------------------------------------------------------------

@pytest.mark.parametrize("hangs, command", [
    ("ssh-config", "vagrant ssh-config default"),
    ("port", "vagrant port default --machine-readable"),
    ("status", "vagrant status default --machine-readable"),
])
def test_a_vagrant_that_does_not_answer_is_one_line(fake_vagrant, lab_folder, monkeypatch, capsys, hangs, command):
    # Long enough for the fake's other answers on a machine busy with a guest tier (each is a
    # new Python process); the hung one still ends the run well before its 30 s.
    monkeypatch.setattr(vagrant_mod, "VAGRANT_TIMEOUT", 3)
    if hangs == "status":  # reached when ssh-config fails, to say why
        fake_vagrant.answer("ssh-config", rc=1)
    else:
        fake_vagrant.answer("ssh-config", ssh_config(free_port(), "/k"))
    fake_vagrant.answer("port", ports_answer(p80=8500))
    fake_vagrant.answer(hangs, sleep=30)
    started = time.monotonic()
    assert main(["step1", "--root", str(lab_folder)]) == 2
    assert time.monotonic() - started < 20
    out = capsys.readouterr()
    assert f"could not check: `{command}` did not answer within 3 s: run `{command}` yourself in {lab_folder} " \
           f"to see why; if it hangs there too, restart VirtualBox (or the provider you use) and try again" \
           in out.out
    assert "Traceback" not in out.out + out.err and "internal error" not in out.out + out.err


def test_a_vagrant_rsync_that_does_not_answer(fake_vagrant, lab_folder, monkeypatch):
    monkeypatch.setattr(vagrant_mod, "RSYNC_TIMEOUT", 0.5)
    fake_vagrant.answer("rsync", sleep=30)
    transport = VagrantTransport(lab_folder, "default", lab_folder / ".lab" / "vagrant.json")
    with pytest.raises(CouldNotCheck, match=r"`vagrant rsync default` did not answer within 0.5 s"):
        transport.rsync()


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


def test_the_vm_state_explains_a_failed_lookup(fake_vagrant, lab_folder):
    fake_vagrant.answer("ssh-config", rc=1, stderr="The provider for this Vagrant-managed machine is reporting "
                                                   "that it is not yet ready for SSH.")
    fake_vagrant.answer("status", "1700000000,default,state,poweroff\n")
    with pytest.raises(CouldNotCheck, match="^the VM is halted$"):
        open_transport("vagrant://default", Settings(root=lab_folder))


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
