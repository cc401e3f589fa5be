"""Facts about the guest, read through a transport: services, files, packages,
sockets, users, processes, the firewall and nginx's configuration. Facts only
read and report; the checks decide what is right, and name what they look for
(the app's processes, its units) from the deployment's facts.

Every argument is shell-quoted here, so a check never builds a command string
from raw values.
"""

import re
from dataclasses import dataclass
from typing import NamedTuple

from lab.core import solved
from lab.core.outcomes import CouldNotCheck
from lab.core.ufw import parse_ufw_status
from lab.guest.nginx import parse_nginx
from lab.transports.base import quote_command

# What sudo prints when it will not run a command without a password, or is
# missing: the guest's setup stopped the probe, so nothing is known about the
# student's work. Ubuntu 26.04's sudo is sudo-rs, which words its refusals
# otherwise (src/common/error.rs): under -n, "interactive authentication is
# required" for a password, and "I'm sorry vagrant. I'm afraid I can't do that"
# when authentication failed (a user no rule lets in gets "Sorry, user ... may
# not run", which the GNU wording below matches too). Matched without regard to case: GNU's "a terminal
# is required" is sudo-rs's "A terminal is required to authenticate".
SUDO_REFUSALS = ("sudo: a password is required", "sudo: a terminal is required", "is not in the sudoers file",
                 "is not allowed to execute", "may not run sudo", "sudo: not found", "sudo: command not found",
                 "sudo: interactive authentication is required", "I'm afraid I can't do that")
SUDO_REMEDY = ("the checker needs sudo without a password in the guest: connect as a user that has it "
               "(vagrant does), or add one with `sudo visudo`")


def sudo_refused(result):
    """True when sudo itself refused (or is missing), rather than the command it ran failing."""
    stderr = result.stderr.lower()
    return not result.ok and any(refusal.lower() in stderr for refusal in SUDO_REFUSALS)


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
        """Run a command as root. `sudo -n` fails at once instead of asking for a password,
        and that refusal raises CouldNotCheck: it says nothing about the student's work."""
        inner = quote_command(command, *args)
        # Only -n, which sudo-rs (Ubuntu 26.04's sudo) has with the same meaning. Both
        # sudos reset the environment and find sh on secure_path, so a command sets
        # what it needs inside sh -c (LC_ALL=C ufw ...) and never passes it through sudo.
        result = self.run("sudo -n sh -c %s", inner, timeout=timeout)
        if sudo_refused(result):
            raise CouldNotCheck(f"sudo in the guest refused to run `{inner}` ({_first_line(result.stderr)})",
                                SUDO_REMEDY)
        return result

    def run_expect(self, expected, command, *args, timeout=30, sudo=False):
        """Run a command (as root with sudo=True) whose exit code must be one of expected.

        Facts use it as testinfra does: `stat` exits 1 for a missing file, which
        is an answer; any other code means the probe itself broke (a missing
        program, no systemd), so the check could not check rather than fail."""
        result = (self.sudo if sudo else self.run)(command, *args, timeout=timeout)
        if result.rc not in expected:
            raise unexpected_exit(result, ("sudo " if sudo else "") + quote_command(command, *args))
        return result

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
        result = self.run_expect((0, 1), "cat /etc/os-release")  # 1: no such file, so nothing is known
        for line in (result.stdout if result.ok else "").splitlines():
            key, sep, value = line.partition("=")
            if sep:
                info[key.strip()] = value.strip().strip('"')
        return info

    def listeners(self, kind=None, held_by=None):
        """Every listening socket, with the processes behind it, from `ss`:
        TCP and unix ones, or only those of `kind` ("tcp" or "unix"), or only
        those one of the processes `held_by` (pids or Process tuples) holds."""
        # Which ss flags list each kind, and the column of the local address:
        # tcp lines are "State Recv-Q Send-Q Local Peer Process", unix lines
        # start with a Netid column.
        wanted = [k for k in (("tcp", "-Hltnp", 3), ("unix", "-Hlxp", 4)) if kind in (None, k[0])]
        found = []
        for name, flags, column in wanted:
            # A failed ss (or sudo) must not read as "nothing is listening".
            for line in self.run_expect((0,), "ss %s", flags, sudo=True).stdout.splitlines():
                fields = line.split()
                if len(fields) > column:
                    pids = frozenset(int(p) for p in re.findall(r"pid=(\d+)", line))
                    found.append(Listener(name, fields[column], pids))
        if held_by is not None:
            holders = {getattr(p, "pid", p) for p in held_by}
            found = [listener for listener in found if listener.pids & holders]
        return found

    def processes(self, matching=None):
        """The guest's processes, or those whose command line matches the regular
        expression `matching`, as Process tuples; the one reader of `ps`."""
        found = []
        for line in self.run_expect((0,), "ps -eo pid=,ppid=,user=,args=").stdout.splitlines():
            fields = line.split(None, 3)
            if len(fields) < 3 or not (fields[0].isdigit() and fields[1].isdigit()):
                continue
            process = Process(int(fields[0]), int(fields[1]), fields[2], fields[3] if len(fields) > 3 else "")
            if process.args.startswith("ps -eo "):
                continue  # the probe itself
            if matching is None or re.search(matching, process.args):
                found.append(process)
        return found

    def open_files(self, pids):
        """The files the processes hold open (what their /proc/PID/fd links point at), as a set of
        paths; sockets, pipes and the like are left out. A process that has gone holds nothing."""
        if not pids:
            return set()
        # As root: the app's processes run as another user. find exits 1 when a process went
        # between the listing and the reading; what the others hold is still the answer.
        folders = [f"/proc/{int(getattr(p, 'pid', p))}/fd" for p in pids]
        result = self.run_expect((0, 1), "find " + " ".join(["%s"] * len(folders)) + " -type l -printf '%%l\\n'",
                                 *folders, sudo=True)
        return {line for line in result.stdout.splitlines() if line.startswith("/")}

    def held_after_answering(self, processes, path="/likes"):
        """The files a server's processes hold open once one of them has answered a request for
        path, asked of it directly (its first listening socket): where an app that opens its
        database on its first request, and keeps it open, keeps its data."""
        for endpoint in self.listeners(held_by=processes)[:1]:
            self.http_get(endpoint, path)
        return self.open_files(processes)

    def cwd_of(self, pid):
        """The folder a process runs in (its /proc/PID/cwd), or None once it has gone."""
        result = self.run_expect((0, 1), "readlink %s", f"/proc/{int(pid)}/cwd", sudo=True)
        return result.stdout.strip() if result.ok else None

    def unit_of(self, pid):
        """The systemd service a process belongs to, from its cgroup: "likes@2.service", or None."""
        cgroup = self.run("cat /proc/%s/cgroup", pid).stdout
        match = re.search(r"/([^/]+\.service)", cgroup)
        return match.group(1) if match else None

    def output_of(self, pid):
        """Where a process's standard output goes: ("file", path), ("journal", unit),
        ("terminal", tty) or ("other", what)."""
        target = self.sudo("readlink /proc/%s/fd/1", pid).stdout.strip()
        if target.startswith(("/dev/pts", "/dev/tty")):
            return "terminal", target
        if target.startswith("/") and not target.startswith("/dev/"):
            return "file", target
        unit = self.unit_of(pid)
        if target.startswith("socket:") and unit:
            return "journal", unit
        return "other", target or "nothing"

    def recent_output(self, pids, lines=3000):
        """The last lines the processes wrote: from the files they write to and the journals of their units."""
        texts = []
        for kind, where in dict.fromkeys(self.output_of(pid) for pid in pids):
            if kind == "file":
                texts.append(self.sudo("tail -n %s %s", lines, where).stdout)
            elif kind == "journal":
                texts.append(self.sudo("journalctl -q -o cat -n %s -u %s", lines, where).stdout)
        return "\n".join(texts)

    def units(self, *patterns):
        """The loaded systemd services whose names match the patterns ("likes.service",
        "likes@*.service"), whatever their state; the one reader of `systemctl list-units`."""
        out = self.run_expect((0,), "systemctl list-units --all --plain --no-legend --type=service"
                              + " %s" * len(patterns), *patterns).stdout
        # A unit systemd can't load is listed with a leading "●": the name is the first word after it.
        names = (line.replace("\u25cf", " ").split() for line in out.splitlines())
        return [words[0] for words in names if words and words[0].endswith(".service")]

    def firewall(self):
        """ufw's state and rules, from `ufw status verbose` (lab.core.ufw reads it)."""
        # ufw translates its output; the reader knows the English words.
        return parse_ufw_status(self.sudo("LC_ALL=C ufw status verbose").stdout)

    def nginx_config(self):
        """nginx's whole configuration as one tree (lab.guest.nginx), includes in place, from `nginx -T`."""
        return parse_nginx(self.sudo("nginx -T").stdout)

    def http_get(self, endpoint, path):
        """GET path from inside the guest at a Listener's address; returns (status, body), status 0 for no answer."""
        if endpoint.kind == "unix":
            # As root: a socket's folder is usually open to the app's group (and nginx's user) only.
            result = self.sudo("curl -s -m 5 -w '\\n%%{http_code}' --unix-socket %s %s", endpoint.address,
                               f"http://localhost{path}")
        else:
            result = self.run("curl -s -m 5 -w '\\n%%{http_code}' %s", f"http://{endpoint.reachable}{path}")
        body, _, status = result.stdout.rpartition("\n")
        return (int(status) if status.isdigit() else 0), body

    def sqlite(self, database, sql):
        """Run SQL on a SQLite database in the guest, as root; returns the result."""
        return self.sudo("sqlite3 %s %s", database, sql)

    def kit_solved(self):
        """{step id: when} of the steps the kit's reference solution applied (lab/core/solved.py)."""
        # cat exits 1 when there is no record: no step was solved by the kit.
        result = self.run_expect((0, 1), "cat %s", solved.SOLVED_FILE)
        return solved.parse(result.stdout) if result.ok else {}

    def listening(self):
        """Every listening TCP socket, as a set of (address, port)."""
        found = set()
        for listener in self.listeners("tcp"):
            address, _, port = listener.address.rpartition(":")
            if port.isdigit():
                found.add((address.strip("[]"), int(port)))
        return found


def _first_line(text):
    # GNU sudo warns "sudo: unable to resolve host NAME" ahead of the command's own
    # words where the guest's name is not in /etc/hosts (sudo-rs never looks it up).
    lines = [line for line in text.strip().splitlines() if not line.startswith("sudo: unable to resolve host")]
    return lines[0][:200] if lines else "no message"


def unexpected_exit(result, command):
    """The CouldNotCheck for a probe that failed for a reason other than the answer being "no"."""
    return CouldNotCheck(f"`{command}` failed in the guest with exit code {result.rc} "
                         f"({_first_line(result.stderr or result.stdout)})",
                         "run it in the guest to see what is wrong there, then run the checker again")


class Listener(NamedTuple):
    """A listening socket: kind "tcp" or "unix", its address as `ss` prints it
    ("127.0.0.1:8080", "[::]:80", "/run/likes/gunicorn.sock"), and the pids of
    the processes that hold it."""

    kind: str
    address: str
    pids: frozenset

    @property
    def on_loopback(self):
        """Whether only the guest itself can connect: a unix socket, or TCP on 127.x or ::1."""
        return self.kind == "unix" or self.address.startswith(("127.", "[::1]", "localhost:"))

    @property
    def reachable(self):
        """A TCP listener's address as a client inside the guest connects to it ("0.0.0.0:80" -> "127.0.0.1:80")."""
        host, _, port = self.address.rpartition(":")
        host = host.strip("[]")
        host = "127.0.0.1" if host in ("0.0.0.0", "*", "::") else host
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"  # an IPv6 address in brackets, as URLs want


class Process(NamedTuple):
    pid: int
    ppid: int
    user: str
    args: str


class Service:
    def __init__(self, guest, name):
        self.guest, self.name = guest, name

    @property
    def state(self):
        """systemctl is-active: active, inactive, failed, activating, ...

        It exits 3 for every state but active, unknown units included; any
        other code (1: no systemd, no bus) is a probe that could not answer."""
        return self.guest.run_expect((0, 3), "systemctl is-active %s", self.name).stdout.strip() or "unknown"

    @property
    def is_active(self):
        return self.state == "active"

    @property
    def is_enabled(self):
        # It exits 1 both for "no" (disabled, masked, an unknown unit) and when it
        # cannot ask systemd at all; only the first prints a state or names the unit file.
        result = self.guest.run_expect((0, 1), "systemctl is-enabled %s", self.name)
        state = result.stdout.strip()
        if result.rc and not state and not re.search(r"No such file|does not exist|not found", result.stderr):
            raise unexpected_exit(result, quote_command("systemctl is-enabled %s", self.name))
        return state in ("enabled", "enabled-runtime")

    # The Restart= values under which systemd starts a unit again after it crashes or is
    # killed by SIGKILL (systemd.service(5)'s table): on-failure and on-abnormal do, always too.
    RESTARTS_AFTER_A_CRASH = ("on-failure", "always", "on-abnormal")

    @property
    def restart_policy(self):
        """(its Restart= value, whether systemd starts it again after a crash)."""
        policy = self.show("Restart")
        return policy, policy in self.RESTARTS_AFTER_A_CRASH

    def show(self, prop):
        """One unit property from `systemctl show`, e.g. show("Restart") -> "on-failure"."""
        # show answers with rc 0 even for an unknown unit (with default values).
        return self.guest.run_expect((0,), "systemctl show --value -p %s %s", prop, self.name).stdout.strip()

    @property
    def main_pid(self):
        value = self.show("MainPID")
        return int(value) if value.isdigit() else 0

    @property
    def pids(self):
        """Every process of the unit, its main process and all it started (gunicorn's workers),
        from the unit's control group; [] when it runs none."""
        group = self.show("ControlGroup")
        if not group:
            return []
        # cgroup v2, as on every Ubuntu since 21.10 and Debian since 11; cat exits 1 where
        # the group has just gone (the unit stopped between the two commands) or under v1.
        result = self.guest.run_expect((0, 1), "cat %s", f"/sys/fs/cgroup{group}/cgroup.procs")
        if result.ok:
            return [int(pid) for pid in result.stdout.split() if pid.isdigit()]
        # Elsewhere: the main process and everything below it (a wrapper shell's python).
        main = self.main_pid
        if not main:
            return []
        family, table = [main], self.guest.processes()
        for pid in family:
            family += [p.pid for p in table if p.ppid == pid and p.pid not in family]
        return family

    @property
    def is_serving(self):
        """Active, and one of its processes holds a listening socket: a server that was just
        (re)started counts only once it has bound its port or socket and can answer."""
        pids = self.pids
        return bool(pids) and self.is_active and bool(self.guest.listeners(held_by=pids))


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
        # stat exits 1 when the file is missing; anything else is a broken probe.
        result = self.guest.run_expect((0, 1), "stat -L -c '%%F|%%a|%%U|%%G|%%s' %s", self.path, sudo=True)
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
        result = self.guest.run_expect((0, 1), "cat %s", self.path, sudo=True)  # 1: missing, or a folder
        return result.stdout if result.ok else None

    def contains(self, text):
        content = self.content
        return content is not None and text in content

    def readable_by(self, user):
        """Whether user, with every group it is in, can open the file for reading (a folder: list it),
        through the folders above it; False when it is missing.

        The probe really opens it as that user. `test -r` can't be trusted:
        Ubuntu 26.04's test (uutils) compares the mode bits with the uid and
        the primary group only, so www-data in the group vagrant "can't" read
        a 0660 file it reads (uutils/coreutils#9147). runuser, not a second
        sudo, changes user: root needs no sudoers rule for it, and it sets the
        user's groups from /etc/group as a restarted nginx gets them."""
        # The redirection is sh's own open(2), no coreutils program. Failing,
        # it exits 3, so runuser's own failure (exit 1: no such user) is a probe
        # that could not answer, not a "no".
        return self.guest.run_expect((0, 3), "runuser -u %s -- sh -c %s sh %s", user, 'true < "$1" || exit 3',
                                     self.path, sudo=True).ok


class Package:
    def __init__(self, guest, name):
        self.guest, self.name = guest, name

    @property
    def is_installed(self):
        # dpkg-query exits 1 for a package it has never heard of, 2 when it cannot read its database.
        status = self.guest.run_expect((0, 1), "dpkg-query -W -f='${Status}' %s", self.name).stdout
        return status.strip().endswith("install ok installed")

    @property
    def version(self):
        result = self.guest.run_expect((0, 1), "dpkg-query -W -f='${Version}' %s", self.name)
        return (result.stdout.strip() if result.ok else "") or None


class User:
    def __init__(self, guest, name):
        self.guest, self.name = guest, name

    @property
    def exists(self):
        return self.guest.run_expect((0, 2), "getent passwd %s", self.name).ok  # getent exits 2 for "not found"

    @property
    def groups(self):
        result = self.guest.run_expect((0, 1), "id -nG %s", self.name)  # id exits 1 for no such user
        return set(result.stdout.split()) if result.ok else set()

    @property
    def uid(self):
        result = self.guest.run_expect((0, 1), "id -u %s", self.name)
        value = result.stdout.strip() if result.ok else ""
        return int(value) if value.isdigit() else None


class Group:
    def __init__(self, guest, name):
        self.guest, self.name = guest, name

    @property
    def exists(self):
        return self.guest.run_expect((0, 2), "getent group %s", self.name).ok

    @property
    def members(self):
        result = self.guest.run_expect((0, 2), "getent group %s", self.name)
        line = result.stdout.strip() if result.ok else ""
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

    # Connects to a unix socket and says how it went: 0 connected, 3 refused for want of
    # permission (on the socket or a folder above it). Python, because no shell connects to a
    # unix socket, and curl's one exit code (7) does not tell a refusal from a socket nobody holds.
    CONNECT = ("import socket, sys\n"
               "s = socket.socket(socket.AF_UNIX)\n"
               "try:\n"
               "    s.connect(sys.argv[1])\n"
               "except PermissionError:\n"
               "    sys.exit(3)\n")

    def accepts(self, user):
        """Whether a process of user (with every group it is in) may connect to this unix socket."""
        scheme, _, path = self.address.partition("://")
        assert scheme == "unix", self.address
        # runuser as in File.readable_by: the user's groups as a restarted service gets them.
        return self.guest.run_expect((0, 3), "runuser -u %s -- python3 -c %s %s", user, self.CONNECT, path,
                                     sudo=True).ok
