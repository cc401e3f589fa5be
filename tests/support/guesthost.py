"""Run a real `vagrant up` here: libvirt daemons, Vagrant and the checker all
inside a network namespace this harness creates, with NAT to the outside so
that the guest reaches Debian's package mirror and nothing else from the host
sees its traffic.

Follows ../shared/GUEST-RECIPE.md: qemu in software (TCG) mode, Debian boxes
built locally with debootstrap, libvirtd started by hand (no systemd).
Everything set up here is undone by teardown(), in reverse order.
"""

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

from .localservers import REPO

NETNS = "labnet"
HOST_VETH, NS_VETH = "lab-h", "lab-n"
HOST_ADDR, NS_ADDR, SUBNET = "10.213.0.1", "10.213.0.2", "10.213.0.0/30"
RULE_COMMENT = "lab-netns"
# The releases the tier boots, first to last, and the name each box has in
# Vagrant. Their versions are of the generations of the Ubuntu releases
# students use: bookworm's nginx 1.22, Python 3.11 and systemd 252 sit
# between 22.04's and 24.04's; trixie's nginx 1.26, Python 3.13, systemd 257
# and ufw on nftables are close to 26.04's (which takes newer ones still).
RELEASES = {"bookworm": "lab-test-debian12", "trixie": "lab-test-debian13"}
FIRST_RELEASE, SECOND_RELEASE = RELEASES
BUILD_SCRIPT = REPO / "tests" / "guest" / "build-box.sh"
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "lab-kit"
# What a test copy of the lab leaves out: it must look like a fresh clone.
COPY_IGNORE = shutil.ignore_patterns(".git", ".venv", ".vagrant", ".lab", "lab.yml", "__pycache__",
                                     ".pytest_cache", "*.egg-info")


def _ends(text, size=3000):
    """The start and the end of a long output: Ruby puts the message first and a long backtrace after."""
    lines = [line for line in text.splitlines() if "Progress:" not in line]
    text = "\n".join(lines)
    return text if len(text) <= 2 * size else f"{text[:size]}\n[...]\n{text[-size:]}"


def sh(*command, check=True, **kwargs):
    return subprocess.run(command, check=check, text=True, **kwargs)


def box_path(release):
    """The cached box of a release, keyed by the build script's content: edit the script and it is rebuilt."""
    digest = hashlib.sha256(BUILD_SCRIPT.read_bytes()).hexdigest()[:16]
    return CACHE / f"{RELEASES[release]}-{digest}.box"


def ensure_box(release, log):
    box = box_path(release)
    if box.exists():
        log(f"box: cached {box}")
        return box
    for stale in CACHE.glob(f"{RELEASES[release]}-*.box"):
        stale.unlink()
    log(f"box: building {box} with debootstrap (a few minutes)")
    sh("bash", str(BUILD_SCRIPT), release, str(box))
    return box


class GuestHost:
    """The host side of the guest tier: namespace, NAT, libvirt, a Vagrant home and a lab folder."""

    def __init__(self, workdir, log=print):
        self.work = Path(workdir)
        self.log = log
        # As on a student's laptop (C:\Users\Jane Doé\..., /Users/Jane Doé/...):
        # a space and a non-ASCII letter in the lab folder's path, which holds
        # the key Vagrant inserts (insert_key stays at its default, true).
        self.lab = self.work / "Jane Doé" / "my lab"
        self.vagrant_home = self.work / "vagrant.d"
        self.pool = "labpool"
        self.pids = {name: self.work / f"{name}.pid" for name in ("virtlogd", "libvirtd")}
        self.undo = []  # teardown steps, run last first
        self.uplink = None
        # The release the next `vagrant up` creates; use_release() changes it.
        self.release = FIRST_RELEASE

    # -- helpers ---------------------------------------------------------

    def ns(self, *command, **kwargs):
        """Run a command inside the namespace."""
        return sh("ip", "netns", "exec", NETNS, *command, **kwargs)

    def env(self):
        return {
            **os.environ,
            "VAGRANT_HOME": str(self.vagrant_home),
            "VAGRANT_DEFAULT_PROVIDER": "libvirt",
            # Vagrant would otherwise phone home for versions and box updates.
            "VAGRANT_CHECKPOINT_DISABLE": "1",
            "VAGRANT_BOX_UPDATE_CHECK_DISABLE": "1",
            # The lab's own settings, chosen for this machine: the local box,
            # qemu in software mode, and what makes that fast enough.
            "LAB_BOX": RELEASES[self.release],
            "LAB_PROVIDER_DRIVER": "qemu",
            "LAB_GUEST_OS": "debian",
            "LAB_LIBVIRT_POOL": self.pool,
            "LAB_BOOT_TIMEOUT": "900",
        }

    def vagrant(self, *args, check=True, timeout=1800, env=None):
        """`vagrant ARGS` in the lab folder, inside the namespace; output captured and logged."""
        started = time.monotonic()
        result = subprocess.run(["ip", "netns", "exec", NETNS, "vagrant", *args], cwd=self.lab,
                                env={**self.env(), **(env or {})},
                                capture_output=True, text=True, timeout=timeout)
        self.log(f"vagrant {' '.join(args)}: rc={result.returncode} in {time.monotonic() - started:.0f}s")
        if check and result.returncode != 0:
            raise RuntimeError(f"vagrant {' '.join(args)} failed:\n{_ends(result.stdout)}\n{_ends(result.stderr)}")
        return result

    def in_namespace(self, command, **kwargs):
        """Run any host command (the checker, curl) inside the namespace, in the lab folder."""
        kwargs.setdefault("cwd", self.lab)
        kwargs.setdefault("env", self.env())
        return subprocess.run(["ip", "netns", "exec", NETNS, *command], capture_output=True, text=True, **kwargs)

    def use_release(self, release):
        """Make the next `vagrant up` create a guest of this release (after a destroy)."""
        if release not in RELEASES:
            raise ValueError(f"no box for {release!r}: the tier builds {', '.join(RELEASES)}")
        self.release = release

    # -- setup -----------------------------------------------------------

    def setup(self):
        self.work.mkdir(parents=True, exist_ok=True)
        self.work.chmod(0o755)
        # qemu runs as the user libvirt-qemu: it must be able to enter every
        # folder above the disk images, the kernel and the initrd.
        for folder in [self.work, *self.work.parents]:
            if not folder.stat().st_mode & 0o001:
                raise RuntimeError(f"{folder} is closed to other users, so libvirt's qemu can't reach the guest's "
                                   f"files below it; let others enter it (chmod o+x) or work elsewhere")
        if sh("virsh", "-c", "qemu:///system", "version", check=False, capture_output=True).returncode == 0:
            raise RuntimeError("a libvirtd already runs on this host; its sockets would clash with the test's")
        boxes = {release: ensure_box(release, self.log) for release in RELEASES}
        self._network()
        self._kvm_permissions()
        self._daemons()
        self._forget_stale_domain()
        self._pool()
        for release, box in boxes.items():
            self.log(f"box: adding {release} to Vagrant")
            sh("vagrant", "box", "add", "--force", "--name", RELEASES[release], str(box), env=self.env(),
               stdout=subprocess.DEVNULL)
        shutil.copytree(REPO, self.lab, ignore=COPY_IGNORE)
        self.undo.append(self._destroy_vm)

    def _network(self):
        self.uplink = sh("ip", "-j", "route", "show", "default", capture_output=True).stdout
        self.uplink = json.loads(self.uplink)[0]["dev"]
        forward = Path("/proc/sys/net/ipv4/ip_forward").read_text().strip()
        self.undo.append(lambda: sh("sysctl", "-q", "-w", f"net.ipv4.ip_forward={forward}"))
        sh("ip", "netns", "add", NETNS)
        self.undo.append(self._delete_namespace)
        sh("ip", "link", "add", HOST_VETH, "type", "veth", "peer", "name", NS_VETH, "netns", NETNS)
        sh("ip", "addr", "add", f"{HOST_ADDR}/30", "dev", HOST_VETH)
        sh("ip", "link", "set", HOST_VETH, "up")
        self.ns("sh", "-c", f"ip link set lo up && ip addr add {NS_ADDR}/30 dev {NS_VETH} && "
                            f"ip link set {NS_VETH} up && ip route add default via {HOST_ADDR}")
        sh("sysctl", "-q", "-w", "net.ipv4.ip_forward=1")
        rules = [
            ["-t", "nat", "POSTROUTING", "-s", SUBNET, "-o", self.uplink, "-j", "MASQUERADE"],
            ["-t", "filter", "FORWARD", "-i", HOST_VETH, "-o", self.uplink, "-j", "ACCEPT"],
            ["-t", "filter", "FORWARD", "-i", self.uplink, "-o", HOST_VETH, "-m", "state", "--state",
             "RELATED,ESTABLISHED", "-j", "ACCEPT"],
        ]
        for table_flag, table, chain, *spec in rules:
            full = [table_flag, table, chain, *spec, "-m", "comment", "--comment", RULE_COMMENT]
            sh("iptables", full[0], full[1], "-A", *full[2:])
            self.undo.append(lambda full=full: sh("iptables", full[0], full[1], "-D", *full[2:], check=False))
        self._namespace_dns()

    def _namespace_dns(self):
        if self.ns("getent", "hosts", "deb.debian.org", check=False, capture_output=True).returncode == 0:
            return
        # The host's resolver is on loopback (e.g. 127.0.0.53), which the
        # namespace can't reach: give the namespace its upstream servers.
        upstream = Path("/run/systemd/resolve/resolv.conf")
        if not upstream.exists():
            raise RuntimeError("the namespace cannot resolve deb.debian.org and no upstream resolver is known")
        folder = Path("/etc/netns") / NETNS
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "resolv.conf").write_text(upstream.read_text())
        self.undo.append(lambda: shutil.rmtree(folder, ignore_errors=True))

    def _kvm_permissions(self):
        # Without udev, /dev/kvm is root-only and libvirt re-probes qemu for
        # ~45 s on every define. Debian's normal setting fixes that; the guest
        # still runs under TCG because the domain type is qemu.
        kvm = Path("/dev/kvm")
        if not kvm.exists():
            return
        st = kvm.stat()
        self.undo.append(lambda: (os.chown(kvm, st.st_uid, st.st_gid), kvm.chmod(st.st_mode & 0o7777)))
        sh("chgrp", "kvm", str(kvm), check=False)
        kvm.chmod(0o660)

    def _daemons(self):
        for name in ("virtlogd", "libvirtd"):
            self.ns(name, "-d", "-p", str(self.pids[name]))
        self.undo.append(self._stop_daemons)
        deadline = time.monotonic() + 60
        while self.ns("virsh", "-c", "qemu:///system", "version", check=False, capture_output=True).returncode:
            if time.monotonic() > deadline:
                raise RuntimeError("libvirtd did not answer within 60 s")
            time.sleep(0.5)

    def _forget_stale_domain(self):
        """A run killed before its teardown leaves its domain defined in /etc/libvirt, its disk gone
        with its work folder: undefine every domain a lab VM left (the Vagrantfile names them
        `<name setting>-<hash of the lab folder>_default`)."""
        virsh = ("virsh", "-q", "-c", "qemu:///system")
        name = re.search(r"^name:\s*(\S+)", (REPO / "lab.default.yml").read_text(), re.M).group(1)
        defined = self.ns(*virsh, "list", "--all", "--name", capture_output=True).stdout.split()
        for domain in defined:
            if re.fullmatch(rf"{re.escape(name)}-[0-9a-f]+_default", domain):
                self.log(f"libvirt: undefining {domain}, left by an earlier run stopped before its teardown")
                self.ns(*virsh, "destroy", domain, check=False, capture_output=True)
                self.ns(*virsh, "undefine", domain, capture_output=True)

    def _pool(self):
        target = self.work / "pool"
        target.mkdir(exist_ok=True)
        virsh = ("virsh", "-q", "-c", "qemu:///system")
        self.ns(*virsh, "pool-define-as", self.pool, "dir", "--target", str(target), stdout=subprocess.DEVNULL)
        self.ns(*virsh, "pool-start", self.pool, stdout=subprocess.DEVNULL)
        self.undo.append(lambda: (self.ns(*virsh, "pool-destroy", self.pool, check=False, capture_output=True),
                                  self.ns(*virsh, "pool-undefine", self.pool, check=False, capture_output=True)))

    # -- teardown ----------------------------------------------------------

    def _destroy_vm(self):
        if (self.lab / ".vagrant").exists():
            self.vagrant("destroy", "-f", check=False, timeout=600)
        virsh = ("virsh", "-q", "-c", "qemu:///system")
        self.ns(*virsh, "net-destroy", "vagrant-libvirt", check=False, capture_output=True)
        self.ns(*virsh, "net-undefine", "vagrant-libvirt", check=False, capture_output=True)

    def _stop_daemons(self):
        for name in ("libvirtd", "virtlogd"):
            pid_file = self.pids[name]
            if not pid_file.exists():
                continue
            pid = int(pid_file.read_text().strip())  # read first: libvirtd deletes its own pid file
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
            for _ in range(100):
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.1)

    def _delete_namespace(self):
        leftovers = sh("ip", "netns", "pids", NETNS, check=False, capture_output=True).stdout.split()
        for pid in leftovers:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except ProcessLookupError:
                pass
        sh("ip", "netns", "del", NETNS, check=False)
        # Deleting one end removes the pair; the namespace's end may outlive `netns del`.
        if sh("ip", "link", "show", HOST_VETH, check=False, capture_output=True).returncode == 0:
            sh("ip", "link", "del", HOST_VETH, check=False)

    def teardown(self):
        while self.undo:
            step = self.undo.pop()
            try:
                step()
            except Exception as exc:  # keep undoing the rest
                self.log(f"teardown: {step}: {exc}")
