"""Step 12: a WSGI app written by hand, and the likes app on a second WSGI server, cheroot, in nginx's upstream."""

import posixpath

from checks.step08_upstream import upstream_of_all
from lab import Fail, Mismatch, Registry
from lab.guest.wsgi import call_wsgi_file, serve_file_and_get
from provision.facts import (
    APP,
    CHEROOT_SERVICE,
    CHEROOT_SOCKET,
    HELLO_FILE,
    HELLO_PORT,
    OUTSIDER,
    SPREAD_REQUESTS,
    UPSTREAM,
)

check = Registry()

# What each way of failing the validator's call means, and what to do about it.
CALL_FAILURES = {
    "missing": (f"expected your WSGI app in {HELLO_FILE}, found no such file",
                f"write it as the exercise shows (`nano {HELLO_FILE}`)"),
    "hung": (f"importing {HELLO_FILE} did not return within 5 s: it serves as soon as it is loaded",
             'start the server only under `if __name__ == "__main__":`, so that another program can import '
             "application() without running it"),
    "import": (f"{HELLO_FILE} fails as it is loaded",
               f"`python3 {HELLO_FILE}` shows the error and its line"),
    "no_application": (f"expected {HELLO_FILE} to define a function application(environ, start_response), "
                       "found only",
                       "WSGI servers look for the name `application` unless told otherwise"),
    "invalid": ("your application() breaks a rule of PEP 3333, as wsgiref's validator says",
                "call start_response(status, headers) with a str status and a list of (name, value) tuples of "
                'str, and return a list of bytes: `[body]`, with body made by `.encode("utf-8")`'),
    "raised": ("your application() raised an error when it was called",
               f"`python3 {HELLO_FILE}`, then `curl http://127.0.0.1:{HELLO_PORT}/` shows the traceback"),
}


def cheroot_pids(ctx):
    return ctx.guest.service(CHEROOT_SERVICE).pids


@check(points=3)
def hello_is_wsgi(ctx):
    """your own WSGI app in {HELLO_FILE} answers as PEP 3333 asks, naming the path it was asked for"""
    path = f"/{ctx.nonce()}"
    answer = call_wsgi_file(ctx.guest, HELLO_FILE, path)
    if answer.error:
        rationale, hint = CALL_FAILURES[answer.error]
        raise Fail(f"{rationale}: {answer.detail}" if answer.detail else rationale, hint=hint)
    if not answer.status.startswith("200"):
        raise Mismatch("expected your application() to answer {expected}, it answered {actual}",
                       hint='start_response("200 OK", headers)', expected="200 OK", actual=answer.status)
    content_type = answer.header("Content-Type") or ""
    if not content_type.startswith("text/plain"):
        raise Mismatch("expected your application() to send Content-Type {expected}, found {actual}",
                       hint='include ("Content-Type", "text/plain; charset=utf-8") in the headers',
                       expected="text/plain", actual=content_type)
    if path not in answer.body:
        raise Fail(f"asked your application() for {path}, and its answer does not name that path: "
                   f"{answer.body[:80]!r}",
                   hint='the request\'s path is environ["PATH_INFO"]; put it in the body')


@check(points=2, depends=hello_is_wsgi)
def hello_serves_under_wsgiref(ctx):
    """run as a program, {HELLO_FILE} serves itself with wsgiref on 127.0.0.1:{HELLO_PORT}"""
    path = f"/{ctx.nonce()}"
    answer = serve_file_and_get(ctx.guest, HELLO_FILE, f"http://127.0.0.1:{HELLO_PORT}{path}")
    if answer.status == 0:
        raise Fail(f"ran `python3 {HELLO_FILE}`, and nothing answered on 127.0.0.1:{HELLO_PORT} within 10 s",
                   hint=f'under `if __name__ == "__main__":`, call make_server("127.0.0.1", {HELLO_PORT}, '
                        "application) and serve_forever() on it")
    server = answer.headers.get("server", "")
    if not server.startswith("WSGIServer/") or path not in answer.body:
        raise Mismatch("expected wsgiref's server to answer {path} on port {port} with your app, found {actual}",
                       hint=f"is another program listening on {HELLO_PORT}? `sudo ss -ltnp` says",
                       expected="WSGIServer", actual=f"{server or 'no Server header'}: {answer.body[:60]!r}",
                       path=path, port=HELLO_PORT)


@check(points=2)
def cheroot_service(ctx):
    """the app runs on cheroot as a service ({CHEROOT_SERVICE}) of its user {APP}, started at boot"""
    service = ctx.guest.service(CHEROOT_SERVICE)
    if not service.is_active:
        raise Fail(f"expected {CHEROOT_SERVICE} to be active, found it {service.state}",
                   hint=f"write /etc/systemd/system/{CHEROOT_SERVICE} (see the exercise), then `sudo systemctl "
                        f"daemon-reload && sudo systemctl enable --now {CHEROOT_SERVICE}`; if it fails, "
                        f"`sudo journalctl -u {CHEROOT_SERVICE} -n 30` says why")
    if not service.is_enabled:
        raise Fail(f"expected {CHEROOT_SERVICE} to start at boot, but it is not enabled",
                   hint=f"`sudo systemctl enable {CHEROOT_SERVICE}`")
    pids = set(service.pids)
    processes = [p for p in ctx.guest.processes() if p.pid in pids]
    if not any("cheroot" in p.args for p in processes):
        raise Fail(f"expected {CHEROOT_SERVICE} to run cheroot, found it running "
                   + ("; ".join(p.args for p in processes) or "nothing"),
                   hint="`ExecStart=/usr/bin/python3 -m cheroot --bind ... sample_app.wsgi:application`")
    users = sorted({p.user for p in processes})
    if users != [APP]:
        raise Mismatch("expected cheroot to run as {expected}, found it running as {actual}",
                       hint=f"`User={APP}` and `Group={APP}` in the [Service] section",
                       expected=APP, actual=", ".join(users))
    policy, restarts = service.restart_policy
    if not restarts:
        raise Mismatch("expected Restart={expected} in {unit}, found Restart={actual}",
                       hint="add `Restart=on-failure` to the [Service] section, then daemon-reload and restart",
                       expected="on-failure", actual=policy, unit=CHEROOT_SERVICE)


@check(points=2, depends=cheroot_service)
def cheroot_on_a_closed_socket(ctx):
    """cheroot answers on a unix socket that lets nginx in and nobody else"""
    sockets = ctx.guest.listeners("unix", held_by=cheroot_pids(ctx))
    if not sockets:
        raise Fail("expected cheroot to listen on a unix socket, found it on none",
                   hint=f"`--bind {CHEROOT_SOCKET}`: a path, not host:port, makes cheroot use a unix socket")
    for listener in sockets:
        status, body = ctx.guest.http_get(listener, "/whoami")
        if status != 200 or '"Cheroot' not in body:
            raise Fail(f"expected the likes app to answer /whoami on {listener.address}, got HTTP {status}",
                       hint="the app is `sample_app.wsgi:application`, imported from WorkingDirectory=/opt/likes")
        path, folder = listener.address, posixpath.dirname(listener.address)
        socket_mode, folder_mode = ctx.guest.file(path).mode, ctx.guest.file(folder).mode
        if ctx.guest.socket(f"unix://{path}").accepts(OUTSIDER):
            raise Fail(f"expected {path} to refuse a user outside the {APP} group, but {OUTSIDER} connected",
                       hint="`UMask=0007` and `RuntimeDirectoryMode=0750` in the [Service] section")
        if socket_mode is not None and socket_mode & 0o007:
            raise Mismatch("expected {path} to give others no permission, found its mode {actual} (wanted {expected})",
                           hint="cheroot has no --umask option: its socket gets the mode the process's umask "
                                "leaves, so set `UMask=0007` in the [Service] section",
                           expected="770", actual=f"{socket_mode:o}", path=path)
        if folder_mode is not None and folder_mode & 0o007:
            raise Mismatch("expected {folder} to be closed to others, found its mode {actual} (wanted {expected})",
                           hint="`RuntimeDirectoryMode=0750` in the [Service] section",
                           expected="750", actual=f"{folder_mode:o}", folder=folder)


@check(points=3, depends=(cheroot_on_a_closed_socket, upstream_of_all), timeout=90)
def upstream_reaches_both_servers(ctx):
    """{SPREAD_REQUESTS} requests through nginx reach both gunicorn and cheroot"""
    answers = ctx.http.get_many("/whoami", SPREAD_REQUESTS)
    servers = [res.expect_json(hint="`sudo tail /var/log/nginx/error.log` names the server that failed")
               .get("server", "") for res in answers]
    families = {name.split("/")[0].lower() for name in servers}
    ctx.note(f"{len(answers)} requests answered by " + ", ".join(sorted(set(servers))))
    missing = [name for name in ("gunicorn", "cheroot") if name not in families]
    if missing:
        raise Fail(f"expected {SPREAD_REQUESTS} requests through nginx to reach gunicorn and cheroot, none "
                   f"reached {' or '.join(missing)}",
                   hint=f"list `server unix:{CHEROOT_SOCKET};` in the `upstream {UPSTREAM}` block beside the "
                        "gunicorn instances, then `sudo nginx -t && sudo systemctl reload nginx`")
