"""A WSGI application in a file of the guest, observed two ways: called once by
the standard library's validator, and run as the program it is and asked over
HTTP. Both run in the guest as the user the checker connects as, under the
guest's own python3, with nothing but the standard library.
"""

import json
from typing import NamedTuple

# What the probe prints its answer after, so that whatever the student's module
# prints when it is imported can't be taken for the answer.
MARK = "LAB-WSGI-ANSWER "

# Loads the file without running its `if __name__ == "__main__":` block, and calls its
# `application` once through wsgiref.validate, which asserts the rules of PEP 3333 a
# callable must keep: start_response called with a str status and a list of (str, str)
# headers, bytes (never str) in the iterable it returns, and that iterable closed.
# A module that serves as it is imported never returns: the alarm says so.
CALL_PROBE = r"""
import json, runpy, signal, sys
from wsgiref.util import setup_testing_defaults
from wsgiref.validate import validator

MARK = sys.argv[3]


class Hung(BaseException):
    pass


def answer(**fields):
    print(MARK + json.dumps(fields), flush=True)
    sys.exit(0)


def alarm(signum, frame):
    raise Hung()


signal.signal(signal.SIGALRM, alarm)
signal.alarm(5)
try:
    namespace = runpy.run_path(sys.argv[1], run_name="lab_wsgi_probe")
except FileNotFoundError:
    answer(error="missing")
except Hung:
    answer(error="hung")
except BaseException as exc:
    answer(error="import", detail=f"{type(exc).__name__}: {exc}")
signal.alarm(0)  # the import returned: the call below has the transport's own time limit
application = namespace.get("application")
if not callable(application):
    answer(error="no_application", names=sorted(n for n in namespace if not n.startswith("_")))
environ = {"REQUEST_METHOD": "GET", "SCRIPT_NAME": "", "PATH_INFO": sys.argv[2], "QUERY_STRING": ""}
setup_testing_defaults(environ)
seen = {}


def start_response(status, headers, exc_info=None):
    seen["status"], seen["headers"] = status, headers
    return lambda data: None


try:
    result = validator(application)(environ, start_response)
    try:
        body = b"".join(result)
    finally:
        if hasattr(result, "close"):
            result.close()
except Hung:
    answer(error="hung")
except AssertionError as exc:
    answer(error="invalid", detail=str(exc))
except BaseException as exc:
    answer(error="raised", detail=f"{type(exc).__name__}: {exc}")
answer(status=seen.get("status"), headers=[list(h) for h in seen.get("headers") or []],
       body=body.decode("utf-8", "replace"))
"""

# Runs the file as a program for a few seconds and asks it for a path over HTTP,
# with curl, until it answers; then stops it. Where the student's own copy is
# already running on the port, this one can't bind and ends, and theirs answers.
SERVE_PROBE = r"""
timeout 10 python3 "$1" </dev/null >/dev/null 2>&1 &
started=$!
for _ in $(seq 1 50); do
    if curl -s -i -m 2 "$2"; then kill "$started" 2>/dev/null; exit 0; fi
    sleep 0.2
done
kill "$started" 2>/dev/null
exit 7
"""


class WsgiAnswer(NamedTuple):
    """What the callable did: an error ("missing", "hung", "import", "no_application",
    "invalid" for a rule of PEP 3333 broken, "raised") with its detail, or its
    status, headers and body."""

    error: str = ""
    detail: str = ""
    status: str = ""
    headers: tuple = ()
    body: str = ""

    def header(self, name):
        return next((value for key, value in self.headers if key.lower() == name.lower()), None)


def call_wsgi_file(guest, path, request_path):
    """Call the `application` in the guest's file `path` once, for a GET of request_path."""
    result = guest.run("python3 -c %s %s %s %s", CALL_PROBE, path, request_path, MARK, timeout=30)
    lines = [line[len(MARK):] for line in result.stdout.splitlines() if line.startswith(MARK)]
    if not lines:
        return WsgiAnswer(error="raised", detail=(result.stderr.strip().splitlines() or ["no answer"])[-1])
    fields = json.loads(lines[-1])
    if "names" in fields:
        fields["detail"] = ", ".join(fields.pop("names")) or "nothing"
    fields["headers"] = tuple(tuple(h) for h in fields.get("headers", ()))
    return WsgiAnswer(**fields)


class HttpAnswer(NamedTuple):
    status: int  # 0: nothing answered
    headers: dict
    body: str


def serve_file_and_get(guest, path, url):
    """Run the guest's file `path` as a program and GET url from inside the guest."""
    result = guest.run("sh -c %s sh %s %s", SERVE_PROBE, path, url, timeout=30)
    if result.rc != 0:
        return HttpAnswer(0, {}, "")
    head, _, body = result.stdout.replace("\r\n", "\n").partition("\n\n")
    lines = head.splitlines()
    words = lines[0].split() if lines else []  # "HTTP/1.0 200 OK"
    status = int(words[1]) if len(words) > 1 and words[1].isdigit() else 0
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return HttpAnswer(status, headers, body)
