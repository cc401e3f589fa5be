"""HTTP from the student's machine to the guest's forwarded port.

Every request has a timeout and reads at most MAX_BODY bytes, so a hung or
runaway server turns into one clear sentence instead of a frozen checker.
"""

import json
from dataclasses import dataclass

from .outcomes import CouldNotCheck, Fail

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

    def json(self):
        """The body as JSON; an HTML page or other text stops the check with a clear reason."""
        try:
            return json.loads(self.content)
        except ValueError:
            kind = "an HTML page" if b"<html" in self.content[:2048].lower() else "something else"
            raise CouldNotCheck(f"expected JSON from {self.url}, got {kind} ({self.content_type or 'no type'})",
                                "is something other than the likes app answering there?") from None


class Http:
    """A requests session aimed at the guest's web server."""

    def __init__(self, base_url, unreachable_remedy="is the web server running?", log=None):
        self.base_url = base_url.rstrip("/")
        self.unreachable_remedy = unreachable_remedy
        self._log = log if log is not None else []
        self._session = None

    def _client(self):
        if self._session is None:
            import requests

            self._session = requests.Session()
            # Ignore HTTP_PROXY and friends: a student's proxy must not sit
            # between the checker and 127.0.0.1.
            self._session.trust_env = False
            self._session.headers["User-Agent"] = "lab-check"
        return self._session

    def url(self, path):
        return path if "://" in path else self.base_url + "/" + path.lstrip("/")

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path, **kwargs):
        return self.request("POST", path, **kwargs)

    def request(self, method, path, timeout=None, **kwargs):
        import requests

        url = self.url(path)
        kwargs.setdefault("allow_redirects", False)
        try:
            with self._client().request(method, url, stream=True, timeout=timeout or (CONNECT_TIMEOUT, READ_TIMEOUT),
                                        **kwargs) as res:
                content = _read_capped(res, url)
                response = HttpResponse(url, res.status_code, res.reason or "", dict(res.headers), content)
        except requests.exceptions.ConnectTimeout:
            raise CouldNotCheck(f"connecting to {url} timed out", self.unreachable_remedy) from None
        except requests.exceptions.ReadTimeout:
            raise CouldNotCheck(f"{url} accepted the connection but did not answer within {READ_TIMEOUT} s",
                                "a server in the guest is stuck; restart it, e.g. `sudo systemctl restart nginx`") \
                from None
        except requests.exceptions.ConnectionError as exc:
            if _caused_by(exc, "ReadTimeoutError"):  # headers came, then the body stalled
                raise CouldNotCheck(f"{url} started an answer but stopped sending within {READ_TIMEOUT} s",
                                    "a server in the guest is stuck; restart it") from None
            if _caused_by(exc, "ConnectionRefusedError") or "Connection refused" in str(exc):
                raise CouldNotCheck(f"nothing accepts connections at {self.base_url}", self.unreachable_remedy) \
                    from None
            # The forwarded port accepted, but the guest closed the connection:
            # nothing listens on the guest's side. That is the student's to fix.
            raise Fail(f"the connection to {url} was closed without an answer",
                       hint="nothing answers on the guest's port 80: is nginx running? "
                            "try `sudo systemctl status nginx` in the guest") from None
        self._log.append(f"{method} {url} -> {response.status_line}")
        return response


def _caused_by(exc, name):
    """Whether an exception of class `name` is anywhere in exc's chain (requests wraps urllib3's)."""
    seen, hops = exc, 0
    while seen is not None and hops < 10:
        if any(cls.__name__ == name for cls in type(seen).__mro__):
            return True
        inner = getattr(seen, "reason", None)
        if not isinstance(inner, BaseException):
            inner = seen.args[0] if seen.args and isinstance(seen.args[0], BaseException) else None
        seen, hops = inner or seen.__cause__ or seen.__context__, hops + 1
    return False


def _read_capped(res, url):
    chunks, size = [], 0
    for chunk in res.iter_content(65536):
        size += len(chunk)
        if size > MAX_BODY:
            raise CouldNotCheck(f"{url} sent more than {MAX_BODY // 1024 // 1024} MiB",
                                "a page that large is not what the lab serves; is the right server answering?")
        chunks.append(chunk)
    return b"".join(chunks)
