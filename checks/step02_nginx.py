"""Step 2: nginx installed, running, started at boot, and reachable from the host."""

from lab import Fail, Mismatch, Registry

check = Registry()


@check(points=1)
def nginx_installed(ctx):
    """nginx is installed"""
    if not ctx.guest.package("nginx").is_installed:
        raise Fail("expected the nginx package to be installed in the guest, found it missing",
                   hint="in the guest: `sudo apt update && sudo apt install nginx`")


@check(points=2, depends=nginx_installed)
def nginx_running(ctx):
    """nginx is running"""
    service = ctx.guest.service("nginx")
    state = ctx.wait_for(lambda: service.state, until=lambda s: s == "active", timeout=5)
    if state != "active":
        raise Mismatch("expected the nginx service to be {expected}, found it {actual}",
                       hint="start it with `sudo systemctl start nginx`; if that fails, "
                            "`sudo journalctl -u nginx -n 20` says why", expected="active", actual=state)


@check(points=1, depends=nginx_installed)
def nginx_enabled(ctx):
    """nginx starts when the VM boots"""
    if not ctx.guest.service("nginx").is_enabled:
        raise Fail("expected nginx to be enabled at boot, found it disabled",
                   hint="`sudo systemctl enable nginx`")


@check(points=1, depends=nginx_installed)
def nginx_config_valid(ctx):
    """nginx's configuration passes `nginx -t`"""
    result = ctx.guest.sudo("nginx -t")
    if not result.ok:
        lines = [line for line in result.stderr.splitlines() if "emerg" in line or "error" in line]
        raise Fail(f"`sudo nginx -t` reports an error: {(lines or result.stderr.splitlines() or ['?'])[0]}",
                   hint="the message names the file and line; fix it, run `sudo nginx -t` again, "
                        "then `sudo systemctl reload nginx`")


@check(points=2, depends=nginx_running)
def page_reaches_host(ctx):
    """nginx's page reaches your computer on the forwarded port"""
    res = ctx.http.get("/")
    if res.status != 200:
        raise Mismatch("expected HTTP {expected} from {url}, got {status_line}",
                       hint="try `curl -i http://localhost/` inside the guest: does nginx answer there?",
                       expected=200, actual=res.status, url=res.url, status_line=res.status_line)
    server = res.headers.get("Server", "")
    if not server.startswith("nginx"):
        raise Fail(f"expected nginx to answer {res.url}, but the server says it is {server or 'nothing'!r}",
                   hint="something else answers on the guest's port 80; `sudo ss -ltnp` in the guest shows what")
