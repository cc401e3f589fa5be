"""Step 3: the app runs in the background on 127.0.0.1:8080, its output kept in a log."""

import json

from lab import Fail, Registry

from checks.likes import APP_PORT, DB_PATH, app_endpoints, app_processes, curl_in_guest, exposed_app_addresses, \
    output_destination

check = Registry()


@check(points=1)
def bottle_installed(ctx):
    """Bottle is installed for python3"""
    if not ctx.guest.run("python3 -c %s", "import bottle").ok:
        raise Fail("expected python3 to be able to import bottle, but it can't",
                   hint="install it with `sudo apt install python3-bottle`")


@check(points=2, depends=bottle_installed)
def app_answers_in_guest(ctx):
    """the likes app answers /likes with JSON inside the guest"""
    endpoints = app_endpoints(ctx)
    if not endpoints:
        raise Fail(f"expected the likes app to listen on 127.0.0.1:{APP_PORT} in the guest, found no app running",
                   hint="in the guest: `cd /vagrant && python3 -m sample_app --host 127.0.0.1 --port 8080 "
                        "--db /var/lib/likes/likes.db > ~/likes.log 2>&1 &`")
    answers = []
    for endpoint in endpoints:
        status, body = curl_in_guest(ctx, endpoint, "/likes")
        try:
            if status == 200 and isinstance(json.loads(body).get("likes"), list):
                return
        except (ValueError, AttributeError):
            pass
        answers.append(f"{endpoint[1]}: HTTP {status or 'no answer'}")
    raise Fail(f"expected JSON with a likes list from the app's /likes, got {'; '.join(answers)}",
               hint="look at the app's log (e.g. `tail ~/likes.log`) for an error")


@check(points=2, depends=app_answers_in_guest)
def app_on_loopback_only(ctx):
    """the app listens on 127.0.0.1 only, not on every address"""
    exposed = exposed_app_addresses(ctx)
    if exposed:
        raise Fail(f"expected the app to listen on 127.0.0.1 only, found it listening on {', '.join(exposed)}, "
                   "where other machines can reach it without going through nginx",
                   hint="start it with `--host 127.0.0.1` instead of 0.0.0.0",
                   expected=f"127.0.0.1:{APP_PORT}", actual=", ".join(exposed))


@check(points=2, depends=app_answers_in_guest)
def app_output_logged(ctx):
    """the app runs in the background with its output kept in a log"""
    destinations = {output_destination(ctx, pid) for pid in app_processes(ctx)}
    for kind, where in destinations:
        if kind == "terminal":
            raise Fail(f"expected the app's output to go to a log file, found it writing to the terminal {where}",
                       hint="stop it (Ctrl-C), then start it again with `> ~/likes.log 2>&1 &` at the end of "
                            "the command: `>` sends its output to the file, `&` runs it in the background")
    if not any(kind in ("file", "journal") for kind, _ in destinations):
        raise Fail("expected the app's output to go to a log file, found it going nowhere readable",
                   hint="start it with `> ~/likes.log 2>&1 &` at the end of the command",
                   actual=", ".join(f"{k} {w}" for k, w in destinations))
    ctx.note("app output: " + ", ".join(f"{k} {w}" for k, w in sorted(destinations)))


@check(points=1, depends=app_answers_in_guest)
def database_on_guest_disk(ctx):
    """the database is /var/lib/likes/likes.db, on the guest's own disk"""
    result = ctx.guest.sudo("sqlite3 %s %s", DB_PATH, "SELECT COUNT(*) FROM likes;")
    if not result.ok:
        raise Fail(f"expected the app's SQLite database at {DB_PATH}, found none there",
                   hint="create the folder (`sudo mkdir -p /var/lib/likes && sudo chown vagrant /var/lib/likes`) "
                        "and start the app with `--db /var/lib/likes/likes.db`; SQLite must not live on the "
                        "shared folder, where its file locking breaks")
    ctx.note(f"{DB_PATH} holds {result.stdout.strip()} likes")
