"""Step 8: several app servers behind one nginx upstream, with failover and gzip."""

import time
from fnmatch import fnmatch

from checks.step07_gunicorn import nginx_proxies_to_socket
from lab import Fail, Mismatch, Registry
from provision.facts import (
    BACK_WITHIN,
    INSTANCE_SERVICE,
    INSTANCE_UNITS,
    INSTANCES,
    SPREAD_REQUESTS,
    UPSTREAM,
    instance_names,
    instance_socket,
    instance_unit,
)

# nginx's default for a server of an upstream that failed a request: it gets no
# more for 10 s (fail_timeout=10s, max_fails=1; ngx_http_upstream_module's docs).
NGINX_FAIL_TIMEOUT = 10

check = Registry()


def active_instances(ctx):
    return [unit for unit in ctx.guest.units(INSTANCE_UNITS) if ctx.guest.service(unit).is_active]


@check(points=2)
def instances_running(ctx):
    """{INSTANCES} app servers run from a templated unit ({INSTANCE_SERVICE})"""
    running = active_instances(ctx)
    if len(running) < INSTANCES:
        raise Fail(f"expected {INSTANCES} active instances of {INSTANCE_SERVICE}, found "
                   f"{len(running)}{': ' + ', '.join(running) if running else ''}",
                   hint=f"write /etc/systemd/system/{INSTANCE_SERVICE}, then "
                        f"`sudo systemctl enable --now {' '.join(instance_unit(n) for n in instance_names())}`",
                   expected=INSTANCES, actual=len(running))


@check(points=2, depends=instances_running)
def upstream_of_all(ctx):
    """nginx proxies to an upstream block with the {INSTANCES} servers"""
    config = ctx.guest.nginx_config()
    upstreams = {" ".join(u.args): [d.args[0] for d in u.children if d.name == "server" and d.args]
                 for u in config.find("upstream")}
    # Only an upstream a proxy_pass names carries requests: a block nothing uses is a decoy.
    used = {d.args[0].partition("://")[2].split("/")[0] for d in config.find("proxy_pass") if d.args}
    if not any(len(servers) >= INSTANCES for name, servers in upstreams.items() if name in used):
        found = "; ".join(f"{name}: {len(s)} server(s)" + ("" if name in used else ", which no proxy_pass names")
                          for name, s in upstreams.items()) or "no upstream block"
        raise Fail(f"expected an nginx upstream with {INSTANCES} servers, found {found}",
                   hint=f"list one `server unix:{instance_socket('N')};` per instance in an "
                        f"`upstream {UPSTREAM} {{ ... }}` block, and `proxy_pass http://{UPSTREAM};`")


@check(points=3, depends=(upstream_of_all, nginx_proxies_to_socket), timeout=90)
def requests_reach_all(ctx):
    """{SPREAD_REQUESTS} requests reach all {INSTANCES} app servers"""
    hint = (f"an error now and then means one server of the upstream does not answer: are all {INSTANCES} "
            f"instances running (`systemctl status '{INSTANCE_UNITS}'`) and each socket in the upstream the one "
            "its instance binds? `sudo tail /var/log/nginx/error.log` names the one that failed")
    reached, asked, started = set(), 0, time.monotonic()

    def round_of_thirty():
        nonlocal asked
        answers = ctx.http.get_many("/whoami", SPREAD_REQUESTS)
        asked += len(answers)
        units = {ctx.guest.unit_of(pid) for pid in {res.expect_json(hint=hint).get("pid") for res in answers}}
        # Only the instances count: from step 12 on, cheroot's service shares the upstream.
        reached.update(unit for unit in units if unit and fnmatch(unit, INSTANCE_UNITS))
        return len(reached)

    # An instance that failed a request in the last moments (it was restarting)
    # is left alone by nginx for fail_timeout; ask again until that has passed.
    ctx.wait_for(round_of_thirty, timeout=NGINX_FAIL_TIMEOUT + 2, interval=1, until=lambda n: n >= INSTANCES)
    took = time.monotonic() - started
    ctx.note(f"{asked} requests in {took:.0f} s answered by {sorted(reached)}")
    if len(reached) < INSTANCES:
        raise Fail(f"expected requests to reach all {INSTANCES} instances, {asked} of them in {took:.0f} s "
                   f"reached {len(reached)}: {', '.join(sorted(reached)) or 'none'}",
                   hint=f"are all {INSTANCES} sockets listed in the upstream, and all {INSTANCES} instances running?")


@check(points=1, depends=upstream_of_all)
def gzip_for_text(ctx):
    """text answers (CSS, JavaScript, JSON) are gzip-compressed, for clients behind a proxy too, and say so to caches"""
    # /whoami, not /likes: nginx doesn't compress answers under 20 bytes, such as an empty list.
    for path in ("/static/style.css", "/static/likes.js", "/whoami"):
        res = ctx.http.get(path, headers={"Accept-Encoding": "gzip"})
        if res.headers.get("Content-Encoding") != "gzip":
            raise Fail(f"expected {res.url} to come back gzip-compressed, it came back plain",
                       hint="`gzip on;` plus `gzip_types text/css application/javascript application/json;` "
                            "in the server block: without gzip_types nginx compresses text/html only")
        if "accept-encoding" not in res.headers.get("Vary", "").lower():
            raise Mismatch("expected {url} to say {expected}, found Vary: {actual}",
                           hint="`gzip_vary on;`: a cache between the app and a browser then keeps the "
                                "compressed and the plain answer apart",
                           expected="Vary: Accept-Encoding", actual=res.headers.get("Vary", ""), url=res.url)
    # A request that came through a proxy carries a Via header, and nginx leaves its answer plain
    # unless gzip_proxied says otherwise.
    res = ctx.http.get("/whoami", headers={"Accept-Encoding": "gzip", "Via": "1.1 a-company-proxy"})
    if res.headers.get("Content-Encoding") != "gzip":
        raise Fail(f"expected {res.url}, asked through a proxy (Via: 1.1 a-company-proxy), to come back "
                   "gzip-compressed, it came back plain",
                   hint="`gzip_proxied any;`: by default nginx compresses nothing for a request with a Via header")


@check(points=3, depends=requests_reach_all, timeout=120)
def survives_one_down(ctx):
    """with one app server stopped, {SPREAD_REQUESTS} requests still get no server error"""
    victim = active_instances(ctx)[-1]
    ctx.guest.sudo("systemctl stop %s", victim, timeout=60)
    try:
        statuses = [res.status for res in ctx.http.get_many("/whoami", SPREAD_REQUESTS)]
    finally:
        ctx.guest.sudo("systemctl start %s", victim, timeout=60)
        # Leave it as found: serving, so that the next check (or the student's next
        # run) doesn't meet an instance still starting.
        ctx.wait_until_serving([victim], BACK_WITHIN)
    errors = [s for s in statuses if s >= 500]
    ctx.note(f"with {victim} stopped: {len(statuses) - len(errors)} good answers, {len(errors)} errors")
    if errors:
        raise Fail(f"stopped {victim}; then {len(errors)} of {SPREAD_REQUESTS} requests failed with "
                   f"HTTP {errors[0]}",
                   hint="nginx should try the next server when one is down: don't set "
                        "`proxy_next_upstream off;` (the default, `error timeout`, fails over)")
