"""Step 5: nginx serves the static files itself, from the shared folder or from a copy deployed in the guest."""

import posixpath

from checks.step04_proxy import proxies_to_app
from lab import Fail, Mismatch, Registry
from lab.guest import nginx
from provision.facts import (
    APP_PROCESS,
    GUEST_USER,
    LAB_FOLDER,
    NGINX_USER,
    STATIC_DIR,
    STATIC_EXPIRES_HOURS,
    STATIC_MAX_AGE,
)

check = Registry()
STYLE = "/static/style.css"  # the static file the checks ask for
# How many times in a row a check asks a request it looks for in the app's log: more than
# the upstream has servers, so that some reach one that logs.
ROUNDS = 6


def static_paths(config, uri=STYLE):
    """The files nginx's configuration sends for uri, one per server block that serves it from disk."""
    paths = [nginx.served_path(server, uri) for server in nginx.server_blocks(config)]
    return list(dict.fromkeys(p for p in paths if p))


def nginx_user(config):
    """The user nginx's workers run as: the `user` line of nginx.conf, or Debian's default."""
    return next((d.args[0] for d in config.children if d.name == "user" and d.args), NGINX_USER)


@check(points=1)
def www_data_reads_shared_folder(ctx):
    """nginx's user ({NGINX_USER}) can read the static files nginx serves"""
    config = ctx.guest.nginx_config()
    user = nginx_user(config)
    # Until a location serves /static/ from a folder that holds the app's
    # files, the files to open up are the shared folder's, as the exercise does.
    paths = [p for p in static_paths(config) if ctx.guest.file(p).exists] or [f"{STATIC_DIR}/style.css"]
    for path in paths:
        if not ctx.guest.file(path).readable_by(user):
            if nginx.under(path, LAB_FOLDER):
                hint = (f"the shared folder lets in its owner and the group {GUEST_USER} only: "
                        f"`sudo usermod -aG {GUEST_USER} {user}`, then `sudo systemctl reload nginx` "
                        f"(on Parallels, whose folder shows your computer's modes, also let others read "
                        f"the files on your computer: `chmod -R a+rX sample_app/static`)")
            else:
                hint = (f"{user} needs to enter every folder on the way and read the files: "
                        f"`namei -l {path}` shows each one's owner and mode; "
                        f"`sudo chmod -R o+rX {posixpath.dirname(path)}` opens the folder itself")
            raise Fail(f"expected {user} to be able to read {path}, which nginx serves at {STYLE}, "
                       "but it is refused", hint=hint)


def _apps_style(ctx):
    """style.css as the app has it: its own answer at /static/style.css, and the shared folder's file."""
    versions = []
    for endpoint in ctx.guest.listeners(held_by=ctx.guest.processes(APP_PROCESS))[:1]:
        status, body = ctx.guest.http_get(endpoint, STYLE)
        if status == 200:
            versions.append(body)
    shared = ctx.guest.file(f"{STATIC_DIR}/style.css").content
    if shared is not None:
        versions.append(shared)
    return versions


@check(points=3, depends=(proxies_to_app, www_data_reads_shared_folder), timeout=40)
def static_served_by_nginx(ctx):
    """/static/style.css is answered by nginx with the app's style.css, without reaching the app"""
    static_probe, app_probe = ctx.nonce("static"), ctx.nonce("app")
    # Each request is asked ROUNDS times in a row: from step 12 on, the upstream also holds
    # cheroot, which keeps no access log, and round robin sends some of the rounds to the
    # gunicorns, which do.
    for _ in range(ROUNDS - 1):
        ctx.http.get(f"{STYLE}?{static_probe}")
    res = ctx.http.get(f"{STYLE}?{static_probe}")
    if res.status == 403:
        # www_data_reads_shared_folder passed: the user can read the files now, with
        # the groups it has today, but nginx's workers started with the old ones. A reload
        # starts new workers, which take the user's groups as they are now.
        raise Fail(f"expected a text/css file from {res.url}, got {res.status_line}",
                   hint="nginx's user can read the files now, but nginx's workers still have the groups "
                        "they started with: `sudo systemctl reload nginx` starts new ones")
    if res.status != 200 or res.content_type != "text/css":
        raise Fail(f"expected a text/css file from {res.url}, got {res.status_line} ({res.content_type})",
                   hint="check the `location /static/` block: its alias must end with a slash, "
                        f"like `alias {STATIC_DIR}/;`")
    for _ in range(ROUNDS):
        ctx.http.get(f"/likes?{app_probe}")

    def log_showing_app_probe():
        text = ctx.guest.recent_output(process.pid for process in ctx.guest.processes(APP_PROCESS))
        return text if app_probe in text else None

    # The app writes its log line after answering: wait until the control request shows up.
    log = ctx.wait_for(log_showing_app_probe, timeout=10)
    if not log:
        raise Fail("expected to find the app's access log, but requests to the app don't show up in it",
                   hint="keep the app's output in a log (step 3); gunicorn needs `--access-logfile -`")
    if static_probe in log:
        raise Fail("expected nginx to answer /static/ itself, but the request reached the app",
                   hint=f"add `location /static/ {{ alias {STATIC_DIR}/; }}` to your site, before `location /`")
    wanted = _apps_style(ctx)
    if wanted and res.text not in wanted:
        served = ", ".join(static_paths(ctx.guest.nginx_config())) or "a folder the checker could not work out"
        raise Fail(f"expected {res.url.partition('?')[0]} to be the app's style.css, but nginx sent another file "
                   f"({served})",
                   hint="point the static location at the app's static folder: its alias (or root) must hold "
                        "the app's likes.js, style.css and logo.png")


def _locations_serving(config, folder):
    for location in config.find("location"):
        paths = (location.effective("alias") or []) + (location.effective("root") or [])
        if any(nginx.under(p, folder) for p in paths):
            yield location


@check(points=2, depends=static_served_by_nginx, timeout=40)
def static_served_fresh(ctx):
    """where nginx serves the shared folder, a file changed there is served fresh (sendfile off)"""
    config = ctx.guest.nginx_config()
    for location in _locations_serving(config, LAB_FOLDER):
        if (location.effective("sendfile") or ["on"])[0] != "off":
            raise Fail(f"expected `sendfile off;` for the location {' '.join(location.args)}"
                       f"{f' in {location.source}' if location.source else ''}, which serves the shared folder; "
                       "with sendfile on, VirtualBox makes nginx send stale or broken files",
                       hint="add `sendfile off;` inside that location block, then `sudo nginx -t` and reload")
    name = f"{ctx.nonce('fresh')}.txt"
    served = static_paths(config, f"/static/{name}")
    shared = [p for p in served if nginx.under(p, LAB_FOLDER)]
    if served and not shared:
        ctx.note(f"nginx serves /static/ from {', '.join(posixpath.dirname(p) for p in served)}, a copy in the "
                 "guest, not the shared folder: files there change only when you copy them, so there is no "
                 "stale copy to catch")
        return
    # Where the configuration doesn't say (a path built from variables), try the shared folder's.
    path = shared[0] if shared else f"{STATIC_DIR}/{name}"
    try:
        for version in ("first version", "second version, longer"):
            ctx.guest.run("printf %s > %s", version, path)
            res = ctx.http.get(f"/static/{name}")
            if not shared and version == "first version" and res.status == 404:
                ctx.note(f"nginx does not serve {path} at /static/{name}: /static/ is not the shared folder")
                return
            if res.text != version:
                raise Fail(f"changed {path} to {version!r}, but nginx served {res.text[:60]!r}",
                           hint="add `sendfile off;` to the static location and reload nginx")
    finally:
        ctx.guest.run("rm -f %s", path)


@check(points=1, depends=static_served_by_nginx)
def static_cached_for_an_hour(ctx):
    """browsers may keep the static files for {STATIC_EXPIRES_HOURS} h (Cache-Control: max-age={STATIC_MAX_AGE})"""
    # `expires` makes nginx send an Expires date and Cache-Control's max-age; browsers go by the latter.
    res = ctx.http.get(STYLE)
    cache_control = res.headers.get("Cache-Control", "")
    if f"max-age={STATIC_MAX_AGE}" not in cache_control.replace(" ", ""):
        raise Mismatch("expected {url} to say Cache-Control: {expected}, found {actual}",
                       hint=f"add `expires {STATIC_EXPIRES_HOURS}h;` to the /static/ location, then "
                            "`sudo nginx -t` and reload",
                       expected=f"max-age={STATIC_MAX_AGE}", actual=cache_control, url=res.url)
