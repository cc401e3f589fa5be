"""One persistent SSH connection (paramiko) that serves every probe of a run.

Starting `ssh` or `vagrant ssh -c` for each probe costs a handshake, or
seconds of Vagrant start-up, every time; one connection costs it once. On
that connection one long-lived `sh` runs every command: a new SSH session per
command would make the guest start a session process and a login shell each
time, which costs more than most probes (about 90 ms on an emulated guest).
"""

import os
import re
import secrets
import shlex
import socket
import time
from urllib.parse import parse_qs, unquote, urlsplit

from ..outcomes import CouldNotCheck, GuestUnreachable
from .base import MAX_OUTPUT, CommandResult, Transport

CONNECT_TIMEOUT = 10


class SshTransport(Transport):
    scheme = "ssh"
    key_remedy = "give the path of your private key, e.g. key=~/.ssh/id_ed25519"

    def __init__(self, host, port=22, user=None, key=None, http_base=None, https_base=None,
                 connect_timeout=CONNECT_TIMEOUT):
        self.host = host
        self.port = int(port)
        self.user = user
        self.key = key
        self.connect_timeout = connect_timeout
        self.http_base = http_base or f"http://{host}"
        self.https_base = https_base or f"https://{host}"
        self.http_unreachable_remedy = (f"is the web server on {host} running, and does its firewall "
                                        f"allow port 80?")
        self.client = None
        self._shell = None  # the _Shell that runs every command
        self._busy = None  # the _Shell of the command in flight, for interrupt()

    @classmethod
    def from_url(cls, url, settings):
        """ssh://user@host:port?key=PATH&http=http://host:8080&https=https://host:8443"""
        transport = cls.parse_url(url)
        transport.connect()
        return transport

    @classmethod
    def parse_url(cls, url):
        """The transport url names, not connected yet; raises CouldNotCheck saying what is wrong with url.

        lab.grade checks a whole roster's addresses this way before it connects to any."""
        example = "write it as ssh://user@host:22?key=PATH"
        parts = urlsplit(url)
        if not parts.hostname:
            raise CouldNotCheck(f"the guest address {url!r} names no host", example)
        # The port as written (urlsplit's .port raises a bare ValueError), after any [IPv6] host.
        port = parts.netloc.rpartition("@")[2].rpartition("]")[2].partition(":")[2]
        if port and not (port.isascii() and port.isdigit() and 0 < int(port) < 65536):
            raise CouldNotCheck(f"the guest address {url!r}: the port {port!r} is not a number from 1 to 65535",
                                example)
        query = parse_qs(parts.query)
        key, http, https = ((query.get(k) or [None])[0] for k in ("key", "http", "https"))
        for name, base in (("http", http), ("https", https)):
            if base is not None and (urlsplit(base).scheme != name or not urlsplit(base).hostname):
                fix = f"{name}={name}://{base}" if "://" not in base else f"{name}={name}://host:port"
                raise CouldNotCheck(f"the guest address {url!r}: {name}={base} is not an {name}:// address",
                                    f"write {fix}")
        # A shell expands ~ before `ssh -i` sees it; nothing does in a URL, so do it here.
        key = os.path.expanduser(key) if key else None
        return cls(parts.hostname, int(port or 22), unquote(parts.username) if parts.username else None,
                   key, http, https)

    def describe(self):
        return f"{self.user}@{self.host}:{self.port}" if self.user else f"{self.host}:{self.port}"

    def _check_key_file(self):
        """Say plainly when the key file can't be used: paramiko's errors about it read like a network fault."""
        path, remedy = os.fspath(self.key), self.key_remedy
        if os.path.isdir(path):
            why = "it is a folder"
        else:
            try:
                with open(path, "rb") as f:
                    head = f.read(65536)
            except FileNotFoundError:
                why = "there is no such file"
            except PermissionError:
                why, remedy = "permission denied", "run the checker as the key's owner, or give a copy of the key " \
                                                   "that is yours"
            except OSError as exc:
                why = exc.strerror or str(exc)
            else:
                if b"PRIVATE KEY-----" in head:  # OpenSSH, PEM and PKCS#8 private keys alike
                    return
                why = "it holds no private key"
                if re.match(rb"\s*(ssh|ecdsa|sk)-\S+ ", head):
                    why = "it is a public key"
                    if path.endswith(".pub"):
                        remedy = f"give the private key beside it: key={path[:-4]}"
        raise CouldNotCheck(f"cannot read the key file {path}: {why}", remedy)

    def connect(self):
        import paramiko

        if self.key is not None:
            self._check_key_file()
        client = paramiko.SSHClient()
        self._load_host_keys(client)
        # Lab guests are created and destroyed all the time, each with a new
        # host key; like Vagrant itself, accept the key a new guest presents.
        client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
        where = f"{self.host}:{self.port}"
        try:
            sock = socket.create_connection((self.host, self.port), timeout=self.connect_timeout)
            # Probes are many small request/answer exchanges: without NODELAY,
            # Nagle's algorithm and delayed ACKs add ~40 ms to each one.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            client.connect(self.host, port=self.port, username=self.user, key_filename=self.key, sock=sock,
                           timeout=self.connect_timeout, banner_timeout=self.connect_timeout,
                           auth_timeout=self.connect_timeout, allow_agent=self.key is None,
                           look_for_keys=self.key is None)
        except paramiko.AuthenticationException:
            raise CouldNotCheck(f"the SSH server at {where} refused the login as {self.user}",
                                "check the user name and the key file") from None
        except paramiko.BadHostKeyException:
            # known_hosts names a server on another port than 22 as [host]:port. Double
            # quotes keep the brackets literal in bash, zsh, PowerShell and cmd alike.
            known_as = self.host if self.port == 22 else f'"[{self.host}]:{self.port}"'
            raise CouldNotCheck(f"the SSH host key of {where} changed",
                                f"if you rebuilt that machine, remove its line with `ssh-keygen -R {known_as}`") \
                from None
        except (socket.timeout, TimeoutError):
            raise GuestUnreachable(f"connecting to SSH at {where} timed out after {self.connect_timeout} s",
                                   "is the machine running?") from None
        except ConnectionRefusedError:
            raise GuestUnreachable(f"SSH at {where} refused the connection", "is the machine running?") from None
        except (paramiko.SSHException, OSError, EOFError) as exc:
            raise GuestUnreachable(f"cannot open an SSH session to {where} ({exc or type(exc).__name__})",
                                   "is the machine running?") from None
        # Keepalives notice a guest that went away instead of hanging forever.
        client.get_transport().set_keepalive(5)
        self.client = client

    def _load_host_keys(self, client):
        """The host keys to check the server's against: the user's known_hosts, as ssh does."""
        client.load_system_host_keys()

    def close(self):
        self._discard_shell()
        if self.client is not None:
            self.client.close()
            self.client = None

    def interrupt(self):
        # Closing the channel wakes the thread reading it; that shell is never used again.
        shell = self._busy
        if shell is not None:
            shell.interrupted = True
            shell.close()

    def _discard_shell(self):
        if self._shell is not None:
            self._shell.close()
        self._shell = None

    def _current_shell(self, deadline):
        """The session's shell, opened anew if there is none."""
        if self._shell is None or self._shell.chan.closed:
            chan = self.client.get_transport().open_session(timeout=min(self.connect_timeout, _left(deadline)))
            chan.exec_command("exec /bin/sh")
            # Each command's stderr goes to this file, then follows its stdout (see run_command).
            # Whatever the login prints first (a .bashrc echo, a banner) comes before the start
            # marker and is dropped; printf builds the marker, so these input bytes never hold it.
            start = secrets.token_hex(8)
            chan.settimeout(_left(deadline))
            chan.sendall(f'lab_err=$(mktemp) || exit 1; trap \'rm -f "$lab_err"\' EXIT; '
                         f"printf 'lab-start-%s\\n' {start}\n".encode())
            self._shell = _Shell(chan, f"lab-start-{start}".encode())
        return self._shell

    def run_command(self, command, timeout):
        """Run command in the session's shell; returns rc, stdout and stderr.

        The command runs in a subshell (so `cd` or `export` can't leak into the
        next one), with no stdin. Then the shell prints a line with a random
        marker, the exit code and the size of stderr, followed by stderr itself:
        everything arrives on one stream, framed without ambiguity. The whole
        exchange ends within timeout seconds.
        """
        import paramiko

        if self.client is None:
            raise GuestUnreachable("the SSH connection to the guest is closed", "run the checker again")
        deadline = time.monotonic() + timeout
        marker = f"lab-{secrets.token_hex(8)}".encode()
        script = (f'( eval {shlex.quote(command)} ) </dev/null 2>"$lab_err"; lab_rc=$?; lab_n=0; '
                  f'[ -s "$lab_err" ] && lab_n=$(wc -c <"$lab_err"); '
                  f"printf '%s %s %s\\n' {marker.decode()} \"$lab_rc\" $lab_n; "
                  f'[ "$lab_n" = 0 ] || cat "$lab_err"\n')
        shell = None
        try:
            shell = self._busy = self._current_shell(deadline)
            if shell.start_marker is not None:
                self._read_until(shell, shell.start_marker, deadline)
                shell.start_marker = None
            shell.chan.settimeout(_left(deadline))
            shell.chan.sendall(script.encode())
            stdout, line = self._read_until(shell, marker, deadline)
            _, rc, err_size = line.split()
            while len(shell.pending) < int(err_size):
                shell.pending += self._recv(shell, deadline)
            stderr, shell.pending = shell.pending[:int(err_size)], shell.pending[int(err_size):]
        except BaseException as exc:
            # An exchange cut short leaves the shell in the middle of an answer, or still
            # busy with the command: it is never used again, and the next command starts afresh.
            self._discard_shell()
            if shell is not None and shell.interrupted:
                raise CouldNotCheck(f"`{command}` was stopped: its check was abandoned",
                                    "run the check again") from None
            if isinstance(exc, (socket.timeout, TimeoutError)):
                raise CouldNotCheck(f"`{command}` did not finish within {timeout:g} s",
                                    "something in the guest is stuck; run the check again") from None
            if isinstance(exc, (paramiko.SSHException, OSError, EOFError, AttributeError)):
                # AttributeError: paramiko's transport is None once the link dropped.
                self.close()
                raise GuestUnreachable(f"lost the SSH connection to {self.describe()} "
                                       f"({exc or type(exc).__name__})",
                                       "is the machine still running? check, then run the checker again") from None
            raise
        finally:
            self._busy = None
        return CommandResult(command, int(rc), stdout.decode("utf-8", "replace"),
                             stderr[:MAX_OUTPUT].decode("utf-8", "replace"))

    @staticmethod
    def _recv(shell, deadline):
        shell.chan.settimeout(_left(deadline))
        data = shell.chan.recv(65536)
        if not data:
            raise EOFError("SSH session not active")
        return data

    def _read_until(self, shell, marker, deadline):
        """Read stdout up to the marker's line: (stdout kept up to MAX_OUTPUT, the marker's line)."""
        kept, data = b"", shell.pending
        while True:
            found = data.find(marker)
            if found >= 0 and data.find(b"\n", found) >= 0:
                break
            # Keep what can't hold the marker's start; a runaway command's output is cut at MAX_OUTPUT.
            safe = max(0, len(data) - len(marker))
            kept += data[:safe][:max(0, MAX_OUTPUT - len(kept))]
            data = data[safe:] + self._recv(shell, deadline)
        line_end = data.index(b"\n", found)
        kept += data[:found][:max(0, MAX_OUTPUT - len(kept))]
        shell.pending = data[line_end + 1:]
        return kept, data[found:line_end]


def _left(deadline):
    """Seconds left until deadline; a timeout once there are none."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise socket.timeout("timed out")
    return left


class _Shell:
    """One `sh` on the connection, and what it printed that no command has read yet."""

    def __init__(self, chan, start_marker):
        self.chan = chan
        self.pending = b""
        self.start_marker = start_marker  # not read yet: what the login printed comes before it
        self.interrupted = False

    def close(self):
        try:
            self.chan.close()
        except Exception:  # paramiko's, OSError or EOFError: the channel or the link is gone already
            pass
