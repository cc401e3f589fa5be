"""What the checks need to know about the likes deployment, whatever stage it is at.

The app is served in a different way as the steps go on: Bottle's development
server on 127.0.0.1:8080 (steps 3-6), gunicorn on a unix socket (7), several
gunicorn instances (8). The helpers here find it in any of those shapes, so
that an earlier step's checks still hold once a later step has changed how
the app is run.
"""

import fnmatch
import posixpath
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
    def __init__(self, name, args, parent=None, source=None):
        self.name, self.args, self.parent, self.children = name, args, parent, []
        self.source = source  # the file it was written in, when nginx -T said

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


def server_blocks(config):
    """The http server blocks (not the `server` lines of an upstream)."""
    return [s for s in config.find("server") if s.parent is not None and s.parent.name == "http"]


def _location_match(location):
    """(modifier, path) of a location: ("", "/static/"), ("=", "/"), ("~*", "\\.css$"), ("^~", "/x/")."""
    if len(location.args) >= 2:
        return location.args[0], location.args[1]
    name = location.args[0]
    # nginx also reads a modifier written without a space: `location =/` or `location ~\.css$`.
    for modifier in ("=", "^~", "~*", "~"):
        if name.startswith(modifier):
            return modifier, name[len(modifier):]
    return "", name


def _regex_search(location, uri):
    modifier, pattern = _location_match(location)
    # PCRE writes a named group (?<name>...), Python (?P<name>...).
    pattern = re.sub(r"\(\?<(?=[A-Za-z_])", "(?P<", pattern)
    try:
        return re.search(pattern, uri, re.I if modifier == "~*" else 0)
    except re.error:
        return None


def location_for(block, uri):
    """The location block nginx picks for uri among those in block (a server or a location), or None.

    nginx's order: an `=` location equal to uri; else the longest matching
    prefix, at once if it is marked `^~`; else the first regular expression
    that matches, in the order written; else that longest prefix. Locations
    nested in the one picked are tried the same way.
    """
    longest, regexes = None, []
    for location in (c for c in block.children if c.name == "location" and c.args):
        modifier, path = _location_match(location)
        if modifier == "=" and path == uri:
            return location
        if modifier in ("~", "~*"):
            regexes.append(location)
        elif modifier in ("", "^~") and uri.startswith(path):
            if longest is None or len(path) > len(_location_match(longest)[1]):
                longest = location
    picked = longest
    if longest is None or _location_match(longest)[0] != "^~":
        picked = next((r for r in regexes if _regex_search(r, uri)), longest)
    if picked is None:
        return None
    return location_for(picked, uri) or picked


PASSES_ON = {"proxy_pass", "fastcgi_pass", "uwsgi_pass", "scgi_pass", "grpc_pass", "memcached_pass", "return"}


def served_path(server, uri):
    """The file a server block sends for uri, as nginx maps it through alias or root;
    None when it passes the request on (proxy_pass, return) or the path depends on variables."""
    if any(c.name == "return" for c in server.children):
        return None
    location = location_for(server, uri)
    node = location or server
    if any(c.name in PASSES_ON for c in node.children):
        return None
    alias = next((c.args[0] for c in node.children if c.name == "alias" and c.args), None)
    if location is not None and alias is not None:
        modifier, prefix = _location_match(location)
        if modifier in ("~", "~*"):
            match = _regex_search(location, uri)
            path = re.sub(r"\$(\d)", lambda g: (match.group(int(g.group(1))) or "") if match else "", alias)
        else:
            path = alias + uri[len(prefix):]
    else:
        root = node.effective("root")
        if not root:
            return None
        path = root[0].rstrip("/") + uri
    return None if "$" in path else re.sub("/+", "/", path)


def under(path, folder):
    """Whether path is folder or inside it."""
    return path == folder or path.startswith(folder.rstrip("/") + "/")


# nginx -T prints every file it read once, each under a line like this one.
DUMPED_FILE = re.compile(r"^# configuration file (?P<path>.+):$", re.M)


def parse_nginx(text):
    """nginx's configuration as one tree, from `nginx -T` (or from one file's text).

    nginx -T prints each file on its own, but nginx reads an `include` as if
    the included files were written in its place: the site files in
    sites-enabled/ sit inside nginx.conf's http block. The tree is built the
    same way, so that a location inherits what the http block sets.
    """
    headers = list(DUMPED_FILE.finditer(text))
    files = {h["path"]: text[h.end() + 1:(headers[i + 1].start() if i + 1 < len(headers) else len(text))]
             for i, h in enumerate(headers)}
    root = Directive("root", [])
    if not headers:
        _parse_into(root, text, {}, "", None)
    else:
        main = headers[0]["path"]
        # nginx resolves a relative include against the main file's folder (/etc/nginx/).
        _parse_into(root, files[main], files, posixpath.dirname(main), main)
    return root


def _parse_into(block, source, files, base, name, depth=0):
    """Add the directives of one file's text to block, replacing each include by the files it names."""
    node, words = block, []
    for token in _tokens(source):
        if token == ";" and words:
            directive = Directive(words[0], words[1:], node, name)
            node.children.append(directive)
            if directive.name == "include" and directive.args and depth < 20:
                for path in _included(directive.args[0], files, base):
                    _parse_into(node, files[path], files, base, path, depth + 1)
            words = []
        elif token == "{":
            child = Directive(words[0] if words else "", words[1:], node, name)
            node.children.append(child)
            node, words = child, []
        elif token == "}":
            node = node.parent if node is not block else block
            words = []
        elif token not in (";", "{", "}"):
            words.append(token)


def _included(pattern, files, base):
    """The dumped files an include pattern names, in the order nginx reads them (glob's, sorted)."""
    path = posixpath.join(base, pattern)
    if not any(ch in path for ch in "*?["):
        return [path] if path in files else []
    hidden_wanted = posixpath.basename(path).startswith(".")
    return sorted(name for name in files
                  if name.count("/") == path.count("/") and fnmatch.fnmatchcase(name, path)
                  and (hidden_wanted or not posixpath.basename(name).startswith(".")))


def _tokens(source):
    """nginx's words and its punctuation ; { }, read as nginx reads them.

    Quotes around a word group it ("" is a word too), a backslash takes the
    next character literally, # starts a comment, and ${name} is one word.
    """
    word, has_word, quote, i = [], False, None, 0
    while i < len(source):
        ch = source[i]
        if ch == "\\" and i + 1 < len(source):
            following = source[i + 1]
            # nginx keeps the backslash before other characters: regular expressions need it.
            word.append(following if following in "\"'\\" else ch + following)
            has_word, i = True, i + 2
            continue
        if quote:
            if ch == quote:
                quote = None
            else:
                word.append(ch)
        elif ch in "\"'" and not has_word:
            quote, has_word = ch, True
        elif ch == "{" and word and word[-1] == "$":
            end = source.find("}", i)
            end = len(source) - 1 if end < 0 else end
            word.append(source[i:end + 1])
            i = end
        elif ch == "#" and not has_word:
            while i < len(source) and source[i] != "\n":
                i += 1
            continue
        elif ch.isspace() or ch in ";{}":
            if has_word:
                yield "".join(word)
                word, has_word = [], False
            if not ch.isspace():
                yield ch
        else:
            word.append(ch)
            has_word = True
        i += 1
    if has_word:
        yield "".join(word)
