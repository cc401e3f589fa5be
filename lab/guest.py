"""Facts about the guest, read through a transport: services, files, packages,
sockets, users. Helpers only read and report; the checks decide what is right.

Every argument is shell-quoted here, so a check never builds a command string
from raw values.
"""

import re
from dataclasses import dataclass
from typing import NamedTuple

from .transports.base import quote_command


class Guest:
    def __init__(self, transport, log=None):
        self.transport = transport
        self._log = log if log is not None else []

    def run(self, command, *args, timeout=30):
        """Run a command (with %s placeholders for quoted args); returns rc, stdout and stderr."""
        result = self.transport.run_command(quote_command(command, *args), timeout)
        self._log.append(result.summary())
        return result

    def sudo(self, command, *args, timeout=30):
        """Run a command as root. `sudo -n` fails at once instead of asking for a password."""
        return self.run("sudo -n sh -c %s", quote_command(command, *args), timeout=timeout)

    def output(self, command, *args, timeout=30):
        """A command's stdout, stripped; empty when it failed."""
        result = self.run(command, *args, timeout=timeout)
        return result.stdout.strip() if result.ok else ""

    def service(self, name):
        return Service(self, name)

    def file(self, path):
        return File(self, path)

    def package(self, name):
        return Package(self, name)

    def user(self, name):
        return User(self, name)

    def group(self, name):
        return Group(self, name)

    def socket(self, address):
        return Socket(self, address)

    def os_release(self):
        """/etc/os-release as a dict: ID, VERSION_ID, PRETTY_NAME, ..."""
        info = {}
        for line in self.output("cat /etc/os-release").splitlines():
            key, sep, value = line.partition("=")
            if sep:
                info[key.strip()] = value.strip().strip('"')
        return info

    def listeners(self, kind=None):
        """Every listening socket, with the processes behind it, from `ss`:
        TCP and unix ones, or only those of `kind` ("tcp" or "unix")."""
        # Which ss flags list each kind, and the column of the local address:
        # tcp lines are "State Recv-Q Send-Q Local Peer Process", unix lines
        # start with a Netid column.
        wanted = [k for k in (("tcp", "-Hltnp", 3), ("unix", "-Hlxp", 4)) if kind in (None, k[0])]
        found = []
        for name, flags, column in wanted:
            for line in self.sudo("ss %s", flags).stdout.splitlines():
                fields = line.split()
                if len(fields) > column:
                    pids = frozenset(int(p) for p in re.findall(r"pid=(\d+)", line))
                    found.append(Listener(name, fields[column], pids))
        return found

    def listening(self):
        """Every listening TCP socket, as a set of (address, port)."""
        found = set()
        for listener in self.listeners("tcp"):
            address, _, port = listener.address.rpartition(":")
            if port.isdigit():
                found.add((address.strip("[]"), int(port)))
        return found


class Listener(NamedTuple):
    """A listening socket: kind "tcp" or "unix", its address as `ss` prints it
    ("127.0.0.1:8080", "[::]:80", "/run/likes/gunicorn.sock"), and the pids of
    the processes that hold it."""

    kind: str
    address: str
    pids: frozenset


class Service:
    def __init__(self, guest, name):
        self.guest, self.name = guest, name

    @property
    def state(self):
        """systemctl is-active: active, inactive, failed, activating, ..."""
        return self.guest.run("systemctl is-active %s", self.name).stdout.strip() or "unknown"

    @property
    def is_active(self):
        return self.state == "active"

    @property
    def is_enabled(self):
        return self.guest.run("systemctl is-enabled %s", self.name).stdout.strip() in ("enabled", "enabled-runtime")

    def show(self, prop):
        """One unit property from `systemctl show`, e.g. show("Restart") -> "on-failure"."""
        return self.guest.output("systemctl show --value -p %s %s", prop, self.name)

    @property
    def main_pid(self):
        value = self.show("MainPID")
        return int(value) if value.isdigit() else 0


@dataclass
class _Stat:
    kind: str
    mode: int
    owner: str
    group: str
    size: int


class File:
    def __init__(self, guest, path):
        self.guest, self.path = guest, path

    def stat(self):
        """kind, mode, owner, group and size in one probe; None if the file is missing.

        Each property below probes again, so a check that needs several of
        them reads this once instead."""
        result = self.guest.sudo("stat -L -c '%%F|%%a|%%U|%%G|%%s' %s", self.path)
        fields = result.stdout.strip().split("|")
        if not result.ok or len(fields) != 5:
            return None
        kind, mode, owner, group, size = fields
        return _Stat(kind, int(mode, 8), owner, group, int(size))

    @property
    def exists(self):
        return self.stat() is not None

    @property
    def is_file(self):
        st = self.stat()
        return st is not None and st.kind.startswith("regular")

    @property
    def is_directory(self):
        st = self.stat()
        return st is not None and st.kind == "directory"

    @property
    def mode(self):
        """Permission bits as a number, e.g. 0o644; None if missing."""
        st = self.stat()
        return st.mode if st else None

    @property
    def owner(self):
        st = self.stat()
        return st.owner if st else None

    @property
    def group(self):
        st = self.stat()
        return st.group if st else None

    @property
    def content(self):
        """The file's text (read as root), or None when it can't be read."""
        result = self.guest.sudo("cat %s", self.path)
        return result.stdout if result.ok else None

    def contains(self, text):
        content = self.content
        return content is not None and text in content

    def readable_by(self, user):
        return self.guest.sudo("sudo -n -u %s test -r %s", user, self.path).ok


class Package:
    def __init__(self, guest, name):
        self.guest, self.name = guest, name

    @property
    def is_installed(self):
        status = self.guest.run("dpkg-query -W -f='${Status}' %s", self.name).stdout
        return status.strip().endswith("install ok installed")

    @property
    def version(self):
        return self.guest.output("dpkg-query -W -f='${Version}' %s", self.name) or None


class User:
    def __init__(self, guest, name):
        self.guest, self.name = guest, name

    @property
    def exists(self):
        return self.guest.run("getent passwd %s", self.name).ok

    @property
    def groups(self):
        return set(self.guest.output("id -nG %s", self.name).split())

    @property
    def uid(self):
        value = self.guest.output("id -u %s", self.name)
        return int(value) if value.isdigit() else None


class Group:
    def __init__(self, guest, name):
        self.guest, self.name = guest, name

    @property
    def exists(self):
        return self.guest.run("getent group %s", self.name).ok

    @property
    def members(self):
        line = self.guest.output("getent group %s", self.name)
        members = line.split(":")[-1] if line else ""
        return {m for m in members.split(",") if m}


class Socket:
    """A listening socket: "tcp://127.0.0.1:8080", "tcp://8080" (any address) or "unix:///run/x.sock"."""

    def __init__(self, guest, address):
        self.guest, self.address = guest, address

    @property
    def is_listening(self):
        scheme, _, rest = self.address.partition("://")
        if scheme == "unix":
            return any(listener.address == rest for listener in self.guest.listeners("unix"))
        host, _, port = rest.rpartition(":")
        listening = self.guest.listening()
        if not host:
            return any(p == int(port) for _, p in listening)
        return (host.strip("[]"), int(port)) in listening
