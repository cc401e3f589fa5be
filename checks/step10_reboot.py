"""Step 10: the whole deployment comes back by itself after a reboot."""

from checks.step02_nginx import page_reaches_host
from lab import Fail, Mismatch, Registry
from provision.facts import APP, APP_UNITS, CONFIG_DIR, NGINX_CONF

check = Registry()

# Files the deployment is made of: a reboot must come after the last change to them.
DEPLOYMENT_FILES = f"{NGINX_CONF} /etc/nginx/sites-available/* /etc/nginx/conf.d/*.conf " \
                   f"/etc/systemd/system/{APP}*.service " \
                   f"{CONFIG_DIR}/* /etc/ufw/user.rules"


@check(points=2, depends=page_reaches_host)
def server_tokens_off(ctx):
    """nginx does not tell the world its version"""
    server = ctx.http.get("/").headers.get("Server", "")
    if server != "nginx":
        raise Mismatch("expected the Server header to say just {expected}, found {actual!r}",
                       hint=f"uncomment `server_tokens off;` in the http block of {NGINX_CONF} "
                            f"(`grep -n server_tokens {NGINX_CONF}` finds it), then reload nginx",
                       expected="nginx", actual=server)


@check(points=2)
def everything_enabled(ctx):
    """nginx, the app's services and the firewall all start at boot"""
    wanted = ["nginx", "ufw"] + [u for u in ctx.guest.units(*APP_UNITS) if ctx.guest.service(u).is_active]
    disabled = [u for u in wanted if not ctx.guest.service(u).is_enabled]
    if disabled:
        raise Fail(f"expected every part of the deployment to start at boot, but {', '.join(disabled)} "
                   f"{'is' if len(disabled) == 1 else 'are'} not enabled",
                   hint=f"`sudo systemctl enable {' '.join(disabled)}`")


@check(points=3, depends=(everything_enabled, page_reaches_host))
def back_after_reboot(ctx):
    """the guest was restarted after the last change, and everything came back"""
    boot = int(ctx.guest.output("awk '/^btime/ {print $2}' /proc/stat") or 0)
    last_change = int(ctx.guest.sudo(f"stat -c %Y {DEPLOYMENT_FILES} 2>/dev/null | sort -n | tail -1")
                      .stdout.strip() or 0)
    if boot <= last_change:
        raise Fail("expected the guest to have been restarted since the deployment last changed, but it was not",
                   hint="from your computer, run `vagrant reload`, then this check again: nothing should need a hand")
    for path in ("/", "/likes", "/static/style.css"):
        res = ctx.http.get(path)
        if res.status != 200:
            raise Fail(f"after the restart, {res.url} answers {res.status_line}",
                       hint="which part did not come back? `systemctl --failed` in the guest lists it")
