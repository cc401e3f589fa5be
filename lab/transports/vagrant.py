"""The lab's own Vagrant machine, reached over one SSH connection.

`vagrant ssh-config` and `vagrant port` take seconds each, so their answers
are cached in .lab/vagrant.json, keyed by the machine's id in .vagrant/: a new
`vagrant up` or `vagrant destroy` makes a new id and a fresh lookup. When the
cached address stops working, it is looked up again once.
"""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

from ..outcomes import CouldNotCheck, GuestUnreachable
from ..progress import write_atomically
from .ssh import SshTransport

# The guest's ports that Vagrant forwards, and the lab setting naming each one's host port.
GUEST_PORTS = {"http_port": 80, "https_port": 443}
DEFAULT_PORTS = {"http_port": 8500, "https_port": 8443}
INSTALL_HINT = "install Vagrant (https://developer.hashicorp.com/vagrant/install), then run `vagrant up`"

# What `vagrant status` reports, per provider, and what the student should do.
STATE_REMEDIES = {
    "not_created": ("no VM has been created yet", "run `vagrant up`"),
    "poweroff": ("the VM is halted", "run `vagrant up`"),
    "shutoff": ("the VM is halted", "run `vagrant up`"),
    "aborted": ("the VM stopped unexpectedly", "run `vagrant up`"),
    "saved": ("the VM is suspended", "run `vagrant resume`"),
    "paused": ("the VM is paused", "run `vagrant resume`"),
}


def nearest_vagrantfile_folder(start):
    """start or the nearest folder above it that holds a Vagrantfile, or None."""
    here = Path(start).resolve()
    return next((folder for folder in [here, *here.parents] if (folder / "Vagrantfile").is_file()), None)


def find_vagrant_root(start):
    """The folder holding the Vagrantfile: $VAGRANT_CWD, else start or one of its parents."""
    if os.environ.get("VAGRANT_CWD"):
        return Path(os.environ["VAGRANT_CWD"]).resolve()
    folder = nearest_vagrantfile_folder(start)
    if folder is None:
        raise CouldNotCheck(f"there is no Vagrantfile in {Path(start).resolve()} or above it",
                            "run the checker from the lab's folder")
    return folder


def machine_id(root, machine):
    """The id Vagrant gave the machine, or None when none was created."""
    folder = root / ".vagrant" / "machines" / machine
    for id_file in sorted(folder.glob("*/id")):
        value = id_file.read_text().strip()
        if value:
            return value
    return None


def configured_port(root, setting):
    """The lab's http_port or https_port setting, found as the Vagrantfile finds
    it: $LAB_HTTP_PORT, lab.yml, lab.default.yml."""
    variable = os.environ.get(f"LAB_{setting.upper()}", "").strip()
    if variable.isdigit():
        return int(variable)
    for name in ("lab.yml", "lab.default.yml"):
        try:
            text = (root / name).read_text()
        except OSError:
            continue
        match = re.search(rf"^{setting}:\s*(\d+)\s*(#.*)?$", text, re.M)
        if match:
            return int(match.group(1))
    return DEFAULT_PORTS[setting]


def _is_port(value):
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 65536


class VagrantTransport(SshTransport):
    scheme = "vagrant"
    key_remedy = "Vagrant's key is the IdentityFile that `vagrant ssh-config` names; check that `vagrant ssh` gets in"

    def __init__(self, root, machine, cache_file):
        self.root = root
        self.machine = machine
        self.cache_file = cache_file
        self.id = None
        super().__init__("127.0.0.1")

    @classmethod
    def from_url(cls, url, settings):
        machine = url.split("://", 1)[1].strip("/") or "default"
        if shutil.which("vagrant") is None:
            raise CouldNotCheck("vagrant is not installed (no `vagrant` command on PATH)", INSTALL_HINT)
        root = find_vagrant_root(settings.root)
        transport = cls(root, machine, settings.state_dir / "vagrant.json")
        transport.open()
        return transport

    def describe(self):
        return f"the Vagrant VM {self.machine!r}"

    def open(self):
        self.id = machine_id(self.root, self.machine)
        if self.id is None:
            raise CouldNotCheck("no VM has been created yet", f"run `vagrant up` in {self.root}")
        cached = self._load_cache()
        self._apply(cached or self._discover())
        try:
            self.connect()
        except GuestUnreachable:
            if cached is None:
                raise self._explain() from None
            # The cached address may be stale (a port Vagrant moved): look again once.
            self._apply(self._discover())
            try:
                self.connect()
            except GuestUnreachable:
                raise self._explain() from None

    def synced_by_rsync(self):
        """Whether /vagrant is a copy made by rsync (libvirt), not a live shared folder."""
        for path in (self.root / ".vagrant" / "machines" / self.machine).glob("*/synced_folders"):
            try:
                return "rsync" in json.loads(path.read_text())
            except (OSError, ValueError):
                return False
        return False

    def rsync(self):
        """Copy the lab folder into the guest again (`vagrant rsync`), as a student does after editing."""
        out = subprocess.run(["vagrant", "rsync", self.machine], cwd=self.root, capture_output=True, text=True,
                             timeout=300)
        if out.returncode != 0:
            raise CouldNotCheck("`vagrant rsync` failed", f"run it yourself in {self.root} to see why")

    def _apply(self, info):
        self.host, self.port, self.user, self.key = info["host"], int(info["port"]), info["user"], info["key"]
        self.http_base = f"http://127.0.0.1:{info['http_port']}"
        self.https_base = f"https://127.0.0.1:{info['https_port']}" if info["https_port"] else None
        self.http_unreachable_remedy = (f"nothing accepts connections on 127.0.0.1:{info['http_port']}, the port "
                                        f"forwarded to the guest's port 80; run `vagrant reload` to restore it")

    def _vagrant(self):
        import vagrant  # python-vagrant; imported here because it is slow and warns when vagrant is missing

        return vagrant.Vagrant(str(self.root), quiet_stdout=True, quiet_stderr=True)

    def _discover(self):
        """Ask Vagrant for the SSH settings and the forwarded web ports, and cache them."""
        try:
            conf = self._vagrant().conf(vm_name=self.machine)
            ports = {setting: self._forwarded_port(setting) for setting in GUEST_PORTS}
        except subprocess.CalledProcessError:
            raise self._explain() from None
        keys = conf.get("IdentityFile", "").split()
        info = {"id": self.id, "host": conf["HostName"], "port": int(conf.get("Port", 22)),
                "user": conf.get("User", "vagrant"), "key": keys[0].strip('"') if keys else None, **ports}
        try:
            self.cache_file.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(self.cache_file, json.dumps(info, indent=2))
        except OSError:
            pass  # only a cache: a folder we can't write to costs the next run a lookup, not its grade
        return info

    def _forwarded_port(self, setting):
        # Vagrant may have moved the host port when it was taken (auto_correct),
        # so ask it instead of assuming 8500. python-vagrant has no call for this.
        guest_port = GUEST_PORTS[setting]
        out = subprocess.run(["vagrant", "port", self.machine, "--guest", str(guest_port)], cwd=self.root,
                             capture_output=True, text=True, timeout=120)
        if out.returncode == 0 and out.stdout.strip().isdigit():
            return int(out.stdout.strip())
        if "does not support listing forwarded ports" in out.stdout + out.stderr:
            # vagrant-libvirt can't list them (and doesn't move them): use the setting the Vagrantfile used.
            return configured_port(self.root, setting)
        if setting == "https_port":
            return None  # only the HTTPS step needs it, and it says so (Http.https_url)
        raise CouldNotCheck(f"Vagrant forwards no host port to the guest's port {guest_port}",
                            "check the Vagrantfile's forwarded_port lines, then run `vagrant reload`")

    def _load_cache(self):
        try:
            info = json.loads(self.cache_file.read_bytes())
        except (OSError, ValueError):
            return None
        # A cache from an older checker may lack a port, and one edited by hand may hold
        # anything: unless every value is what _discover writes, look everything up again.
        sound = (isinstance(info, dict) and info.get("id") == self.id and all(k in info for k in GUEST_PORTS)
                 and all(isinstance(info.get(k), str) and info[k] for k in ("host", "user"))
                 and (info.get("key") is None or isinstance(info["key"], str))
                 and _is_port(info.get("port")) and _is_port(info["http_port"])
                 and (info["https_port"] is None or _is_port(info["https_port"])))
        return info if sound else None

    def _explain(self):
        """Why the VM can't be reached, from `vagrant status`."""
        try:
            statuses = self._vagrant().status(vm_name=self.machine)
        except subprocess.CalledProcessError:
            return CouldNotCheck("`vagrant status` failed", f"run `vagrant status` in {self.root} to see why")
        state = statuses[0].state if statuses else "unknown"
        if state in STATE_REMEDIES:
            reason, remedy = STATE_REMEDIES[state]
            return CouldNotCheck(reason, remedy)
        return GuestUnreachable(f"the VM is {state} but does not answer over SSH at {self.host}:{self.port}",
                                "wait a minute if it is still booting, else run `vagrant reload`")
