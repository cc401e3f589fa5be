"""A firewall the tests may change: Debian's ufw, run for real in a private
network namespace with private copies of its settings.

ufw sets up iptables in the namespace only, and writes its rules and its
ENABLED=yes to copies of /etc/ufw and /etc/default/ufw bind-mounted over the
real ones in a private mount namespace. The machine's own firewall and ufw
settings never change. Needs root (for unshare and iptables) and ufw.
"""

import shutil
import subprocess
import tempfile
from pathlib import Path

from lab.transports.base import quote_command
from lab.transports.local import LocalTransport


def can_run():
    """Why a private firewall can't run here, or "" when it can."""
    if shutil.which("ufw") is None:
        return "needs Debian's ufw: `apt-get install ufw`"
    probe = subprocess.run(["unshare", "--net", "--mount", "iptables", "-L", "-n"], capture_output=True, text=True)
    if probe.returncode != 0:
        return f"needs root for a private network namespace with iptables ({probe.stderr.strip()})"
    return ""


class PrivateFirewall:
    """A namespace holding one ufw firewall, kept open by a sleeping process that commands join."""

    def __enter__(self):
        self.folder = Path(tempfile.mkdtemp(prefix="lab-ufw-"))
        shutil.copytree("/etc/ufw", self.folder / "ufw", symlinks=True)
        shutil.copy2("/etc/default/ufw", self.folder / "default-ufw")
        script = quote_command("mount --bind %s /etc/ufw && mount --bind %s /etc/default/ufw && echo ready "
                               "&& exec sleep 600", self.folder / "ufw", self.folder / "default-ufw")
        # unshare runs sh itself in the new namespaces (no fork), so its pid is the namespaces' holder.
        self.holder = subprocess.Popen(["unshare", "--net", "--mount", "--propagation", "private", "sh", "-c", script],
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if self.holder.stdout.readline().strip() != "ready":
            self.__exit__()
            raise RuntimeError(f"could not make a private namespace for ufw: {self.holder.stderr.read()}")
        return self

    def __exit__(self, *exc):
        if self.holder.poll() is None:
            self.holder.kill()
        self.holder.wait()
        shutil.rmtree(self.folder, ignore_errors=True)

    def inside(self, command):
        """A shell command line that runs command inside the namespaces."""
        return quote_command("nsenter -t %s --net --mount /bin/sh -c %s", self.holder.pid, command)

    def run(self, command, *args, **kwargs):
        """Run a command (with %s for quoted args) inside; returns the CompletedProcess."""
        return subprocess.run(["/bin/sh", "-c", self.inside(quote_command(command, *args))], capture_output=True,
                              text=True, timeout=60, **kwargs)

    def ufw(self, *args):
        result = self.run("ufw " + " ".join(["%s"] * len(args)), *args)
        if result.returncode != 0:
            raise RuntimeError(f"ufw {' '.join(args)} failed: {result.stdout}{result.stderr}")
        return result.stdout

    def transport(self):
        """The checker's local transport, with every command run inside."""
        firewall = self

        class Inside(LocalTransport):
            def run_command(self, command, timeout):
                return super().run_command(firewall.inside(command), timeout)

        return Inside()
