"""The lab's own Vagrant machine, reached over one SSH connection.

`vagrant ssh-config` and `vagrant port` take seconds each, so their answers
are cached in .lab/vagrant.json, keyed by the machine's id in .vagrant/: a new
`vagrant up` or `vagrant destroy` makes a new id and a fresh lookup. When the
cached answers stop working (a refused login, a changed host key, an SSH or
web port that no longer answers), they are looked up again once, so the
student never needs to know the cache exists.

Every `vagrant` command runs here, with a time limit: a VirtualBox that hangs
must cost the student a one-line explanation, not a silent wait.
"""

import json
import locale
import os
import re
import shutil
import signal
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

from lab.core import labyml, schema
from lab.core.files import write_atomically
from lab.core.labfolder import nearest_vagrantfile_folder
from lab.core.outcomes import CouldNotCheck, GuestUnreachable
from lab.core.schema import Field
from lab.core.statefile import parse_json
from lab.transports import address
from lab.transports.ssh import SshTransport

# The guest's ports that Vagrant forwards, and the lab setting naming each one's host port.
GUEST_PORTS = {"http_port": 80, "https_port": 443}
# A TCP port number, as .lab/settings.json and .lab/vagrant.json hold one.
PORT = Field((int,), allowed=range(1, 65536))
# .lab/vagrant.json as _discover writes it (its "id" must also be the machine's). A cache from an
# older checker may lack a port, and one edited by hand may hold anything: then it is not used.
CACHE_FIELDS = {
    "host": Field((str,), allowed=bool), "user": Field((str,), allowed=bool),  # bool: not empty
    "key": Field((str, type(None)), required=False), "known_hosts": Field((str, type(None)), required=False),
    "port": PORT, "http_port": PORT,
    "https_port": Field((int, type(None)), allowed=lambda port: port is None or schema.fits(port, PORT)),
}
INSTALL_HINT = "install Vagrant (https://developer.hashicorp.com/vagrant/install), then run `vagrant up`"

# Seconds a `vagrant` command may take. Vagrant starts in a few seconds, more on a
# busy laptop; a minute means it is stuck (often on a hung VirtualBox). Tests lower them.
VAGRANT_TIMEOUT = 60
RSYNC_TIMEOUT = 300  # a first copy of the lab folder into the guest can take minutes
# `vagrant provision` of one step's solution, or a `vagrant reload` (the selftest's):
# apt installs nginx and ufw, a reboot waits for SSH; under software emulation
# (the kit's own guest tier) the slowest has taken about 5 minutes.
PROVISION_TIMEOUT = 1800
# Seconds to wait for the forwarded web port on this machine: it is a local listener.
WEB_PORT_PROBE_TIMEOUT = 2

# What `vagrant status` reports, per provider, and what the student should do.
STATE_REMEDIES = {
    "not_created": ("no VM has been created yet", "run `vagrant up`"),
    "poweroff": ("the VM is halted", "run `vagrant up`"),
    "shutoff": ("the VM is halted", "run `vagrant up`"),
    "aborted": ("the VM stopped unexpectedly", "run `vagrant up`"),
    "saved": ("the VM is suspended", "run `vagrant resume`"),
    "paused": ("the VM is paused", "run `vagrant resume`"),
}


def find_vagrant_root(start):
    """The folder holding the Vagrantfile: $VAGRANT_CWD, else start or one of its parents."""
    if os.environ.get("VAGRANT_CWD"):
        return Path(os.environ["VAGRANT_CWD"]).resolve()
    folder = nearest_vagrantfile_folder(start)
    if folder is None:
        raise CouldNotCheck(f"there is no Vagrantfile in {Path(start).resolve()} or above it",
                            "run the checker from the lab's folder")
    return folder


# Providers whose port forwarding ignores host_ip and listens on every interface of the
# host: their forward_ports drivers pass no address (vagrant-parallels
# lib/vagrant-parallels/driver/base.rb, `prlsrvctl net set --nat-tcp-add name,port,uuid,port`;
# vagrant-vmware-desktop lib/vagrant-vmware-desktop/action/forward_ports.rb), vagrant-parallels
# issue #398. VirtualBox and vagrant-libvirt bind to the host_ip given.
PROVIDERS_IGNORING_HOST_IP = {
    "parallels": "Parallels Desktop",
    "vmware_desktop": "VMware",
    "vmware_fusion": "VMware Fusion",
    "vmware_workstation": "VMware Workstation",
}


def created_machine(root, machine):
    """(provider, id) of the machine Vagrant created, or (None, None) when none was.

    Vagrant keeps the id in .vagrant/machines/MACHINE/PROVIDER/id: the folder's
    name is the provider, so no `vagrant status` is needed to learn it.
    """
    folder = root / ".vagrant" / "machines" / machine
    for id_file in sorted(folder.glob("*/id")):
        value = id_file.read_text(encoding="utf-8", errors="replace").strip()
        if value:
            return id_file.parent.name, value
    return None, None


def machine_id(root, machine):
    """The id Vagrant gave the machine, or None when none was created."""
    return created_machine(root, machine)[1]


def configured_port(root, setting):
    """The lab's http_port or https_port setting: as the Vagrantfile last resolved it
    (.lab/settings.json), else found as the Vagrantfile finds it: $LAB_HTTP_PORT,
    lab.yml, lab.default.yml."""
    try:
        resolved = parse_json((root / ".lab" / "settings.json").read_bytes())
    except (OSError, ValueError):
        resolved = None
    # Written by the Vagrantfile, but a file can be damaged or edited: use only a sound value.
    if isinstance(resolved, dict) and schema.fits(resolved.get(setting), PORT):
        return resolved[setting]
    variable = os.environ.get(f"LAB_{setting.upper()}", "").strip()
    if variable.isdigit():
        return int(variable)
    # Last, the kit's own lab.default.yml, for a lab folder without one: the defaults are written once.
    found = labyml.values(root, setting) + labyml.values(labyml.KIT, setting)
    written = next((value for value in found if value.isdigit()), None)
    if written is None:
        raise CouldNotCheck(f"neither lab.yml nor lab.default.yml gives {setting} a port number",
                            f"give `{setting}:` a free port from 1024 to 65535 in lab.yml, then run `vagrant reload`")
    return int(written)


# --- what `vagrant ssh-config` and `vagrant port` print -------------------------------------

@dataclass
class SshConfig:
    """The parts of `vagrant ssh-config` that the checker uses."""
    host: str
    port: int
    user: str
    identity_files: list
    known_hosts: str = None  # the file of host keys to check against; None: no check, as Vagrant does

    def key(self):
        """The first IdentityFile that exists, else the first one (its error names it), else None."""
        paths = [os.path.expanduser(p) for p in self.identity_files]
        return next((p for p in paths if os.path.isfile(p)), paths[0] if paths else None)


def parse_ssh_config(text, machine="default"):
    """Read the Host block that `vagrant ssh-config` printed for machine, with paramiko's reader.

    As in OpenSSH, a keyword's first value wins, except IdentityFile, which may
    be given several times (Vagrant lists its insecure key after the machine's
    own when config.ssh.insert_key falls back to it).
    """
    import paramiko  # here, not above: `python -m lab.check --list` must not wait for it

    # Vagrant prints its alerts ("==> vagrant: ...") on the same stdout, before the block:
    # paramiko refuses any line that is not "Keyword value", so those are left out.
    lines = [line for line in text.splitlines() if paramiko.SSHConfig.SETTINGS_REGEX.match(line.strip())]
    try:
        config = paramiko.SSHConfig.from_text("\n".join(lines))
    except paramiko.SSHException as exc:  # ConfigParseError: a Host line shlex can't split
        raise ValueError(str(exc)) from None
    if machine not in config.get_hostnames():
        raise ValueError(f"it has no Host {machine} block")
    # Vagrant prints paths as they are: OpenSSH's ~ and %d tokens mean nothing in them, and
    # C:/Users/JANEDO~1, the short name Windows gives "Jane Doé", must not become a home folder.
    config.TOKENS_BY_CONFIG_KEY = {}
    values = config.lookup(machine)
    port = values.get("port", "22")
    if not port.isdigit() or not schema.fits(int(port), PORT):
        raise ValueError(f"Port {port!r} is not a port number")
    known = values.get("userknownhostsfile", "~/.ssh/known_hosts")
    checking = values.get("stricthostkeychecking", "ask").lower() != "no" and known not in ("/dev/null", "NUL")
    return SshConfig(values["hostname"], int(port), values.get("user", "vagrant"), values.get("identityfile", []),
                     os.path.expanduser(known) if checking else None)


def parse_forwarded_ports(text):
    """{guest port: host port} from `vagrant port` output, machine-readable or not."""
    ports = {}
    for line in text.splitlines():
        fields = line.strip().split(",")
        # --machine-readable: timestamp,machine,forwarded_port,GUEST,HOST
        if len(fields) == 5 and fields[2] == "forwarded_port" and fields[3].isdigit() and fields[4].isdigit():
            ports.setdefault(int(fields[3]), int(fields[4]))
            continue
        # The table: "    80 (guest) => 8500 (host)"
        match = re.search(r"(\d+) \(guest\) => (\d+) \(host\)", line)
        if match:
            ports.setdefault(int(match.group(1)), int(match.group(2)))
    return ports


def parse_status(text):
    """The machine's state from `vagrant status --machine-readable` (timestamp,machine,state,STATE)."""
    for line in text.splitlines():
        fields = line.strip().split(",")
        if len(fields) >= 4 and fields[2] == "state":
            return fields[3]
    return "unknown"


# --- running vagrant -------------------------------------------------------------------------

@dataclass
class VagrantOutput:
    rc: int
    stdout: str
    stderr: str


def _decode(data):
    # Vagrant (Ruby) writes UTF-8; an odd console setting on Windows may give the local code page.
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode(locale.getpreferredencoding(False), "replace")


def _kill(process):
    """End process and whatever it started (vagrant runs ruby, which runs VBoxManage...)."""
    try:
        if os.name == "posix":
            os.killpg(process.pid, signal.SIGKILL)
        else:
            process.kill()
    except OSError:  # gone already
        pass
    process.wait()
    for stream in (process.stdout, process.stderr):
        stream.close()


def run_vagrant(root, *args, timeout, env=None):
    """Run `vagrant ARGS` in root, with no input, within timeout seconds; env: variables to add."""
    command = "vagrant " + " ".join(args)
    executable = shutil.which("vagrant")
    if executable is None:
        raise CouldNotCheck("vagrant is not installed (no `vagrant` command on PATH)", INSTALL_HINT)
    try:
        # Its own process group, so that a timeout can end vagrant's children too.
        process = subprocess.Popen([executable, *args], cwd=root, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, start_new_session=os.name == "posix",
                                   env={**os.environ, **env} if env else None)
    except OSError as exc:
        raise CouldNotCheck(f"cannot run `{command}` ({exc.strerror or exc})", INSTALL_HINT) from None
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill(process)
        raise CouldNotCheck(f"`{command}` did not answer within {timeout:g} s",
                            f"run `{command}` yourself in {root} to see why; if it hangs there too, "
                            f"restart VirtualBox (or the provider you use) and try again") from None
    except BaseException:
        _kill(process)  # Ctrl-C: vagrant is in its own group, so the terminal's signal missed it
        raise
    return VagrantOutput(process.returncode, _decode(out), _decode(err))


class VagrantTransport(SshTransport):
    scheme = "vagrant"
    key_remedy = "Vagrant's key is the IdentityFile that `vagrant ssh-config` names; check that `vagrant ssh` gets in"

    def __init__(self, root, machine, cache_file):
        self.root = root
        self.machine = machine
        self.cache_file = cache_file
        self.id = None
        self.provider = None  # "virtualbox", "libvirt", "parallels", ... once open() found the machine
        self.known_hosts = None
        super().__init__("127.0.0.1")

    @classmethod
    def parse_url(cls, url):
        """The name of the machine url names (vagrant://default: "default"); raises CouldNotCheck
        saying what is wrong with url. Nothing else is known before Vagrant is asked."""
        example = "vagrant://default"
        parts = address.split(url, example)
        if parts.query or parts.fragment or "@" in parts.netloc or ":" in parts.netloc or parts.path.strip("/"):
            raise address.bad(url, "a Vagrant guest is named by its machine's name alone",
                              f"write {example}, or vagrant://NAME for a machine the Vagrantfile names NAME")
        machine = parts.netloc or "default"
        if not re.fullmatch(r"[\w.-]+", machine):
            raise address.bad(url, f"{machine!r} is not a machine name Vagrant gives", f"write {example}")
        return machine

    @classmethod
    def from_url(cls, url, settings):
        machine = cls.parse_url(url)
        if shutil.which("vagrant") is None:
            raise CouldNotCheck("vagrant is not installed (no `vagrant` command on PATH)", INSTALL_HINT)
        root = find_vagrant_root(settings.root)
        transport = cls(root, machine, settings.state_dir / "vagrant.json")
        transport.open()
        return transport

    def describe(self):
        return f"the Vagrant VM {self.machine!r}"

    def open(self):
        self.provider, self.id = created_machine(self.root, self.machine)
        if self.id is None:
            raise CouldNotCheck("no VM has been created yet", f"run `vagrant up` in {self.root}")
        cached = self._load_cache()
        if cached is not None and self._opens_with(cached):
            return
        try:
            # No cache, or a stale one (Vagrant moved a port, a new VM has a new key): look again, once.
            fresh = self._discover()
            ssh_unchanged = cached is not None and all(fresh.get(k) == cached.get(k) for k in self._SSH_FIELDS)
            if self.client is not None and ssh_unchanged:
                self._apply(fresh)  # only the web ports moved: the SSH connection stands
                return
            self.close()
            self._apply(fresh)
            try:
                self.connect()
            except GuestUnreachable:
                raise self._explain() from None
        except BaseException:
            self.close()  # the connection made with the cached answers, if any
            raise

    _SSH_FIELDS = ("host", "port", "user", "key", "known_hosts")

    def _opens_with(self, cached):
        """Whether the cached answers still work: SSH logs in and the web port is there.

        The web port is probed on 127.0.0.1, which costs a local TCP connect:
        a refusal there, with SSH working, means Vagrant forwards another port now.
        """
        self._apply(cached)
        try:
            self.connect()
        except CouldNotCheck:
            # Unreachable, a refused login, a changed host key, a key file gone with a moved lab folder:
            # whatever the cached answers can't do, fresh ones may.
            return False
        return self._web_port_answers(cached["http_port"])

    @staticmethod
    def _web_port_answers(port):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=WEB_PORT_PROBE_TIMEOUT).close()
        except OSError:
            return False
        return True

    def _load_host_keys(self, client):
        # Vagrant's own ssh-config says which host keys to check, normally none at all:
        # every `vagrant up` makes a new key on the same 127.0.0.1:2222.
        if self.known_hosts is not None and os.path.isfile(self.known_hosts):
            client.load_host_keys(self.known_hosts)

    def loopback_forwarding_refused(self):
        """Why this VM's forwarded ports can't be kept to 127.0.0.1, or None when they can.

        host_ip: "127.0.0.1" is the student's to write; a provider that ignores it
        is a fact of their computer, not a mistake.
        """
        name = PROVIDERS_IGNORING_HOST_IP.get(self.provider)
        if name is None:
            return None
        return (f"{name} (the {self.provider} provider) forwards ports on every network interface of your "
                f"computer and ignores host_ip, so no Vagrantfile can keep them to 127.0.0.1")

    def synced_by_rsync(self):
        """Whether /vagrant is a copy made by rsync (libvirt), not a live shared folder."""
        for path in (self.root / ".vagrant" / "machines" / self.machine).glob("*/synced_folders"):
            try:
                return "rsync" in parse_json(path.read_bytes())
            except (OSError, ValueError):
                return False
        return False

    def rsync(self):
        """Copy the lab folder into the guest again (`vagrant rsync`), as a student does after editing."""
        out = run_vagrant(self.root, "rsync", self.machine, timeout=RSYNC_TIMEOUT)
        if out.rc != 0:
            raise CouldNotCheck("`vagrant rsync` failed", f"run it yourself in {self.root} to see why")

    def _apply(self, info):
        self.host, self.port, self.user, self.key = info["host"], int(info["port"]), info["user"], info["key"]
        self.known_hosts = info.get("known_hosts")
        self.http_base = f"http://127.0.0.1:{info['http_port']}"
        self.https_base = f"https://127.0.0.1:{info['https_port']}" if info["https_port"] else None
        self.http_unreachable_remedy = (f"nothing accepts connections on 127.0.0.1:{info['http_port']}, the port "
                                        f"forwarded to the guest's port 80; run `vagrant reload` to restore it")

    def _vagrant(self, *args):
        return run_vagrant(self.root, *args, timeout=VAGRANT_TIMEOUT)

    def _discover(self):
        """Ask Vagrant for the SSH settings and the forwarded web ports, and cache them."""
        out = self._vagrant("ssh-config", self.machine)
        if out.rc != 0:
            raise self._explain()
        try:
            conf = parse_ssh_config(out.stdout, self.machine)
        except ValueError as exc:
            raise CouldNotCheck(f"cannot read what `vagrant ssh-config {self.machine}` printed: {exc}",
                                f"run it yourself in {self.root} to see why") from None
        info = {"id": self.id, "host": conf.host, "port": conf.port, "user": conf.user, "key": conf.key(),
                "known_hosts": conf.known_hosts, **self._forwarded_ports()}
        try:
            self.cache_file.parent.mkdir(parents=True, exist_ok=True)
            # ASCII JSON: a key under "C:/Users/Jane Doé" reads back the same whatever the locale.
            write_atomically(self.cache_file, json.dumps(info, indent=2, ensure_ascii=True))
        except OSError:
            pass  # only a cache: a folder we can't write to costs the next run a lookup, not its grade
        return info

    def _forwarded_ports(self):
        """The host ports forwarded to the guest's 80 and 443, from one `vagrant port`.

        Vagrant may have moved a host port that was taken (auto_correct), so ask
        it instead of assuming 8500.
        """
        out = self._vagrant("port", self.machine, "--machine-readable")
        if "does not support listing forwarded ports" in out.stdout + out.stderr:
            # vagrant-libvirt can't list them (and doesn't move them): use the setting the Vagrantfile used.
            return {setting: configured_port(self.root, setting) for setting in GUEST_PORTS}
        ports = parse_forwarded_ports(out.stdout)
        if GUEST_PORTS["http_port"] not in ports:
            raise CouldNotCheck(f"Vagrant forwards no host port to the guest's port {GUEST_PORTS['http_port']}",
                                "check the Vagrantfile's forwarded_port lines, then run `vagrant reload`")
        # Only the HTTPS step needs 443, and it says so when there is none (Http.https_url).
        return {setting: ports.get(guest_port) for setting, guest_port in GUEST_PORTS.items()}

    def _load_cache(self):
        try:
            info = parse_json(self.cache_file.read_bytes())
        except (OSError, ValueError):
            return None
        # Unless every value is what _discover writes, look everything up again.
        sound = isinstance(info, dict) and info.get("id") == self.id and not schema.problems(info, CACHE_FIELDS)
        return info if sound else None

    def _explain(self):
        """Why the VM can't be reached, from `vagrant status`."""
        out = self._vagrant("status", self.machine, "--machine-readable")
        if out.rc != 0:
            return CouldNotCheck("`vagrant status` failed", f"run `vagrant status` in {self.root} to see why")
        state = parse_status(out.stdout)
        if state in STATE_REMEDIES:
            reason, remedy = STATE_REMEDIES[state]
            return CouldNotCheck(reason, remedy)
        return GuestUnreachable(f"the VM is {state} but does not answer over SSH at {self.host}:{self.port}",
                                "wait a minute if it is still booting, else run `vagrant reload`")
