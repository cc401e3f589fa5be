"""Step 9: a firewall lets in SSH and the web server, and nothing else."""

import re

from lab import Fail, Registry

from checks.likes import exposed_app_addresses
from checks.step02_nginx import page_reaches_host

check = Registry()
ALLOWED_PORTS = {"22", "80", "443"}


def ufw_status(ctx):
    return ctx.guest.sudo("ufw status verbose").stdout


def ufw_allows(status, port):
    """Whether `ufw status verbose` shows a rule letting TCP port `port` in."""
    return re.search(rf"^{port}(/tcp)?\s+ALLOW IN", status, re.M) is not None


@check(points=1)
def ufw_installed(ctx):
    """ufw is installed"""
    if not ctx.guest.package("ufw").is_installed:
        raise Fail("expected ufw to be installed, found it missing", hint="`sudo apt install ufw`")


@check(points=2, depends=ufw_installed)
def firewall_active(ctx):
    """the firewall is on, and stays on after a reboot"""
    if "Status: active" not in ufw_status(ctx):
        raise Fail("expected `sudo ufw status` to say active, it says inactive",
                   hint="allow SSH first (`sudo ufw allow 22/tcp`, or you lock Vagrant out), then `sudo ufw enable`")
    if not ctx.guest.file("/etc/ufw/ufw.conf").contains("ENABLED=yes"):
        raise Fail("ufw is active now but will be off after a reboot", hint="`sudo ufw enable` makes it permanent")


@check(points=2, depends=firewall_active)
def denies_by_default(ctx):
    """incoming connections are denied unless a rule allows them"""
    if "Default: deny (incoming)" not in ufw_status(ctx):
        raise Fail("expected the default policy for incoming connections to be deny",
                   hint="`sudo ufw default deny incoming`")


@check(points=1, depends=firewall_active)
def allows_ssh_and_web(ctx):
    """SSH (22) and HTTP (80) are allowed in"""
    status = ufw_status(ctx)
    for port in ("22", "80"):
        if not ufw_allows(status, port):
            raise Fail(f"expected a ufw rule allowing port {port}, found none",
                       hint=f"`sudo ufw allow {port}/tcp`")


@check(points=2, depends=firewall_active)
def app_ports_closed(ctx):
    """nothing but SSH, HTTP and HTTPS is let in; the app is reachable only through nginx"""
    opened = set()
    for line in ufw_status(ctx).splitlines():
        match = re.match(r"^(\S+)\s+(?:\(v6\)\s+)?ALLOW IN", line)
        if match:
            port = match.group(1).split("/")[0]  # "8080/tcp" -> "8080"
            if port not in ALLOWED_PORTS:
                opened.add(match.group(1))
    if opened:
        raise Fail(f"expected only ports 22, 80 and 443 to be allowed in, found rules for {', '.join(sorted(opened))}",
                   hint="the app is reached through nginx only; remove the extra rule with "
                        f"`sudo ufw delete allow {sorted(opened)[0]}`")
    exposed = exposed_app_addresses(ctx)
    if exposed:
        raise Fail(f"expected the app to listen on loopback or a unix socket, found it on {', '.join(exposed)}",
                   hint="bind it to 127.0.0.1 or a unix socket")


@check(points=1, depends=(firewall_active, page_reaches_host))
def web_still_reachable(ctx):
    """the web server still reaches your computer through the firewall"""
    res = ctx.http.get("/")
    if res.status != 200:
        raise Fail(f"expected HTTP 200 from {res.url} with the firewall on, got {res.status_line}",
                   hint="`sudo ufw allow 80/tcp`")
