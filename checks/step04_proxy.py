"""Step 4: nginx as a reverse proxy in front of the app."""

from lab import Fail, Registry

from checks.likes import DB_PATH, delete_like, nonce
from checks.step02_nginx import nginx_running
from checks.step03_devserver import app_answers_in_guest

check = Registry()

STATUS_HINTS = {
    502: "nginx could not reach the app: is the app running, and does proxy_pass point at its address "
         "(127.0.0.1:8080)? try `curl localhost:8080/likes` in the guest, and read `sudo tail /var/log/nginx/error.log`",
    404: "nginx answered by itself: is your site enabled (a link in /etc/nginx/sites-enabled/) and "
         "the default site removed? then `sudo nginx -t && sudo systemctl reload nginx`",
    504: "nginx waited for the app and gave up: is the app stuck? restart it",
}


@check(points=3, depends=(nginx_running, app_answers_in_guest))
def proxies_to_app(ctx):
    """nginx passes requests for /likes on to the app"""
    res = ctx.http.get("/likes")
    if res.status != 200:
        raise Fail(f"expected HTTP 200 from {res.url}, got {res.status_line}", hint=STATUS_HINTS.get(
            res.status, "read nginx's error log: `sudo tail /var/log/nginx/error.log`"),
            expected=200, actual=res.status)
    body = res.expect_json(hint="is nginx proxying to the likes app, on 127.0.0.1:8080?")
    if not isinstance(body, dict) or not isinstance(body.get("likes"), list):
        raise Fail(f"expected {{\"likes\": [...]}} from {res.url}, got something else",
                   hint="is nginx proxying to the likes app, on 127.0.0.1:8080?", actual=res.text[:200])


@check(points=2, depends=proxies_to_app)
def like_reaches_database(ctx):
    """a like posted through nginx is stored in the guest's database"""
    thing = nonce()
    res = ctx.http.post("/likes", json={"likes": [thing]})
    try:
        if res.status != 201:
            raise Fail(f"expected HTTP 201 from POST {res.url}, got {res.status_line}",
                       hint="does POST /likes work on the app itself? "
                            "`curl -d 'likes=x' localhost:8080/likes` in the guest", expected=201, actual=res.status)
        count = ctx.guest.sudo("sqlite3 %s %s", DB_PATH, f"SELECT COUNT(*) FROM likes WHERE thing = '{thing}';")
        if count.stdout.strip() != "1":
            raise Fail(f"posted the like {thing!r} through nginx, but {DB_PATH} doesn't contain it",
                       hint="is the app started with `--db /var/lib/likes/likes.db`?")
    finally:
        delete_like(ctx, thing)


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
