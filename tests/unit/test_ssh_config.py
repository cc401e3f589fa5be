"""What `vagrant ssh-config` prints, read with paramiko's ssh_config reader
(the transcripts are tests/support/ssh_config.py's)."""

import subprocess
import sys
from pathlib import Path

import pytest

from lab.transports.vagrant import parse_ssh_config
from tests.support.localservers import REPO
from tests.support.ssh_config import (
    INSECURE_KEY_FALLBACK,
    LIBVIRT,
    PARALLELS,
    VIRTUALBOX_MACOS,
    VIRTUALBOX_WINDOWS,
    WINDOWS_BACKSLASHES,
    WINDOWS_FORWARD_SLASHES,
)


@pytest.mark.parametrize("text, host, port, keys", [
    (VIRTUALBOX_WINDOWS, "127.0.0.1", 2222,
     ["C:/Users/Jane Doé/lab/.vagrant/machines/default/virtualbox/private_key",
      "C:/Users/Jane Doé/.vagrant.d/insecure_private_keys/vagrant.key.ed25519",
      "C:/Users/Jane Doé/.vagrant.d/insecure_private_keys/vagrant.key.rsa"]),
    (LIBVIRT, "192.168.121.45", 22, ["/home/jane/lab/.vagrant/machines/default/libvirt/private_key"]),
    (PARALLELS, "10.211.55.12", 22, ["/Users/jane/lab/.vagrant/machines/default/parallels/private_key"]),
    (VIRTUALBOX_MACOS, "127.0.0.1", 2222, ["/Users/Jane Doé/lab/.vagrant/machines/default/virtualbox/private_key"]),
    (WINDOWS_FORWARD_SLASHES, "127.0.0.1", 2200,
     ["C:/Users/Jane Doé/lab/.vagrant/machines/default/virtualbox/private_key"]),
    (WINDOWS_BACKSLASHES, "127.0.0.1", 2222,
     [r"C:\Users\Jane Doé\lab\.vagrant\machines\default\virtualbox\private_key",
      r"C:\Users\jane\.vagrant.d\insecure_private_key"]),
    (INSECURE_KEY_FALLBACK, "127.0.0.1", 2222,
     ["/home/jane/lab/.vagrant/machines/default/virtualbox/private_key", "/home/jane/.vagrant.d/insecure_private_key"]),
], ids=["virtualbox-windows", "libvirt", "parallels", "virtualbox-space", "windows", "windows-backslashes",
        "two-keys"])
def test_what_each_provider_prints(text, host, port, keys):
    conf = parse_ssh_config(text)
    assert (conf.host, conf.port, conf.user, conf.identity_files) == (host, port, "vagrant", keys)
    assert conf.known_hosts is None


def test_windows_line_endings_are_read():
    conf = parse_ssh_config(VIRTUALBOX_WINDOWS.replace("\n", "\r\n"))
    assert (conf.port, conf.identity_files[0]) == (2222, "C:/Users/Jane Doé/lab/.vagrant/machines/default/"
                                                         "virtualbox/private_key")


def test_a_path_is_kept_as_vagrant_prints_it():
    # A Windows short name (what Windows calls "Jane Doé" in 8.3 form) and a % are no ssh tokens here.
    text = ("Host default\n  HostName 127.0.0.1\n  Port 2222\n\n  IdentityFile C:/Users/JANEDO~1/lab/key\n\n"
            "  IdentityFile C:\\Users\\jane\\100%d\\key\n\n  IdentityFile \"C:\\Users\\Jane Doé\\key\"\n")
    assert parse_ssh_config(text).identity_files == [
        "C:/Users/JANEDO~1/lab/key", "C:\\Users\\jane\\100%d\\key", "C:\\Users\\Jane Doé\\key"]


def test_vagrants_alerts_before_the_block_are_passed_over():
    # Vagrant's checkpoint alerts go to the same stdout as the block, each line prefixed.
    alert = ("==> vagrant: [Tue Jan 14 10:00:00 2025]:\n==> vagrant:   Vagrant 2.4.2 has a known issue\n"
             "==> vagrant: \n==> vagrant:   - https://example.com/notice\n\n")
    assert parse_ssh_config(alert + LIBVIRT).host == "192.168.121.45"


def test_the_machine_named_is_read_among_several():
    text = LIBVIRT + "\n" + LIBVIRT.replace("Host default", "Host db").replace("192.168.121.45", "192.168.121.46")
    assert parse_ssh_config(text, "db").host == "192.168.121.46"
    assert parse_ssh_config(text, "default").host == "192.168.121.45"


@pytest.mark.parametrize("text", ["", "Host db\n  HostName 10.0.0.6\n", "HostName 10.0.0.6\n"],
                         ids=["nothing", "another-machine", "no-host-line"])
def test_an_answer_without_the_machines_block_is_refused(text):
    with pytest.raises(ValueError, match="it has no Host default block"):
        parse_ssh_config(text)


def test_lower_case_keywords_equals_signs_and_extra_lines():
    text = ('host default\n  hostname=127.0.0.1\n  port = 2200\n  user "student"\n  Include /custom/ssh/config\n'
            '  ProxyCommand ssh -W %h:%p jump\n  identityfile "/a b/key"\n')
    conf = parse_ssh_config(text)
    assert (conf.host, conf.port, conf.user, conf.identity_files) == ("127.0.0.1", 2200, "student", ["/a b/key"])


@pytest.mark.parametrize("lines, known_hosts", [
    ("", str(Path.home() / ".ssh" / "known_hosts")),  # config.ssh.verify_host_key: Vagrant prints neither line
    ("  UserKnownHostsFile /dev/null\n", None),
    ("  UserKnownHostsFile NUL\n", None),  # Windows' /dev/null
    ("  StrictHostKeyChecking no\n", None),
    ("  StrictHostKeyChecking yes\n  UserKnownHostsFile \"~/my hosts\"\n", str(Path.home() / "my hosts")),
])
def test_the_host_keys_checked_are_the_ones_vagrant_names(lines, known_hosts):
    assert parse_ssh_config(f"Host default\n  HostName 127.0.0.1\n{lines}").known_hosts == known_hosts


def test_a_port_out_of_range_is_refused():
    with pytest.raises(ValueError, match="'70000' is not a port number"):
        parse_ssh_config("Host default\n  Port 70000\n")


def test_paramiko_is_imported_only_when_an_answer_is_read():
    # `python -m lab.check --list` imports the transports; it must not wait for paramiko.
    code = "import sys, lab.transports.vagrant; print('paramiko' in sys.modules)"
    run = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "False"
