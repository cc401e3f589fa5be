"""One persistent SSH connection (paramiko) that serves every probe of a run.

Starting `ssh` or `vagrant ssh -c` for each probe costs a handshake, or
seconds of Vagrant start-up, every time; one connection costs it once.
"""

import socket
from urllib.parse import parse_qs, unquote, urlsplit

from ..outcomes import CouldNotCheck, GuestUnreachable
from .base import MAX_OUTPUT, CommandResult, Transport

CONNECT_TIMEOUT = 10


class SshTransport(Transport):
    scheme = "ssh"

    def __init__(self, host, port=22, user=None, key=None, http_base=None, connect_timeout=CONNECT_TIMEOUT):
        self.host = host
        self.port = int(port)
        self.user = user
        self.key = key
        self.connect_timeout = connect_timeout
        self.http_base = http_base or f"http://{host}"
        self.http_unreachable_remedy = (f"is the web server on {host} running, and does its firewall "
                                        f"allow port 80?")
        self.client = None

    @classmethod
    def from_url(cls, url, settings):
        """ssh://user@host:port?key=PATH&http=http://host:8080"""
        parts = urlsplit(url)
        if not parts.hostname:
            raise CouldNotCheck(f"the guest address {url!r} names no host", "write it as ssh://user@host:22?key=PATH")
        query = parse_qs(parts.query)
        transport = cls(parts.hostname, parts.port or 22, unquote(parts.username) if parts.username else None,
                        (query.get("key") or [None])[0], (query.get("http") or [None])[0])
        transport.connect()
        return transport

    def describe(self):
        return f"{self.user}@{self.host}:{self.port}" if self.user else f"{self.host}:{self.port}"

    def connect(self):
        import paramiko

        client = paramiko.SSHClient()
        client.load_system_host_keys()
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
            raise CouldNotCheck(f"the SSH host key of {where} changed",
                                f"if you rebuilt that machine, remove its line with `ssh-keygen -R {self.host}`") \
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

    def close(self):
        if self.client is not None:
            self.client.close()
            self.client = None

    def run_command(self, command, timeout):
        import paramiko

        if self.client is None:
            raise GuestUnreachable("the SSH connection to the guest is closed", "run the checker again")
        try:
            chan = self.client.get_transport().open_session(timeout=self.connect_timeout)
            chan.settimeout(timeout)
            chan.exec_command(command)
            stdout = _read_all(chan.recv)
            stderr = _read_all(chan.recv_stderr)
            rc = chan.recv_exit_status()
            chan.close()
            if rc == -1 and not self.client.get_transport().is_active():
                # The channel closed without an exit status because the link itself went away.
                raise EOFError("SSH session not active")
        except (socket.timeout, TimeoutError):
            raise CouldNotCheck(f"`{command}` did not finish within {timeout:g} s",
                                "something in the guest is stuck; run the check again") from None
        except (paramiko.SSHException, OSError, EOFError, AttributeError) as exc:
            # AttributeError: paramiko's transport is None once the link dropped.
            self.close()
            raise GuestUnreachable(f"lost the SSH connection to {self.describe()} ({exc or type(exc).__name__})",
                                   "is the machine still running? check, then run the checker again") from None
        return CommandResult(command, rc, stdout.decode("utf-8", "replace"), stderr.decode("utf-8", "replace"))


def _read_all(recv):
    chunks, size = [], 0
    while True:
        data = recv(65536)
        if not data:
            return b"".join(chunks)
        if size < MAX_OUTPUT:
            chunks.append(data[:MAX_OUTPUT - size])
            size += len(data)
