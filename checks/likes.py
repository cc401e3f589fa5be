"""What the checks need to know about the likes deployment, whatever stage it is at.

The app is served in a different way as the steps go on: Bottle's development
server on 127.0.0.1:8080 (steps 3-6), gunicorn on a unix socket (7), several
gunicorn instances (8). The helpers here find it in any of those shapes, so
that an earlier step's checks still hold once a later step has changed how
the app is run.
"""

import re
import secrets

APP_PORT = 8080
DB_PATH = "/var/lib/likes/likes.db"
SHARED = "/vagrant"
STATIC_DIR = f"{SHARED}/sample_app/static"
APP_PROCESS = re.compile(r"sample_app|gunicorn")


def nonce(prefix="lab-check"):
    return f"{prefix}-{secrets.token_hex(6)}"


def app_processes(ctx):
    """{pid: command line} of the app's processes (the dev server, gunicorn masters and workers)."""
    out = ctx.guest.run("ps -eo pid=,args=").stdout
    found = {}
    for line in out.splitlines():
        pid, _, args = line.strip().partition(" ")
        if APP_PROCESS.search(args) and "ps -eo" not in args and pid.isdigit():
            found[int(pid)] = args
    return found


def app_listeners(ctx):
    """The sockets the app's processes listen on."""
    pids = set(app_processes(ctx))
    return [(kind, address, owners) for kind, address, owners in ctx.guest.listeners() if owners & pids]


def exposed_app_addresses(ctx):
    """The TCP addresses the app listens on beyond loopback, where other machines can reach it."""
    return [address for kind, address, _ in app_listeners(ctx)
            if kind == "tcp" and not address.startswith(("127.", "[::1]"))]


def app_endpoints(ctx):
    """Ways to reach the app from inside the guest, as curl arguments: TCP addresses and unix sockets."""
    endpoints = []
    for kind, address, _ in app_listeners(ctx):
        if kind == "unix":
            endpoints.append(("unix", address))
        else:
            host, _, port = address.rpartition(":")
            host = host.strip("[]")
            if host in ("0.0.0.0", "*", "::"):
                host = "127.0.0.1"
            endpoints.append(("tcp", f"{host}:{port}"))
    return endpoints


def curl_in_guest(ctx, endpoint, path):
    """GET path from an app endpoint inside the guest; returns (status, body)."""
    kind, address = endpoint
    if kind == "unix":
        # As root: a socket's folder is usually open to the app's group (and nginx) only.
        result = ctx.guest.sudo("curl -s -m 5 -w '\\n%%{http_code}' --unix-socket %s %s", address,
                                f"http://localhost{path}")
    else:
        result = ctx.guest.run("curl -s -m 5 -w '\\n%%{http_code}' %s", f"http://{address}{path}")
    body, _, status = result.stdout.rpartition("\n")
    return (int(status) if status.isdigit() else 0), body


def units(ctx):
    """The systemd units that run the app: likes.service and likes@*.service, loaded ones only."""
    out = ctx.guest.run("systemctl list-units --all --plain --no-legend --type=service 'likes.service' "
                        "'likes@*.service'").stdout
    return [line.split()[0] for line in out.splitlines() if line.strip() and line.split()[0].startswith("likes")]


def unit_of(ctx, pid):
    """The systemd service a process belongs to, from its cgroup, or None."""
    cgroup = ctx.guest.run("cat /proc/%s/cgroup", pid).stdout
    match = re.search(r"/([^/]+\.service)", cgroup)
    return match.group(1) if match else None


def output_destination(ctx, pid):
    """Where a process's standard output goes: ("file", path), ("journal", unit), ("terminal", tty) or ("other", x)."""
    target = ctx.guest.sudo("readlink /proc/%s/fd/1", pid).stdout.strip()
    if target.startswith("/dev/pts") or target.startswith("/dev/tty"):
        return "terminal", target
    if target.startswith("/") and not target.startswith("/dev/"):
        return "file", target
    unit = unit_of(ctx, pid)
    if target.startswith("socket:") and unit and unit != "session.slice":
        return "journal", unit
    return "other", target or "nothing"


def app_log(ctx):
    """The recent text of the app's access log: its log file(s) and the journal of its units."""
    texts = []
    seen = set()
    for pid in app_processes(ctx):
        kind, where = output_destination(ctx, pid)
        if (kind, where) in seen:
            continue
        seen.add((kind, where))
        if kind == "file":
            texts.append(ctx.guest.sudo("tail -n 3000 %s", where).stdout)
        elif kind == "journal":
            texts.append(ctx.guest.sudo("journalctl -q -o cat -n 3000 -u %s", where).stdout)
    return "\n".join(texts)


def delete_like(ctx, thing):
    """Remove a like the checker added, so the student's list stays theirs."""
    if not re.fullmatch(r"[\w-]+", thing):  # only ever our own nonces: safe inside the SQL text
        raise ValueError(f"not a checker nonce: {thing!r}")
    ctx.guest.sudo("sqlite3 %s %s", DB_PATH, f"DELETE FROM likes WHERE thing = '{thing}';")


# -- nginx's configuration, as `nginx -T` prints it ---------------------------

def nginx_config(ctx):
    """The whole nginx configuration parsed into a tree of Directive objects."""
    text = ctx.guest.sudo("nginx -T").stdout
    return parse_nginx(text)


class Directive:
    def __init__(self, name, args, parent=None):
        self.name, self.args, self.parent, self.children = name, args, parent, []

    def find(self, name):
        """Every directive of that name below this one, at any depth."""
        for child in self.children:
            if child.name == name:
                yield child
            yield from child.find(name)

    def effective(self, name):
        """The value of a directive here, inherited from the enclosing blocks as nginx does."""
        node = self
        while node is not None:
            for child in node.children:
                if child.name == name:
                    return child.args
            node = node.parent
        return None

    def __repr__(self):
        return f"<{self.name} {' '.join(self.args)}>"


def parse_nginx(text):
    """A small parser for nginx's configuration syntax: enough for the checks."""
    root = Directive("root", [])
    node, words, word, quote = root, [], "", None
    lines = [line for line in text.splitlines() if not line.startswith("# configuration file")]
    source = "\n".join(lines)
    i = 0
    while i < len(source):
        ch = source[i]
        if quote:
            if ch == quote:
                quote = None
            else:
                word += ch
        elif ch in "\"'":
            quote = ch
        elif ch == "#":
            while i < len(source) and source[i] != "\n":
                i += 1
        elif ch.isspace() or ch in ";{}":
            if word:
                words.append(word)
                word = ""
            if ch == ";" and words:
                node.children.append(Directive(words[0], words[1:], node))
                words = []
            elif ch == "{":
                block = Directive(words[0] if words else "", words[1:], node)
                node.children.append(block)
                node, words = block, []
            elif ch == "}":
                node = node.parent or root
                words = []
        else:
            word += ch
        i += 1
    return root
