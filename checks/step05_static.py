"""Step 5: nginx serves the static files itself, straight from the shared folder."""

from lab import Fail, Registry

from checks.likes import STATIC_DIR, app_log, nginx_config, nonce
from checks.step04_proxy import proxies_to_app

check = Registry()


@check(points=1)
def www_data_reads_shared_folder(ctx):
    """nginx's user www-data can read the app's static files"""
    if not ctx.guest.file(f"{STATIC_DIR}/style.css").readable_by("www-data"):
        raise Fail(f"expected www-data to be able to read {STATIC_DIR}/style.css, but it is refused",
                   hint="on VirtualBox the shared folder belongs to the group vagrant: "
                        "`sudo usermod -aG vagrant www-data`, then `sudo systemctl restart nginx`")


@check(points=3, depends=(proxies_to_app, www_data_reads_shared_folder), timeout=40)
def static_served_by_nginx(ctx):
    """/static/style.css is answered by nginx without reaching the app"""
    static_probe, app_probe = nonce("static"), nonce("app")
    res = ctx.http.get(f"/static/style.css?{static_probe}")
    if res.status != 200 or res.content_type != "text/css":
        raise Fail(f"expected a text/css file from {res.url}, got {res.status_line} ({res.content_type})",
                   hint="check the `location /static/` block: its alias must end with a slash, "
                        f"like `alias {STATIC_DIR}/;`")
    ctx.http.get(f"/likes?{app_probe}")

    def log_showing_app_probe():
        text = app_log(ctx)
        return text if app_probe in text else None

    # The app writes its log line after answering: wait until the control request shows up.
    log = ctx.wait_for(log_showing_app_probe, timeout=10)
    if not log:
        raise Fail("expected to find the app's access log, but requests to the app don't show up in it",
                   hint="keep the app's output in a log (step 3); gunicorn needs `--access-logfile -`")
    if static_probe in log:
        raise Fail("expected nginx to answer /static/ itself, but the request reached the app",
                   hint=f"add `location /static/ {{ alias {STATIC_DIR}/; }}` to your site, before `location /`")


def _locations_serving(config, folder):
    for location in config.find("location"):
        paths = (location.effective("alias") or []) + (location.effective("root") or [])
        if any(p.startswith(folder) for p in paths):
            yield location


@check(points=2, depends=static_served_by_nginx, timeout=40)
def static_served_fresh(ctx):
    """a static file changed in the shared folder is served fresh (sendfile off)"""
    for location in _locations_serving(nginx_config(ctx), "/vagrant"):
        if (location.effective("sendfile") or ["on"])[0] != "off":
            raise Fail(f"expected `sendfile off;` for the location {' '.join(location.args)}, which serves "
                       "the shared folder; with sendfile on, VirtualBox makes nginx send stale or broken files",
                       hint="add `sendfile off;` inside that location block, then `sudo nginx -t` and reload")
    name = f"{nonce('fresh')}.txt"
    path = f"{STATIC_DIR}/{name}"
    try:
        for version in ("first version", "second version, longer"):
            ctx.guest.run("printf %s > %s", version, path)
            res = ctx.http.get(f"/static/{name}")
            if res.text != version:
                raise Fail(f"changed {path} to {version!r}, but nginx served {res.text[:60]!r}",
                           hint="add `sendfile off;` to the static location and reload nginx")
    finally:
        ctx.guest.run("rm -f %s", path)
