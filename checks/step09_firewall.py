"""Step 9: a firewall lets in SSH and the web server, and nothing else."""

from checks.step02_nginx import page_reaches_host
from lab import Fail, Mismatch, Registry
from lab.core.ufw import enabled_at_boot
from provision.facts import APP_PROCESS, DEV_HOST, FIREWALL_PORTS, HTTP_PORT, SSH_PORT, UFW_CONF

check = Registry()


@check(points=1)
def ufw_installed(ctx):
    """ufw is installed"""
    if not ctx.guest.package("ufw").is_installed:
        raise Fail("expected ufw to be installed, found it missing", hint="`sudo apt install ufw`")


@check(points=2, depends=ufw_installed)
def firewall_active(ctx):
    """the firewall is on, and stays on after a reboot"""
    if not ctx.guest.firewall().active:
        raise Fail("expected `sudo ufw status` to say active, it says inactive",
                   hint=f"allow SSH first (`sudo ufw allow {SSH_PORT}/tcp`, or you lock Vagrant out), then "
                        "`sudo ufw enable`")
    if not enabled_at_boot(ctx.guest.file(UFW_CONF).content or ""):
        raise Fail("ufw is active now but will be off after a reboot", hint="`sudo ufw enable` makes it permanent")


@check(points=2, depends=firewall_active)
def denies_by_default(ctx):
    """incoming connections are denied unless a rule allows them"""
    policy = ctx.guest.firewall().default_incoming
    # reject refuses as deny does, but tells the client at once instead of letting it wait.
    if policy not in ("deny", "reject"):
        raise Mismatch("expected the default policy for incoming connections to be {expected}, found {actual}",
                       hint="`sudo ufw default deny incoming`", expected="deny", actual=policy)


@check(points=1, depends=firewall_active)
def allows_ssh_and_web(ctx):
    """SSH ({SSH_PORT}) and HTTP ({HTTP_PORT}) are allowed in"""
    status = ctx.guest.firewall()
    for port in (SSH_PORT, HTTP_PORT):
        if not status.lets_in(port):
            raise Fail(f"expected a ufw rule letting TCP port {port} in, found none (or a deny listed before it)",
                       hint=f"`sudo ufw allow {port}/tcp`; `sudo ufw status numbered` shows the rules in the "
                            "order ufw tries them")


@check(points=2, depends=firewall_active)
def app_ports_closed(ctx):
    """nothing but SSH, HTTP and HTTPS is let in; the app is reachable only through nginx"""
    extra = ctx.guest.firewall().openings_beyond(set(FIREWALL_PORTS))
    if extra:
        remove = extra[0].delete_command()
        allowed = ", ".join(str(port) for port in FIREWALL_PORTS[:-1]) + f" and {FIREWALL_PORTS[-1]}"
        raise Fail(f"expected only ports {allowed} to be allowed in, found rules for "
                   + ", ".join(rule.describe() for rule in extra),
                   hint="the app is reached through nginx only; remove the extra rule with "
                        + (f"`{remove}`" if remove else "`sudo ufw status numbered`, then `sudo ufw delete NUMBER`"))
    exposed = [listener.address for listener in ctx.guest.listeners(held_by=ctx.guest.processes(APP_PROCESS))
               if listener.kind == "tcp" and not listener.on_loopback]
    if exposed:
        raise Fail(f"expected the app to listen on loopback or a unix socket, found it on {', '.join(exposed)}",
                   hint=f"bind it to {DEV_HOST} or a unix socket")


@check(points=1, depends=(firewall_active, page_reaches_host))
def web_still_reachable(ctx):
    """the web server still reaches your computer through the firewall"""
    res = ctx.http.get("/")
    if res.status != 200:
        raise Fail(f"expected HTTP 200 from {res.url} with the firewall on, got {res.status_line}",
                   hint=f"`sudo ufw allow {HTTP_PORT}/tcp`")
