"""HTTP from the student's machine to the guest's forwarded ports.

Every request has a timeout and reads at most MAX_BODY bytes, so a hung or
runaway server turns into one clear sentence instead of a frozen checker.

HTTPS certificates are not verified here: a lab's certificate is self-signed,
and the HTTPS step's checks judge it themselves (see tls_handshake).
"""

import json
from dataclasses import dataclass
from urllib.parse import urlsplit

from lab.core.outcomes import CouldNotCheck, Fail

CONNECT_TIMEOUT = 3
READ_TIMEOUT = 5
MAX_BODY = 1024 * 1024


@dataclass
class HttpResponse:
    url: str
    status: int
    reason: str
    headers: dict
    content: bytes
    method: str = "GET"

    @property
    def text(self):
        return self.content.decode("utf-8", "replace")

    @property
    def status_line(self):
        return f"{self.status} {self.reason}".strip()

    @property
    def content_type(self):
        return self.headers.get("Content-Type", "").split(";")[0].strip().lower()

    @property
    def is_json(self):
        try:
            json.loads(self.content)
        except ValueError:
            return False
        return True

    def _kind(self):
        kind = "an HTML page" if b"<html" in self.content[:2048].lower() else "something else"
        return f"{kind} ({self.content_type or 'no type'})"

    def json(self):
        """The body as JSON; an HTML page or other text stops the check with a clear reason."""
        try:
            return json.loads(self.content)
        except ValueError:
            raise CouldNotCheck(f"expected JSON from {self.url}, got {self._kind()}",
                                "is something other than the likes app answering there?") from None

    def expect_json(self, hint=None):
        """The body as JSON, from an answer the student's deployment must give.

        Anything else is that deployment answering wrongly, even now and then
        (a 502 from nginx, its HTML error page), so the check fails, saying
        what came back: "GET http://127.0.0.1:8500/whoami answered 502 Bad Gateway".
        """
        if 200 <= self.status < 300:
            try:
                return json.loads(self.content)
            except RecursionError:
                # JSON, but nested deeper than Python's parser goes: no app of the lab's answers so.
                raise Fail(f"{self.method} {self.url} answered {self.status_line} with JSON nested too deeply "
                           "to read", hint=hint or "is something other than the likes app answering there?") from None
            except ValueError:
                raise Fail(f"{self.method} {self.url} answered {self.status_line} with {self._kind()}, not JSON",
                           hint=hint or "is something other than the likes app answering there?") from None
        raise Fail(f"{self.method} {self.url} answered {self.status_line}",
                   hint=hint or "`sudo tail /var/log/nginx/error.log` in the guest says what went wrong")


REDIRECTS = (301, 302, 303, 307, 308)


class Http:
    """A requests session aimed at the guest's web server."""

    def __init__(self, base_url, unreachable_remedy="is the web server running?", log=None, https_base=None):
        self.base_url = base_url.rstrip("/")
        self.https_base = https_base.rstrip("/") if https_base else None
        self.unreachable_remedy = unreachable_remedy
        self._log = log if log is not None else []
        self._session = None

    def _client(self):
        if self._session is None:
            import requests
            import urllib3

            self._session = requests.Session()
            # Ignore HTTP_PROXY and friends: a student's proxy must not sit
            # between the checker and 127.0.0.1.
            self._session.trust_env = False
            self._session.headers["User-Agent"] = "lab-check"
            # Self-signed lab certificates: see the module's docstring.
            self._session.verify = False
            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        return self._session

    def url(self, path):
        return path if "://" in path else self.base_url + "/" + path.lstrip("/")

    def https_url(self, path="/"):
        """The address of path on the guest's port 443, as reached from here."""
        if self.https_base is None:
            raise CouldNotCheck("no port on this machine is forwarded to the guest's port 443",
                                "add the Vagrantfile's forwarded_port line for guest port 443, then `vagrant reload`")
        return self.https_base + "/" + path.lstrip("/")

    def upgrade_target(self, response):
        """Where a redirect sends the same request over HTTPS, or None.

        Once the HTTPS step redirects every plain HTTP request to HTTPS, the
        earlier steps' checks must still reach the site: they follow a
        redirect that keeps the path and goes to the guest's forwarded HTTPS
        port, resending the same request, as a browser does for a site it
        knows to be HTTPS-only. Any other redirect is left to the check.
        """
        location = response.headers.get("Location", "")
        if response.status not in REDIRECTS or self.https_base is None or not location.startswith("https://"):
            return None
        asked, told, ours = urlsplit(response.url), urlsplit(location), urlsplit(self.https_base)
        same_place = (told.port or 443) == (ours.port or 443) and told.hostname in (ours.hostname, "localhost")
        same_resource = (told.path or "/", told.query) == (asked.path or "/", asked.query)
        return location if same_place and same_resource and asked.scheme == "http" else None

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path, **kwargs):
        return self.request("POST", path, **kwargs)

    def get_many(self, path, count, at_once=6, **kwargs):
        """GET path count times, at_once of them at a time; the responses, in order.

        Requests that overlap are how a load balancer is seen spreading them:
        nginx gives a new request to the next server of an upstream, and a
        gunicorn worker busy with one leaves the next to another worker."""
        from concurrent.futures import ThreadPoolExecutor  # here: `--list` never sends a request

        with ThreadPoolExecutor(max_workers=at_once) as pool:
            return list(pool.map(lambda _: self.get(path, **kwargs), range(count)))

    def request(self, method, path, timeout=None, upgrade=True, **kwargs):
        """One request, never following redirects, except (with upgrade) the
        site's own redirect to HTTPS: see upgrade_target."""
        response = self._send(method, self.url(path), timeout, **kwargs)
        target = self.upgrade_target(response) if upgrade else None
        if target:
            response = self._send(method, target, timeout, **kwargs)
        return response

    def _send(self, method, url, timeout, **kwargs):
        import requests

        kwargs.setdefault("allow_redirects", False)
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(url))
        try:
            with self._client().request(method, url, stream=True, timeout=timeout or (CONNECT_TIMEOUT, READ_TIMEOUT),
                                        **kwargs) as res:
                content = _read_capped(res, url)
                response = HttpResponse(url, res.status_code, res.reason or "", dict(res.headers), content, method)
        except requests.exceptions.ConnectTimeout:
            raise CouldNotCheck(f"connecting to {url} timed out", self._remedy(url)) from None
        except requests.exceptions.ReadTimeout:
            raise CouldNotCheck(f"{url} accepted the connection but did not answer within {READ_TIMEOUT} s",
                                "a server in the guest is stuck; restart it, e.g. `sudo systemctl restart nginx`") \
                from None
        except requests.exceptions.SSLError as exc:
            raise _tls_failure(url, exc) from None
        except requests.exceptions.ConnectionError as exc:
            if _caused_by(exc, "ReadTimeoutError"):  # headers came, then the body stalled
                raise CouldNotCheck(f"{url} started an answer but stopped sending within {READ_TIMEOUT} s",
                                    "a server in the guest is stuck; restart it") from None
            if _caused_by(exc, "ConnectionRefusedError") or "Connection refused" in str(exc):
                raise CouldNotCheck(f"nothing accepts connections at {origin}", self._remedy(url)) from None
            # The forwarded port accepted, but the guest closed the connection:
            # nothing listens on the guest's side. That is the student's to fix.
            guest_port = 443 if url.startswith("https:") else 80
            raise Fail(f"the connection to {url} was closed without an answer",
                       hint=f"nothing answers on the guest's port {guest_port}: is nginx running and listening "
                            "there? try `sudo systemctl status nginx` and `sudo ss -ltnp` in the guest") from None
        self._log.append(f"{method} {url} -> {response.status_line}")
        return response

    def _remedy(self, url):
        if url.startswith("https:") and not self.base_url.startswith("https:"):
            return ("is the guest's port 443 forwarded? check the Vagrantfile's forwarded_port lines, "
                    "then `vagrant reload`")
        return self.unreachable_remedy

    def tls_handshake(self, timeout=CONNECT_TIMEOUT + READ_TIMEOUT):
        """Shake hands with the guest's HTTPS port, without trusting anything.

        Returns (TLS version, the server's certificate in DER form), for checks
        that judge a self-signed certificate themselves.
        """
        import socket
        import ssl  # here, not at the top: the checker's start-up stays quick

        url = self.https_url()
        parts = urlsplit(url)
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        try:
            with socket.create_connection((parts.hostname, parts.port or 443), timeout=timeout) as raw:
                with context.wrap_socket(raw, server_hostname=parts.hostname) as tls:
                    version, der = tls.version(), tls.getpeercert(binary_form=True)
        except ConnectionRefusedError:
            raise CouldNotCheck(f"nothing accepts connections at {url}", self._remedy(url)) from None
        except TimeoutError:
            raise CouldNotCheck(f"{url} did not finish a TLS handshake within {timeout} s",
                                "a server in the guest is stuck; restart it, e.g. `sudo systemctl restart nginx`") \
                from None
        except OSError as exc:  # ssl.SSLError included
            raise _tls_failure(url, exc) from None
        self._log.append(f"TLS handshake with {url}: {version}")
        return version, der


def _chain(exc):
    """exc and the exceptions inside it: requests wraps urllib3's, which wrap the socket's."""
    seen, hops = exc, 0
    while seen is not None and hops < 10:
        yield seen
        inner = getattr(seen, "reason", None)
        if not isinstance(inner, BaseException):
            inner = seen.args[0] if seen.args and isinstance(seen.args[0], BaseException) else None
        seen, hops = inner or seen.__cause__ or seen.__context__, hops + 1


def _caused_by(exc, name):
    """Whether an exception of class `name` is anywhere in exc's chain."""
    return any(any(cls.__name__ == name for cls in type(seen).__mro__) for seen in _chain(exc))


def _tls_failure(url, exc):
    """A failed handshake, told as what the student sees and can fix."""
    reason = _tls_reason(exc)
    if reason == "WRONG_VERSION_NUMBER":
        return Fail(f"{url} answered in plain HTTP, not TLS ({reason})",
                    hint="add `ssl` to the listen line: `listen 443 ssl;`")
    if "EOF" in reason or "reset" in reason:
        return Fail(f"{url} closed the connection before a TLS handshake ({reason})",
                    hint="does anything listen on the guest's port 443? nginx needs a server block with "
                         "`listen 443 ssl;`; `sudo ss -ltnp` in the guest shows the listeners")
    return Fail(f"{url} did not complete a TLS handshake ({reason})",
                hint="the server block for port 443 needs `listen 443 ssl;` with `ssl_certificate` and "
                     "`ssl_certificate_key`; see `sudo nginx -T`")


def _tls_reason(exc):
    """Why a handshake failed, in OpenSSL's words (e.g. WRONG_VERSION_NUMBER) when it has some."""
    for seen in _chain(exc):
        reason = getattr(seen, "reason", None)
        if isinstance(reason, str) and reason:
            return reason
        if isinstance(getattr(seen, "strerror", None), str):
            return seen.strerror.lower()
    return type(exc).__name__


def _read_capped(res, url):
    chunks, size = [], 0
    for chunk in res.iter_content(65536):
        size += len(chunk)
        if size > MAX_BODY:
            raise CouldNotCheck(f"{url} sent more than {MAX_BODY // 1024 // 1024} MiB",
                                "a page that large is not what the lab serves; is the right server answering?")
        chunks.append(chunk)
    return b"".join(chunks)
