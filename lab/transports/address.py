"""Reading a guest address (ssh://, local://, vagrant://) and the web addresses in it.

Every part is checked before anything connects, and each mistake is one
CouldNotCheck naming the part: a bad address must never reach a check, where
it would grade the student 0 for what the person who typed it got wrong.
"""

import re
from urllib.parse import parse_qsl, urlsplit

from lab.core.outcomes import CouldNotCheck

_PASSWORD = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s:/?#@'\"]*):[^\s/?#'\"]*@")


def without_passwords(text, mask=""):
    """text with the password of every address in it left out (ssh://user:secret@host -> ssh://user@host),
    or replaced by mask where a message should say there was one (ssh://user:***@host).
    The results and every report apply it to all they show."""
    return _PASSWORD.sub(lambda m: f"{m.group(1)}{':' + mask if mask else ''}@", text)


def shown(url):
    """The address as messages quote it: a password in it is never repeated."""
    return without_passwords(url, mask="***")


def bad(url, what, fix):
    return CouldNotCheck(f"the guest address {shown(url)!r}: {what}", fix)


def split(url, example):
    """urlsplit(url), its ValueErrors (an unclosed '[', a bracketed host that is no IPv6 address) told as one line."""
    try:
        parts = urlsplit(url)
        _ = parts.hostname  # reading it checks the brackets' content
    except ValueError as exc:
        if "[" in url and "]" not in url.partition("?")[0]:
            raise bad(url, "a '[' is not closed by ']'",
                      "an IPv6 host is written in brackets, as in [2001:db8::1]:22") from None
        raise bad(url, f"the host is not an address a URL can hold ({exc})", f"write it as {example}") from None
    return parts


def _written_port(netloc):
    """The text after the host's colon (after any user@ and [IPv6] host), "" when there is none."""
    return netloc.rpartition("@")[2].rpartition("]")[2].partition(":")[2]


def _is_port(text):
    return text.isascii() and text.isdigit() and 0 < int(text) < 65536


def port_of(url, netloc, example):
    """The port written after the host (after any [IPv6] host), as an int, or None; raises when it is no port."""
    port = _written_port(netloc)
    if not port:
        return None
    if not _is_port(port):
        raise bad(url, f"the port {port!r} is not a number from 1 to 65535", example)
    return int(port)


def query(url, allowed, example):
    """{name: value} of the address's ?name=value parts; each must be one of allowed, given once, with a value."""
    parts = urlsplit(url)
    if parts.fragment:
        raise bad(url, f"'#{parts.fragment}' means nothing in a guest address", f"leave it out; {example}")
    found = {}
    for item in filter(None, parts.query.split("&")):
        name, sep, value = item.partition("=")
        if name not in allowed:
            known = ", ".join(f"{a}=" for a in allowed)
            raise bad(url, f"it has no part {name!r}" if allowed else "it takes no ?...= parts",
                      f"its parts are {known}" if allowed else f"write it as {example}")
        if name in found:
            raise bad(url, f"{name}= is given twice", "give it once")
        if not sep or not value:
            raise bad(url, f"{name}= has no value", f"give one, as in {example}, or leave {name}= out")
        # parse_qsl decodes %xx and '+' as a browser would; one item at a time keeps the errors above ours.
        found[name] = parse_qsl(item, keep_blank_values=True)[0][1]
    return found


def web_base(url, name, value):
    """The http= or https= part checked whole: scheme://host[:port], where the guest's port 80 (443) is reached."""
    expected = name  # "http" or "https": the part's name is the scheme it must have
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError:
        parts, host = None, None
    if "://" not in value:
        raise bad(url, f"{name}={value} is not an {expected}:// address", f"write {name}={expected}://{value}")
    if parts is None or parts.scheme != expected or not host:
        raise bad(url, f"{name}={value} is not an {expected}:// address", f"write {name}={expected}://host:port")
    port = _written_port(parts.netloc)
    if port and not _is_port(port):
        raise bad(url, f"{name}={value}: the port {port!r} is not a number from 1 to 65535",
                  f"write {name}={expected}://{url_host(host)}:PORT")
    if parts.username is not None or parts.path not in ("", "/") or parts.query or parts.fragment:
        # The checks ask for their own paths, and compare a redirect's with theirs (lab.guest.http).
        raise bad(url, f"{name}={value} is more than {expected}://host:port",
                  f"write {name}={expected}://{url_host(host)}" + (f":{port}" if port else ""))
    return f"{expected}://{url_host(host)}" + (f":{port}" if port else "")


def url_host(host):
    """host as a URL holds it: an IPv6 address in brackets."""
    return f"[{host}]" if ":" in host else host
