"""Step 4: nginx as a reverse proxy in front of the app."""

from checks.step02_nginx import nginx_running
from checks.step03_devserver import app_answers_in_guest
from lab import Fail, Mismatch, Registry
from lab.guest.sql import sql_text
from provision.facts import DB_PATH, DEV_HOST, DEV_PORT

check = Registry()

STATUS_HINTS = {
    502: "nginx could not reach the app: is the app running, and does proxy_pass point at its address "
         f"({DEV_HOST}:{DEV_PORT})? try `curl localhost:{DEV_PORT}/likes` in the guest, and read "
         "`sudo tail /var/log/nginx/error.log`",
    404: "nginx answered by itself: is your site enabled (a link in /etc/nginx/sites-enabled/) and "
         "the default site removed? then `sudo nginx -t && sudo systemctl reload nginx`",
    504: "nginx waited for the app and gave up: is the app stuck? restart it",
}


@check(points=3, depends=(nginx_running, app_answers_in_guest))
def proxies_to_app(ctx):
    """nginx passes requests for /likes on to the app"""
    res = ctx.http.get("/likes")
    if res.status != 200:
        raise Mismatch("expected HTTP {expected} from {url}, got {status_line}", hint=STATUS_HINTS.get(
            res.status, "read nginx's error log: `sudo tail /var/log/nginx/error.log`"),
            expected=200, actual=res.status, url=res.url, status_line=res.status_line)
    hint = f"is nginx proxying to the likes app, on {DEV_HOST}:{DEV_PORT}?"
    body = res.expect_json(hint=hint)
    if not isinstance(body, dict) or not isinstance(body.get("likes"), list):
        raise Fail(f"expected {{\"likes\": [...]}} from {res.url}, got something else", hint=hint,
                   actual=res.text[:200])


@check(points=2, depends=proxies_to_app)
def like_reaches_database(ctx):
    """a like posted through nginx is stored in the guest's database"""
    thing = ctx.nonce()
    res = ctx.http.post("/likes", json={"likes": [thing]})
    try:
        if res.status != 201:
            raise Mismatch("expected HTTP {expected} from POST {url}, got {status_line}",
                           hint="does POST /likes work on the app itself? "
                                f"`curl -d 'likes=x' localhost:{DEV_PORT}/likes` in the guest",
                           expected=201, actual=res.status, url=res.url, status_line=res.status_line)
        count = ctx.guest.sqlite(DB_PATH, f"SELECT COUNT(*) FROM likes WHERE thing = {sql_text(thing)};")
        if count.stdout.strip() != "1":
            raise Fail(f"posted the like {thing!r} through nginx, but {DB_PATH} doesn't contain it",
                       hint=f"is the app started with `--db {DB_PATH}`?")
    finally:
        # The checker's like goes again, so the student's list stays theirs.
        ctx.guest.sqlite(DB_PATH, f"DELETE FROM likes WHERE thing = {sql_text(thing)};")


@check(points=2, depends=proxies_to_app)
def forwards_client_address(ctx):
    """the app learns the client's address from X-Forwarded-For and X-Real-IP"""
    res = ctx.http.get("/whoami")
    info = res.expect_json(hint=STATUS_HINTS.get(res.status))
    missing = [h for h, key in (("X-Forwarded-For", "x_forwarded_for"), ("X-Real-IP", "x_real_ip"))
               if not info.get(key)]
    if missing:
        raise Fail(f"expected nginx to send {' and '.join(missing)} to the app, but the app did not receive them",
                   hint="add `proxy_set_header X-Real-IP $remote_addr;` and "
                        "`proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;` to the location block",
                   actual={k: info.get(k) for k in ("x_forwarded_for", "x_real_ip")})
