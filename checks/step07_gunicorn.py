"""Step 7: gunicorn with several workers on a unix socket, behind nginx."""

import posixpath

from checks.step04_proxy import proxies_to_app
from lab import Fail, Mismatch, Registry
from provision.facts import APP, APP_PROCESS, DEV_PORT, NGINX_USER, OUTSIDER, SINGLE_SOCKET, SPREAD_REQUESTS, WORKERS

check = Registry()
# How many answers nginx_proxies_to_socket reads: enough that gunicorn is among them
# when it shares the upstream with step 12's cheroot, one server of four.
GUNICORN_ASKS = 8
NO_ANSWER_FROM_GUNICORN = ("`sudo tail /var/log/nginx/error.log` says why nginx got no answer: does proxy_pass name "
                           f"the socket gunicorn binds, and may nginx's user {NGINX_USER} open it?")


def gunicorn_masters(ctx):
    """{master pid: [worker pids]} of the running gunicorn servers."""
    table = [(p.pid, p.ppid) for p in ctx.guest.processes("gunicorn")]
    pids = {pid for pid, _ in table}
    return {pid: [child for child, parent in table if parent == pid] for pid, ppid in table if ppid not in pids}


@check(points=1)
def gunicorn_installed(ctx):
    """gunicorn is installed"""
    if not ctx.guest.run("gunicorn --version").ok:
        raise Fail("expected the gunicorn command in the guest, found none",
                   hint="`sudo apt install gunicorn`")


@check(points=3, depends=gunicorn_installed)
def workers_on_unix_socket(ctx):
    """gunicorn runs at least {WORKERS} workers on a unix socket"""
    # A master forks its workers a moment after it starts: give a service that
    # was just restarted a few seconds to have them all.
    masters = ctx.wait_for(lambda: gunicorn_masters(ctx), timeout=5,
                           until=lambda found: found and all(len(w) >= WORKERS for w in found.values()))
    if not masters:
        raise Fail("expected gunicorn to be running, found no gunicorn process",
                   hint="change the service's ExecStart to run gunicorn (see the exercise), then "
                        f"`sudo systemctl daemon-reload && sudo systemctl restart {APP}`")
    unix_sockets = ctx.guest.listeners("unix")
    sockets = {pid: [a for _, a, owners in unix_sockets if owners & {pid, *workers}]
               for pid, workers in masters.items()}
    for pid, workers in masters.items():
        if not sockets[pid]:
            raise Fail(f"expected gunicorn (pid {pid}) to listen on a unix socket, found it on none",
                       hint=f"use `--bind unix:{SINGLE_SOCKET}`")
        if len(workers) < WORKERS:
            raise Fail(f"expected at least {WORKERS} gunicorn workers on {sockets[pid][0]}, found {len(workers)}",
                       hint=f"use `--workers {WORKERS}`: one worker answers one request at a time",
                       expected=f">= {WORKERS}", actual=len(workers))


@check(points=2, depends=(workers_on_unix_socket, proxies_to_app))
def nginx_proxies_to_socket(ctx):
    """nginx passes requests to gunicorn's unix socket"""
    # A few answers, not one: from step 12 on, another WSGI server shares the upstream.
    answers = [res.expect_json(hint=NO_ANSWER_FROM_GUNICORN) for res in ctx.http.get_many("/whoami", GUNICORN_ASKS)]
    by_gunicorn = [answer for answer in answers if answer.get("server", "").startswith("gunicorn")]
    if not by_gunicorn:
        found = ", ".join(sorted({repr(answer.get("server", "")) for answer in answers}))
        raise Fail(f"expected gunicorn to answer behind nginx, found {found}",
                   hint="is the old development server still running? `sudo ss -ltnp` shows who listens")
    # gunicorn reports the address a request came from: nothing over a unix socket, nginx's
    # 127.0.0.1 over TCP. What nginx's configuration names only explains a failure.
    came_from = next((answer["remote_addr"] for answer in by_gunicorn if answer.get("remote_addr")), None)
    if came_from:
        config = ctx.guest.nginx_config()
        targets = [" ".join(d.args) for d in config.find("proxy_pass")] + \
                  [d.args[0] for up in config.find("upstream") for d in up.children if d.name == "server" and d.args]
        raise Fail(f"expected nginx to reach gunicorn over its unix socket, but gunicorn saw the request come "
                   f"over TCP from {came_from} (nginx's configuration proxies to {', '.join(targets) or 'nothing'})",
                   hint=f"`proxy_pass http://unix:{SINGLE_SOCKET};` (or a `server unix:...` in an upstream), "
                        "and gunicorn bound to that socket alone")


@check(points=1, depends=nginx_proxies_to_socket)
def requests_logged(ctx):
    """each request gunicorn answers is logged to the journal"""
    path = f"/whoami?logged={ctx.nonce()}"
    # Asked a few times: from step 12 on, cheroot, which logs nothing, shares the upstream.
    for res in ctx.http.get_many(path, GUNICORN_ASKS):
        res.expect_json(hint=NO_ANSWER_FROM_GUNICORN)
    # The workers write where their master does (the journal, under systemd). The journal
    # takes a moment to have the line.
    pids = list(gunicorn_masters(ctx))
    if not ctx.wait_for(lambda: path in ctx.guest.recent_output(pids, lines=200), timeout=10, interval=1):
        raise Fail(f"asked nginx for {path}, and gunicorn's output does not show the request",
                   hint="add `--access-logfile -` to gunicorn's command line: gunicorn logs no requests "
                        f"without it, and `-` sends them to the journal (`sudo journalctl -u {APP}`)")


@check(points=2, depends=nginx_proxies_to_socket)
def socket_closed_to_others(ctx):
    """gunicorn's socket lets nginx in and nobody else: it and its folder are closed to others"""
    # Observed three ways: a user outside the group is refused, and the modes of the socket
    # itself (gunicorn's umask) and of its folder (the unit's RuntimeDirectoryMode) say why.
    for master, workers in gunicorn_masters(ctx).items():
        for listener in ctx.guest.listeners("unix", held_by=[master, *workers]):
            path, folder = listener.address, posixpath.dirname(listener.address)
            socket_mode, folder_mode = ctx.guest.file(path).mode, ctx.guest.file(folder).mode
            if socket_mode is None or folder_mode is None:
                continue  # gone between the two probes: a restart, which workers_on_unix_socket reports
            if ctx.guest.socket(f"unix://{path}").accepts(OUTSIDER):
                raise Fail(f"expected {path} to refuse a user outside the {APP} group, but {OUTSIDER} "
                           f"connected: the socket's mode is {socket_mode:o} and {folder}'s is {folder_mode:o}",
                           hint="run gunicorn with `--umask 007` and give the unit `RuntimeDirectoryMode=0750`, "
                                f"then `sudo systemctl daemon-reload && sudo systemctl restart {APP}`")
            if socket_mode & 0o007:
                raise Mismatch("expected {path} to give others no permission, found its mode {actual} "
                               "(wanted {expected})", expected="770", actual=f"{socket_mode:o}", path=path,
                               hint="`--umask 007` on gunicorn's command line: the socket it creates is then "
                                    "read-write for its user and group only")
            if folder_mode & 0o007:
                raise Mismatch("expected {folder} to be closed to others, found its mode {actual} "
                               "(wanted {expected})", expected="750", actual=f"{folder_mode:o}", folder=folder,
                               hint="`RuntimeDirectoryMode=0750` in the unit's [Service] section")


@check(points=2, depends=nginx_proxies_to_socket)
def several_workers_answer(ctx):
    """requests are answered by more than one gunicorn worker"""
    answers = ctx.http.get_many("/whoami", SPREAD_REQUESTS)
    pids = {res.expect_json(hint=NO_ANSWER_FROM_GUNICORN).get("pid") for res in answers}
    ctx.note(f"{SPREAD_REQUESTS} requests answered by worker pids {sorted(pids)}")
    if len(pids) < 2:
        raise Fail(f"expected {SPREAD_REQUESTS} requests to be answered by at least 2 gunicorn workers, "
                   "all came from one",
                   hint=f"run gunicorn with `--workers {WORKERS}`")


@check(points=1, depends=workers_on_unix_socket)
def dev_port_free(ctx):
    """nothing listens on port {DEV_PORT} any more"""
    busy = [(a, o) for _, a, o in ctx.guest.listeners("tcp") if a.endswith(f":{DEV_PORT}")]
    if busy:
        names = {p.pid: p.args for p in ctx.guest.processes(APP_PROCESS)}
        who = ", ".join(names.get(pid, f"pid {pid}") for _, owners in busy for pid in owners)
        raise Fail(f"expected port {DEV_PORT} to be free now that gunicorn uses a socket, "
                   f"found {who or 'a process'} listening there",
                   hint="stop the old development server (`pkill -f 'python3 -m sample_app'`)")
