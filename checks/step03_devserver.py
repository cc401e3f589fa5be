"""Step 3: the app's development server runs in the background on loopback, its output kept in a log."""

from lab import Fail, Mismatch, Registry
from provision.facts import APP_PROCESS, DB_DIR, DB_PATH, DEV_HOST, DEV_LOG, DEV_PORT, GUEST_USER, LAB_FOLDER

check = Registry()
START_COMMAND = (f"cd {LAB_FOLDER} && python3 -m sample_app --host {DEV_HOST} --port {DEV_PORT} --db {DB_PATH} "
                 f"> ~/{DEV_LOG} 2>&1 &")


@check(points=1)
def bottle_installed(ctx):
    """Bottle is installed for python3"""
    if not ctx.guest.run("python3 -c %s", "import bottle").ok:
        raise Fail("expected python3 to be able to import bottle, but it can't",
                   hint="install it with `sudo apt install python3-bottle`")


@check(points=2, depends=bottle_installed)
def app_answers_in_guest(ctx):
    """the likes app answers /likes with JSON inside the guest"""
    endpoints = ctx.guest.listeners(held_by=ctx.guest.processes(APP_PROCESS))
    if not endpoints:
        raise Fail(f"expected the likes app to listen on {DEV_HOST}:{DEV_PORT} in the guest, found no app running",
                   hint=f"in the guest: `{START_COMMAND}`")
    import json  # here, not above: `--list` imports every step's checks and must start fast

    answers = []
    for endpoint in endpoints:
        status, body = ctx.guest.http_get(endpoint, "/likes")
        try:
            if status == 200 and isinstance(json.loads(body).get("likes"), list):
                return
        except (ValueError, AttributeError):
            pass
        answers.append(f"{endpoint.address}: HTTP {status or 'no answer'}")
    raise Fail(f"expected JSON with a likes list from the app's /likes, got {'; '.join(answers)}",
               hint=f"look at the app's log (e.g. `tail ~/{DEV_LOG}`) for an error")


@check(points=2, depends=app_answers_in_guest)
def app_on_loopback_only(ctx):
    """the app listens on {DEV_HOST} only, not on every address"""
    exposed = [listener.address for listener in ctx.guest.listeners(held_by=ctx.guest.processes(APP_PROCESS))
               if not listener.on_loopback]
    if exposed:
        raise Fail(f"expected the app to listen on {DEV_HOST} only, found it listening on {', '.join(exposed)}, "
                   "where other machines can reach it without going through nginx",
                   hint=f"start it with `--host {DEV_HOST}` instead of 0.0.0.0",
                   expected=f"{DEV_HOST}:{DEV_PORT}", actual=", ".join(exposed))


@check(points=2, depends=app_answers_in_guest)
def app_output_logged(ctx):
    """the app runs in the background with its output kept in a log"""
    destinations = {ctx.guest.output_of(process.pid) for process in ctx.guest.processes(APP_PROCESS)}
    for kind, where in destinations:
        if kind == "terminal":
            raise Fail(f"expected the app's output to go to a log file, found it writing to the terminal {where}",
                       hint=f"stop it (Ctrl-C), then start it again with `> ~/{DEV_LOG} 2>&1 &` at the end of "
                            "the command: `>` sends its output to the file, `&` runs it in the background")
    if not any(kind in ("file", "journal") for kind, _ in destinations):
        raise Fail("expected the app's output to go to a log file, found it going nowhere readable",
                   hint=f"start it with `> ~/{DEV_LOG} 2>&1 &` at the end of the command",
                   actual=", ".join(f"{k} {w}" for k, w in destinations))
    ctx.note("app output: " + ", ".join(f"{k} {w}" for k, w in sorted(destinations)))


@check(points=1, depends=app_answers_in_guest)
def database_on_guest_disk(ctx):
    """the app keeps its database in {DB_PATH}, on the guest's own disk"""
    # Observed: the app opens its database for a request and keeps it open, so after an
    # answer its processes hold the file they really use.
    held = ctx.guest.held_after_answering(ctx.guest.processes(APP_PROCESS))
    if DB_PATH not in held:
        others = sorted(path for path in held if path.endswith(".db"))
        raise Mismatch("expected the app to hold {expected} open after answering /likes, found {actual}",
                       hint=f"create the folder (`sudo mkdir -p {DB_DIR} && sudo chown {GUEST_USER} {DB_DIR}`) "
                            f"and start the app with `--db {DB_PATH}`; SQLite must not live on the "
                            "shared folder, where its file locking breaks",
                       expected=DB_PATH, actual=", ".join(others) or "no database open")
    result = ctx.guest.sqlite(DB_PATH, "SELECT COUNT(*) FROM likes;")
    ctx.note(f"{DB_PATH} holds {result.stdout.strip()} likes")
