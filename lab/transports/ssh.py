"""One persistent SSH connection (paramiko) that serves every probe of a run.

Starting `ssh` or `vagrant ssh -c` for each probe costs a handshake, or
seconds of Vagrant start-up, every time; one connection costs it once. On
that connection one long-lived `sh` runs every command: a new SSH session per
command would make the guest start a session process and a login shell each
time, which costs more than most probes (about 90 ms on an emulated guest).
"""

import os
import random
import re
import secrets
import shlex
import socket
import time
from urllib.parse import unquote

from lab.core.outcomes import CouldNotCheck, GuestUnreachable, printable
from lab.transports import address
from lab.transports.base import MAX_OUTPUT, CommandResult, Transport

CONNECT_TIMEOUT = 10
# Retrying a login the server dropped before its greeting: the first pause, the
# longest, and how long to keep trying (see connect).
RETRY_FIRST_PAUSE = 0.1
RETRY_MAX_PAUSE = 2
RETRY_FOR = 8


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
        self.http_base = http_base or f"http://{address.url_host(host)}"
        self.https_base = https_base or f"https://{address.url_host(host)}"
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
        example = "ssh://user@host:22?key=PATH"
        parts = address.split(url, example)
        if not parts.hostname:
            if parts.netloc.rpartition("@")[2].count(":") > 1:
                raise address.bad(url, "an IPv6 host must be in brackets", "write it as ssh://user@[::1]:22")
            raise CouldNotCheck(f"the guest address {address.shown(url)!r} names no host", f"write it as {example}")
        port = address.port_of(url, parts.netloc, f"write it as {example}")
        if parts.path not in ("", "/"):
            raise address.bad(url, f"the path {parts.path!r} means nothing to SSH",
                              f"leave it out; write it as {example}")
        query = address.query(url, ("key", "http", "https"), example)
        http, https = (address.web_base(url, name, query[name]) if name in query else None
                       for name in ("http", "https"))
        # A shell expands ~ before `ssh -i` sees it; nothing does in a URL, so do it here.
        key = os.path.expanduser(query["key"]) if "key" in query else None
        return cls(parts.hostname, port or 22, unquote(parts.username) if parts.username else None,
                   key, http, https)

    def describe(self):
        return f"{self.user}@{self.where()}" if self.user else self.where()

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
        """Log in, and start the shell that runs every command; raises CouldNotCheck saying why not."""
        _quiet_paramiko()
        if self.key is not None:
            self._check_key_file()
        # A server may drop a connection before its greeting for a moment: one still
        # booting, or sshd's MaxStartups turning away logins beyond the first few
        # (10 by default) while many are made at once, as `lab.grade --jobs 16` does
        # to a class that shares one server. Try again, backing off, before giving up.
        started, tries, pause = time.monotonic(), 1, RETRY_FIRST_PAUSE
        while True:
            try:
                client = self._login()
                break
            except _DroppedBeforeGreeting:
                waited = time.monotonic() - started
                if waited + pause > RETRY_FOR:
                    raise GuestUnreachable(
                        f"SSH at {self.where()} closed the connection before its greeting, {tries} times in "
                        f"{waited:.0f} s", "is the machine still starting up? wait a minute and try again; a server "
                                           "that turns away logins when many come at once (sshd's MaxStartups) does "
                                           "this too: make fewer at once (lab.grade --jobs)") from None
                # Jitter: logins turned away together must not all come back together.
                time.sleep(pause * random.uniform(0.5, 1.5))
                tries, pause = tries + 1, min(pause * 2, RETRY_MAX_PAUSE)
        # Keepalives notice a guest that went away instead of hanging forever.
        client.get_transport().set_keepalive(5)
        self.client = client
        import paramiko

        try:
            # The shell starts now, so that a login that can run no command is one fault, said once.
            deadline = time.monotonic() + self.connect_timeout
            self._read_start(self._current_shell(deadline), deadline)
        except TimeoutError:
            self.close()
            raise GuestUnreachable(f"the shell of {self.describe()} did not start within {self.connect_timeout} s",
                                   "does something in the login (~/.bashrc, ~/.profile) wait for input? "
                                   "`ssh` in and see what it prints") from None
        except (paramiko.SSHException, OSError, EOFError) as exc:
            self.close()
            raise GuestUnreachable(f"the SSH server at {self.where()} let {self.user or 'us'} in, then started no "
                                   f"shell ({printable(str(exc)) or type(exc).__name__})",
                                   "is the machine still running? check, then run the checker again") from None
        except BaseException:
            self.close()
            raise

    def where(self):
        return f"{address.url_host(self.host)}:{self.port}"

    def _login(self):
        """One TCP connection and SSH login: the connected SSHClient."""
        import paramiko

        client = paramiko.SSHClient()
        self._load_host_keys(client)
        # Lab guests are created and destroyed all the time, each with a new
        # host key; like Vagrant itself, accept the key a new guest presents.
        client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
        where = self.where()
        try:
            sock = socket.create_connection((self.host, self.port), timeout=self.connect_timeout)
            # Probes are many small request/answer exchanges: without NODELAY,
            # Nagle's algorithm and delayed ACKs add ~40 ms to each one.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            # timeout bounds the whole handshake: longer than banner_timeout, so that a server
            # that never greets is told as that, not as a handshake cut short.
            client.connect(self.host, port=self.port, username=self.user, key_filename=self.key, sock=sock,
                           timeout=2 * self.connect_timeout, banner_timeout=self.connect_timeout,
                           auth_timeout=self.connect_timeout, allow_agent=self.key is None,
                           look_for_keys=self.key is None)
        except paramiko.PasswordRequiredException:
            client.close()
            which = f"the key file {self.key}" if self.key else "your key in ~/.ssh"
            raise CouldNotCheck(f"{which} is protected by a passphrase, which the checker cannot ask for",
                                "add it to ssh-agent with `ssh-add" + (f" {self.key}`" if self.key else "`")
                                + " and leave key= out of the address, so that the agent logs in") from None
        except paramiko.AuthenticationException:
            client.close()
            raise CouldNotCheck(f"the SSH server at {where} refused the login as {self.user}",
                                "check the user name and the key file") from None
        except paramiko.BadHostKeyException:
            client.close()
            # known_hosts names a server on another port than 22 as [host]:port. Double
            # quotes keep the brackets literal in bash, zsh, PowerShell and cmd alike.
            known_as = self.host if self.port == 22 else f'"[{self.host}]:{self.port}"'
            raise CouldNotCheck(f"the SSH host key of {where} changed",
                                f"if you rebuilt that machine, remove its line with `ssh-keygen -R {known_as}`") \
                from None
        except TimeoutError:
            client.close()
            raise GuestUnreachable(f"connecting to SSH at {where} timed out after {self.connect_timeout} s",
                                   "is the machine running?") from None
        except ConnectionRefusedError:
            client.close()
            raise GuestUnreachable(f"SSH at {where} refused the connection", "is the machine running?") from None
        except (paramiko.SSHException, OSError, EOFError) as exc:
            client.close()
            # paramiko says "Error reading SSH protocol banner" both when the server hung up
            # and when it never spoke; what it was reading when that happened tells them apart.
            cause = exc.__context__ if isinstance(exc, paramiko.SSHException) and "banner" in str(exc) else exc
            if isinstance(cause, (EOFError, ConnectionResetError, ConnectionAbortedError)):
                raise _DroppedBeforeGreeting() from None
            if isinstance(cause, (socket.timeout, TimeoutError)):
                raise GuestUnreachable(f"SSH at {where} accepted the connection but sent no SSH greeting within "
                                       f"{self.connect_timeout} s", f"is the machine still starting up? wait a "
                                                                    f"minute and try again; is {where} its SSH "
                                                                    f"port?") from None
            why = printable(str(exc)) or type(exc).__name__
            raise GuestUnreachable(f"cannot open an SSH session to {where} ({why})",
                                   "is the machine running?") from None
        return client

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

    def _read_start(self, shell, deadline):
        """Read up to the shell's start marker, once, dropping what the login printed before it;
        a shell that ended before it is told as why."""
        if shell.start_marker is None:
            return
        data = shell.pending
        while True:
            found = data.find(shell.start_marker)
            if found >= 0 and data.find(b"\n", found) >= 0:
                break
            try:
                data = data[-65536:] + self._recv(shell, deadline)  # a chatty login: only its end is kept
            except EOFError:
                transport = self.client.get_transport() if self.client is not None else None
                if transport is None or not transport.is_active():
                    raise  # the whole connection went: lost, not refused
                raise self._shell_ended(shell, data) from None
        shell.pending = data[data.index(b"\n", found) + 1:]
        shell.start_marker = None

    def _shell_ended(self, shell, printed):
        """Why the login's shell ended before it ran a command, printed being all it wrote: a login
        shell that is no shell (/bin/false, nologin), or no mktemp on the PATH of a non-interactive login."""
        chan = shell.chan
        # The exit status comes after the shell's last words on stderr, and may follow the end of its stdout.
        rc = chan.exit_status if chan.status_event.wait(2) else None
        errors = b""
        while chan.recv_stderr_ready() and len(errors) < 65536:
            errors += chan.recv_stderr(65536)
        # Its last words, on stderr or else stdout (nologin's); sshd's own complaint about a missing home is not.
        lines = [line.strip() for text in (printed, errors) for line in text.decode("utf-8", "replace").splitlines()
                 if line.strip() and not line.startswith("Could not chdir to home directory")]
        last = printable(lines[-1][:200]) if lines else ""
        who = self.user or "that user"
        if "mktemp" in last:
            if "not found" in last or "No such file" in last:
                return CouldNotCheck(f"the guest's shell for {who} has no mktemp on its PATH ({last})",
                                     "the checker's commands need the usual programs (mktemp, cat, wc) on the PATH "
                                     "of a non-interactive login: look for what sets PATH in ~/.bashrc, "
                                     "/etc/environment or sshd_config (SetEnv, ForceCommand) in the guest")
            return CouldNotCheck(f"the guest's shell for {who} could not make a temporary file ({last})",
                                 "the checker needs a writable /tmp (or $TMPDIR) in the guest: `df -h /tmp` there "
                                 "shows whether it is full")
        how = f"exit code {rc}" if rc is not None and rc >= 0 else "no exit code"
        return CouldNotCheck(f"the SSH server at {self.where()} let {who} in, but the login ran no shell: it ended at "
                             f"once ({how}{': ' + last if last else ''})",
                             f"{who}'s login shell may be /bin/false or nologin (`getent passwd {who}` in the guest "
                             f"shows it): connect as a user whose shell is /bin/sh or /bin/bash")

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
            self._read_start(shell, deadline)
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


class _DroppedBeforeGreeting(Exception):
    """The server closed the connection before it said a word of SSH."""


def _quiet_paramiko():
    """Keep paramiko's log off stderr, for every entry point that connects.

    paramiko logs the errors of its own threads, such as a banner that never came
    from a hung server or a VM still booting, with their tracebacks; with no handler
    of its own, Python prints them on stderr under the one line that already says
    what went wrong (the CouldNotCheck raised here)."""
    import logging

    logger = logging.getLogger("paramiko")
    if not any(isinstance(handler, logging.NullHandler) for handler in logger.handlers):
        logger.addHandler(logging.NullHandler())


def _left(deadline):
    """Seconds left until deadline; a timeout once there are none."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("timed out")
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
