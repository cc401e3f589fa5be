"""nginx's configuration as nginx reads it: a tree of directives, with each
`include` grafted in place, and the questions the checks ask of it (which
location answers a URI, which file a server block sends for it).

Read from `nginx -T` (Guest.nginx_config) or from one file's text.
"""

import fnmatch
import posixpath
import re


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
