"""A real OpenSSH server (Debian's openssh-server) on 127.0.0.1, for tests and benchmarks.

It runs as a normal daemon with its own config, host key and pid file, and
lets the current user in with a freshly generated key.
"""

import getpass
import os
import signal
import subprocess
import time
from pathlib import Path

from .localservers import free_port, wait_for_port

SSHD = "/usr/sbin/sshd"


class Sshd:
    def __init__(self, workdir, port=None, user=None, extra_config="", netns=None, listen="127.0.0.1"):
        self.dir = Path(workdir)
        self.listen = listen  # the address it listens on: "::1" for IPv6
        # A network namespace to run in (the guest tier's): its own 127.0.0.1.
        self.netns = netns
        self.extra_config = extra_config  # more sshd_config lines, such as a ForceCommand
        self.port = port or free_port()
        self.user = user or getpass.getuser()
        self.key = self.dir / "client_key"
        self.pid_file = self.dir / "sshd.pid"
        self.config = self.dir / "sshd_config"

    def _keygen(self, path):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)

    def start(self):
        self.dir.mkdir(parents=True, exist_ok=True)
        self._keygen(self.dir / "host_key")
        self._keygen(self.key)
        (self.dir / "authorized_keys").write_text((self.dir / "client_key.pub").read_text())
        os.chmod(self.dir, 0o755)  # another login user must reach authorized_keys
        self.config.write_text(f"""
Port {self.port}
ListenAddress {self.listen}
HostKey {self.dir}/host_key
PidFile {self.pid_file}
AuthorizedKeysFile {self.dir}/authorized_keys
PermitRootLogin prohibit-password
AllowUsers {self.user}
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
# The test's temporary folder is not owned the way sshd insists on for ~/.ssh.
StrictModes no
UseDNS no
{self.extra_config}
""")
        # sshd needs its privilege separation folder, which systemd normally makes.
        if os.geteuid() == 0:
            os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
        inside = ["ip", "netns", "exec", self.netns] if self.netns else []
        subprocess.run([*inside, SSHD, "-f", str(self.config), "-E", str(self.dir / "sshd.log")], check=True)
        if self.netns:
            # Its 127.0.0.1 is the namespace's: ask from in there.
            probe = f"import socket; socket.create_connection(('127.0.0.1', {self.port}), timeout=1)"
            deadline = time.monotonic() + 20
            while subprocess.run([*inside, "python3", "-c", probe], capture_output=True).returncode:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"sshd did not listen on port {self.port} in {self.netns}")
                time.sleep(0.2)
        else:
            wait_for_port(self.port, host=self.listen)
        return self

    @property
    def pid(self):
        return int(self.pid_file.read_text())

    def stop(self):
        """Stop the daemon (sessions already open keep their own process)."""
        if not self.pid_file.exists():
            return
        try:
            os.kill(self.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + 10
        while self.pid_file.exists() and time.monotonic() < deadline:
            time.sleep(0.05)

    def url(self):
        host = f"[{self.listen}]" if ":" in self.listen else self.listen
        return f"ssh://{self.user}@{host}:{self.port}?key={self.key}"

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
