"""A stand-in `vagrant` for the Vagrant transport's tests of every tier: a Python script
first on PATH that prints the answers a test sets and logs every call, and what real
Vagrants print to `vagrant ssh-config` and `vagrant port`."""

import json
import sys

import pytest

# --- what `vagrant port` prints ----------------------------------------------------------------

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


LIBVIRT_PORTS = ("1700000000,,ui,error,The libvirt provider does not support listing forwarded ports. This is"
                 "\\nmost likely a limitation of the provider and not a bug in Vagrant. If you\\nbelieve this is a "
                 "bug in Vagrant%!(VAGRANT_COMMA) please search existing issues before\\nopening a new one.\n")


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
