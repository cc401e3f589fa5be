"""Step 9: a firewall lets in SSH and the web server, and nothing else."""

from lab import Fail, Registry

from checks.likes import exposed_app_addresses
from checks.step02_nginx import page_reaches_host
from checks.ufw import parse_ufw_status

check = Registry()
ALLOWED_PORTS = {22, 80, 443}


def firewall(ctx):
    """ufw's state and rules, read from `ufw status verbose`."""
    # ufw translates its output; checks/ufw.py reads the English words.
    return parse_ufw_status(ctx.guest.sudo("LC_ALL=C ufw status verbose").stdout)


@check(points=1)
def ufw_installed(ctx):
    """ufw is installed"""
    if not ctx.guest.package("ufw").is_installed:
        raise Fail("expected ufw to be installed, found it missing", hint="`sudo apt install ufw`")


@check(points=2, depends=ufw_installed)
def firewall_active(ctx):
    """the firewall is on, and stays on after a reboot"""
    if not firewall(ctx).active:
        raise Fail("expected `sudo ufw status` to say active, it says inactive",
                   hint="allow SSH first (`sudo ufw allow 22/tcp`, or you lock Vagrant out), then `sudo ufw enable`")
    if not ctx.guest.file("/etc/ufw/ufw.conf").contains("ENABLED=yes"):
        raise Fail("ufw is active now but will be off after a reboot", hint="`sudo ufw enable` makes it permanent")


@check(points=2, depends=firewall_active)
def denies_by_default(ctx):
    """incoming connections are denied unless a rule allows them"""
    policy = firewall(ctx).default_incoming
    # reject refuses as deny does, but tells the client at once instead of letting it wait.
    if policy not in ("deny", "reject"):
        raise Fail(f"expected the default policy for incoming connections to be deny, found {policy or 'none'}",
                   hint="`sudo ufw default deny incoming`", expected="deny", actual=policy)


@check(points=1, depends=firewall_active)
def allows_ssh_and_web(ctx):
    """SSH (22) and HTTP (80) are allowed in"""
    status = firewall(ctx)
    for port in (22, 80):
        if not status.lets_in(port):
            raise Fail(f"expected a ufw rule letting TCP port {port} in, found none (or a deny listed before it)",
                       hint=f"`sudo ufw allow {port}/tcp`; `sudo ufw status numbered` shows the rules in the "
                            "order ufw tries them")


@check(points=2, depends=firewall_active)
def app_ports_closed(ctx):
    """nothing but SSH, HTTP and HTTPS is let in; the app is reachable only through nginx"""
    extra = firewall(ctx).openings_beyond(ALLOWED_PORTS)
    if extra:
        remove = extra[0].delete_command()
        raise Fail("expected only ports 22, 80 and 443 to be allowed in, found rules for "
                   + ", ".join(rule.describe() for rule in extra),
                   hint="the app is reached through nginx only; remove the extra rule with "
                        + (f"`{remove}`" if remove else "`sudo ufw status numbered`, then `sudo ufw delete NUMBER`"))
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
