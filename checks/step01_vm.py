"""Step 1: the virtual machine is up, shares the lab folder, and is private to you."""

from urllib.parse import urlsplit

from lab import Fail, NotApplicable, Registry
from lab.engine import host
from provision.facts import LAB_FOLDER

check = Registry()


@check(points=1)
def guest_os(ctx):
    """the guest is up and runs Ubuntu or Debian"""
    release = ctx.guest.os_release()
    ctx.note(f"guest OS: {release.get('PRETTY_NAME', 'unknown')}")
    if release.get("ID") not in ("ubuntu", "debian"):
        raise Fail(f"expected Ubuntu or Debian in /etc/os-release, found {release.get('PRETTY_NAME', 'nothing')}",
                   hint="the lab is written for the box in the Vagrantfile; did you change config.vm.box?",
                   expected="ubuntu or debian", actual=release.get("ID"))


@check(points=2, depends=guest_os, applies_to="vagrant")
def shared_folder(ctx):
    """a file written in the lab folder on your machine shows up in {LAB_FOLDER} in the guest"""
    nonce = name = ctx.nonce("shared-folder-check")
    host_file = ctx.settings.state_dir / name
    host_file.parent.mkdir(parents=True, exist_ok=True)
    host_file.write_text(nonce + "\n")
    guest_file = f"{LAB_FOLDER}/.lab/{name}"
    transport = ctx.guest.transport
    try:
        if getattr(transport, "synced_by_rsync", lambda: False)():
            ctx.note("the folder is copied with rsync (libvirt): ran `vagrant rsync` first")
            transport.rsync()
        # A shared folder can take a moment to show a new file.
        seen = ctx.wait_for(lambda: ctx.guest.run("cat %s", guest_file).stdout.strip() == nonce, timeout=5)
    finally:
        host_file.unlink()
    if not seen:
        raise Fail(f"wrote {host_file} on your machine, but the guest has no {guest_file}",
                   hint=f"is the folder shared? in the guest, `ls {LAB_FOLDER}` should list the lab's files; "
                        "on libvirt the folder is copied with rsync: run `vagrant rsync` (or keep "
                        "`vagrant rsync-auto` running) after changing files")


@check(points=2, depends=guest_os)
def tree_installed(ctx):
    """the `tree` program is installed with apt"""
    if not ctx.guest.package("tree").is_installed:
        raise Fail("expected the Debian package tree to be installed in the guest, found it missing",
                   hint="in the guest, run `sudo apt update` and then `sudo apt install tree`")
    if not ctx.guest.run("tree -L 1 %s", LAB_FOLDER).ok:
        raise Fail(f"tree is installed but `tree -L 1 {LAB_FOLDER}` failed",
                   hint="try the command yourself in the guest and read its error")


@check(points=2, depends=guest_os, applies_to="vagrant")
def forwarded_port_private(ctx):
    """the forwarded web port accepts connections from your own machine only (127.0.0.1)"""
    # The transport knows the provider; only some can bind a forward to one address.
    refused = getattr(ctx.guest.transport, "loopback_forwarding_refused", lambda: None)()
    if refused:
        raise NotApplicable(f"{refused}: others on your network can reach the VM's web server while it runs, "
                            "which is not your doing; use it on networks you trust")
    port = urlsplit(ctx.http.base_url).port
    for address in host.own_addresses():
        if not host.accepts_connections(address, port):
            ctx.note(f"{address}:{port} refuses connections, as it should")
            continue
        raise Fail(f"expected port {port} to accept connections on 127.0.0.1 only, but it also accepts them "
                   f"on {address}, where others on your network can reach your VM",
                   hint='in the Vagrantfile, forward the port with host_ip: "127.0.0.1", then run `vagrant reload`')
