"""Step 6: the app as a systemd service: started at boot, restarted when it dies, unprivileged."""

from checks.step04_proxy import proxies_to_app
from lab import Fail, Mismatch, Registry
from lab.guest.sql import sql_text
from provision.facts import (
    APP,
    APP_SOURCE,
    APP_UNITS,
    BACK_WITHIN,
    CODE_DIR,
    DB_DIR,
    DB_PATH,
    GUEST_USER,
    NGINX_USER,
    OUTSIDER,
    SERVICE,
)

check = Registry()

# One file of the copy stands for it: rsync gives them all one owner and mode.
CODE_FILE = f"{CODE_DIR}/sample_app/app.py"
UNIT_HINT = f"write /etc/systemd/system/{SERVICE} (see the exercise), then " \
            f"`sudo systemctl daemon-reload && sudo systemctl enable --now {APP}`"


def app_units(ctx):
    """The app's units, the single service or the instances of step 8, whatever their state; Fail if none."""
    found = ctx.guest.units(*APP_UNITS)
    if not found:
        raise Fail(f"expected a systemd service for the app ({SERVICE}), found none", hint=UNIT_HINT)
    return found


def posted(ctx, thing):
    """POST a like through nginx; Fail unless the app took it, and say why where it can."""
    res = ctx.http.post("/likes", json={"likes": [thing]})
    if res.status != 201:
        raise Fail(f"posted a like through nginx and got HTTP {res.status}, not 201",
                   hint=f"`sudo journalctl -u {APP} -n 30` says why; a database the service's user may not "
                        f"write (`sudo chown -R {APP}:{APP} {DB_DIR}`) is the usual cause")


def running_units(ctx):
    return [u for u in app_units(ctx) if ctx.guest.service(u).is_active]


@check(points=2)
def service_running_and_enabled(ctx):
    """the app runs as a systemd service that starts at boot"""
    found = app_units(ctx)
    active = [u for u in found if ctx.guest.service(u).is_active]
    if not active:
        states = ", ".join(f"{u} is {ctx.guest.service(u).state}" for u in found)
        raise Fail(f"expected the app's service to be active, found {states}",
                   hint=f"`sudo systemctl start {APP}`; if it fails, `sudo journalctl -u {APP} -n 30` says why")
    disabled = [u for u in active if not ctx.guest.service(u).is_enabled]
    if disabled:
        raise Fail(f"expected {', '.join(disabled)} to start at boot, but it is not enabled",
                   hint=f"`sudo systemctl enable {disabled[0]}`")


@check(points=1, depends=service_running_and_enabled)
def unit_explained(ctx):
    """the unit file explains itself with comments"""
    for unit in running_units(ctx):
        text = ctx.guest.run("systemctl cat %s", unit).stdout
        comments = [line for line in text.splitlines()[1:] if line.strip().startswith("#")]
        if len(comments) < 3:
            raise Fail(f"expected comments in {unit} explaining its settings, found {len(comments)}",
                       hint="add a `#` line above each setting saying what it does and why; "
                            "whoever reads the unit next will thank you")


@check(points=1, depends=service_running_and_enabled)
def restarts_on_failure(ctx):
    """the service is restarted when the app fails (Restart=on-failure)"""
    for unit in running_units(ctx):
        policy, restarts = ctx.guest.service(unit).restart_policy
        if not restarts:
            raise Mismatch("expected Restart={expected} in {unit}, found Restart={actual}",
                           hint="add `Restart=on-failure` to the [Service] section, then daemon-reload and restart",
                           expected="on-failure", actual=policy, unit=unit)


@check(points=2, depends=service_running_and_enabled)
def runs_unprivileged(ctx):
    """the app runs as a system user of its own: not root, not you, not nginx's user"""
    # Each is a mistake with a cost: root can do anything, vagrant can sudo, and the user
    # nginx runs as would let a bug in one server reach the other's files.
    refused = {"root": "root can change anything on the system", "": "it runs as no user the guest knows",
               GUEST_USER: f"{GUEST_USER} may use sudo", NGINX_USER: f"{NGINX_USER} is nginx's own user",
               OUTSIDER: f"{OUTSIDER} is shared by every service that uses it"}
    for unit in running_units(ctx):
        pid = ctx.guest.service(unit).main_pid
        user = next((p.user for p in ctx.guest.processes() if p.pid == pid), "")
        if user in refused:
            raise Fail(f"expected {unit} to run as a system user of its own, found it running as "
                       f"{user or 'nobody known'}: {refused[user]}",
                       hint=f"create a system user (`sudo useradd --system {APP}`) and add `User={APP}` "
                            f"to the [Service] section; give it {DB_DIR} with chown")


@check(points=1, depends=service_running_and_enabled)
def runs_guest_local_copy(ctx):
    """the service runs the app's copy in {CODE_DIR}, which only root may change"""
    # A program started with `python3 -m` or gunicorn imports the app from the folder it
    # runs in, so the folder each service's process runs in is which copy it runs.
    for unit in running_units(ctx):
        folder = ctx.guest.cwd_of(ctx.guest.service(unit).main_pid)
        if folder is not None and folder != CODE_DIR:
            raise Mismatch("expected {unit} to run the copy in {expected}, found it running in {actual}",
                           hint=f"copy the app with rsync (see the exercise) and set `WorkingDirectory={CODE_DIR}`; "
                                "the shared folder is mounted too late at boot for a service",
                           expected=CODE_DIR, actual=folder, unit=unit)
    code = ctx.guest.file(CODE_FILE).stat()
    if code is None:
        raise Fail(f"expected the app's copy in {CODE_DIR}, found no {CODE_FILE}",
                   hint=f"`sudo rsync -a --delete --chown=root:root --chmod=D755,F644 {APP_SOURCE}/ "
                        f"{CODE_DIR}/sample_app/`")
    if code.owner != "root" or code.mode & 0o022:
        raise Mismatch("expected {CODE_FILE} to be root's, writable by root alone, found {actual}",
                       hint="the app's own user must not be able to change its code: copy it again with "
                            "rsync's `--chown=root:root --chmod=D755,F644`",
                       expected="644 root", actual=f"{code.mode:o} {code.owner}", CODE_FILE=CODE_FILE)


@check(points=1, depends=(service_running_and_enabled, proxies_to_app))
def database_in_var_lib(ctx):
    """the service keeps its database in {DB_PATH}"""
    # Observed, not read from the unit: each service answers a request of its own, which
    # opens the app's database, and its processes must then hold {DB_PATH} open; a
    # like posted through nginx must land there. A second Environment= line or a
    # comment that merely mentions the folder changes neither.
    thing = ctx.nonce()
    posted(ctx, thing)
    try:
        for unit in running_units(ctx):
            held = ctx.guest.held_after_answering(ctx.guest.service(unit).pids)
            if DB_PATH not in held:
                # What else it holds open names the mistake: a database in /tmp, in the shared folder.
                others = sorted(path for path in held if path.endswith(".db"))
                raise Mismatch("expected {unit} to hold {expected} open after answering /likes, found {actual}",
                               hint=f"set `Environment=LIKES_DB={DB_PATH}` (or `--db {DB_PATH}`) in the unit, "
                                    f"then `sudo systemctl daemon-reload` and restart it",
                               expected=DB_PATH, actual=", ".join(others) or "no database open",
                               unit=unit)
        landed = ctx.guest.sqlite(DB_PATH, f"SELECT count(*) FROM likes WHERE thing = {sql_text(thing)};")
        if landed.stdout.strip() != "1":
            raise Fail(f"posted the like {thing!r} through nginx, and it is not in {DB_PATH}",
                       hint="does nginx proxy to this service, and not to a development server still running?")
    finally:
        ctx.guest.sqlite(DB_PATH, f"DELETE FROM likes WHERE thing = {sql_text(thing)};")


@check(points=3, depends=(service_running_and_enabled, proxies_to_app), timeout=90)
def back_after_kill(ctx):
    """killed with SIGKILL, the app is back within {BACK_WITHIN} seconds"""
    unit = running_units(ctx)[0]
    service = ctx.guest.service(unit)
    old_pid = service.main_pid
    ctx.guest.sudo("kill -9 %s", old_pid)
    ctx.note(f"killed {unit}'s main process {old_pid}")

    # This unit itself must be back, serving: with several instances another one
    # answers /likes all along. Only then is nginx asked.
    def back():
        return service.main_pid not in (0, old_pid) and service.is_serving and ctx.http.get("/likes").status == 200

    if not ctx.wait_for(back, timeout=BACK_WITHIN, interval=1):
        raise Fail(f"killed {unit}'s main process, and {BACK_WITHIN} s later the app is still not back",
                   hint="add `Restart=on-failure` (and `RestartSec=2`) to the [Service] section")


@check(points=2, depends=(service_running_and_enabled, proxies_to_app), timeout=150)
def data_kept_across_restart(ctx):
    """likes are kept when the service restarts"""
    thing = ctx.nonce()
    posted(ctx, thing)
    try:
        units = running_units(ctx)
        for unit in units:
            ctx.guest.sudo("systemctl restart %s", unit, timeout=60)
        still_down = ctx.wait_until_serving(units, BACK_WITHIN)
        if still_down:
            raise Fail(f"after `systemctl restart`, {', '.join(still_down)} did not listen again within "
                       f"{BACK_WITHIN} s",
                       hint=f"`sudo journalctl -u {still_down[0]} -n 30` shows why it doesn't start")
        likes = ctx.wait_for(lambda: _likes_or_none(ctx), timeout=10, interval=1)
        if likes is None:
            raise Fail("after `systemctl restart`, the app listens but did not answer /likes within 10 s",
                       hint=f"`sudo journalctl -u {APP} -n 30` shows why it doesn't start")
        if thing not in likes:
            raise Fail(f"posted the like {thing!r}, restarted the service, and the like was gone",
                       hint=f"is the database on disk, at {DB_PATH}? (not in /tmp, not in memory)")
    finally:
        # The checker's like goes again, so the student's list stays theirs.
        ctx.guest.sqlite(DB_PATH, f"DELETE FROM likes WHERE thing = {sql_text(thing)};")


def _likes_or_none(ctx):
    res = ctx.http.get("/likes")
    if res.status != 200:
        return None  # not back yet
    return res.expect_json(hint="is nginx proxying /likes to the likes app?").get("likes")
