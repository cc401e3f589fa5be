"""The likes app: a page, a JSON API and static files, in one Bottle app.

Run it with `python3 -m sample_app`, or serve `sample_app.wsgi:application`
with any WSGI server such as gunicorn.
"""

import json
import os
import socket
from urllib.parse import parse_qs

from bottle import Bottle, HTTPResponse, SimpleTemplate, request, response, static_file

from . import __version__, storage

HERE = os.path.dirname(os.path.abspath(__file__))
STATIC_DIR = os.path.join(HERE, "static")
VIEWS_DIR = os.path.join(HERE, "views")

MAX_BODY = 16 * 1024  # bytes
# A refused body is still read (up to this much) before answering: a server that
# closes the connection while the client is sending makes nginx report a dead app.
DRAIN_LIMIT = 1024 * 1024
MAX_ITEMS = 50
MAX_ITEM_LENGTH = 200  # characters, after stripping

app = Bottle()

with open(os.path.join(VIEWS_DIR, "index.tpl"), encoding="utf-8") as f:
    # SimpleTemplate escapes every {{value}} for HTML, so a like such as
    # "<script>" is shown as text instead of running.
    INDEX = SimpleTemplate(f.read())


class BadRequest(Exception):
    """The request cannot be accepted; carries the HTTP status and a plain sentence."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


def json_response(payload, status=200, **headers):
    headers["Content-Type"] = "application/json"
    return HTTPResponse(json.dumps(payload), status=status, headers=headers)


def db():
    """This thread's database connection, kept open between requests."""
    return storage.connection(storage.resolve_path(app.config.get("likes.db")))


@app.get("/")
def index():
    likes = storage.list_likes(db())
    return INDEX.render(likes=likes, version=__version__)


@app.get("/likes")
def get_likes():
    return json_response({"likes": storage.list_likes(db())})


@app.post("/likes")
def post_likes():
    try:
        items, from_form = read_likes()
    except BadRequest as exc:
        return json_response({"error": exc.message}, status=exc.status)
    conn = db()
    likes = storage.add_likes(conn, items) if items else storage.list_likes(conn)
    if from_form:
        # A relative Location keeps the browser on whatever host:port it used,
        # even behind a proxy that rewrote the Host header.
        return HTTPResponse(status=303, headers={"Location": "/"})
    return json_response({"likes": likes}, status=201)


@app.get("/whoami")
def whoami():
    """Which process answered: later lab steps use it to tell servers apart."""
    env = request.environ
    return json_response({
        "app": "likes",
        "version": __version__,
        "pid": os.getpid(),
        "hostname": socket.gethostname(),
        "server": env.get("SERVER_SOFTWARE", "unknown"),
        "remote_addr": env.get("REMOTE_ADDR"),
        "x_forwarded_for": env.get("HTTP_X_FORWARDED_FOR"),
        "x_real_ip": env.get("HTTP_X_REAL_IP"),
        "x_forwarded_proto": env.get("HTTP_X_FORWARDED_PROTO"),
    })


@app.get("/static/<path:path>")
def static(path):
    # In production nginx serves /static/ itself; this route is for the
    # development server, and a lab check proves nginx took over.
    return static_file(path, root=STATIC_DIR)


def read_likes():
    """Parse and validate a POST body; return (items, came_from_a_form)."""
    declared = request.content_length
    if declared > MAX_BODY:
        drain(request.environ["wsgi.input"], min(declared, DRAIN_LIMIT))
        raise BadRequest(413, f"the request body is larger than {MAX_BODY} bytes")
    body = request.body.read(MAX_BODY + 1)
    if len(body) > MAX_BODY:
        raise BadRequest(413, f"the request body is larger than {MAX_BODY} bytes")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest(400, "the request body is not valid UTF-8") from None

    kind = (request.content_type or "").split(";")[0].strip().lower()
    if kind == "application/json":
        return validate(parse_json(text)), False
    if kind == "application/x-www-form-urlencoded":
        fields = parse_qs(text, keep_blank_values=True)
        if "likes" not in fields:
            raise BadRequest(400, "the form has no 'likes' field; to send JSON, set the header "
                                  "Content-Type: application/json")
        return validate({"likes": fields["likes"]}), True
    raise BadRequest(415, "send JSON with Content-Type: application/json, or a form post")


def drain(stream, size):
    while size > 0:
        chunk = stream.read(min(size, 65536))
        if not chunk:
            return
        size -= len(chunk)


def parse_json(text):
    try:
        return json.loads(text)
    except ValueError:
        raise BadRequest(400, 'the body is not valid JSON; send {"likes": ["cheese"]}') from None


def validate(payload):
    """Return the cleaned list of likes, or raise BadRequest saying what is wrong."""
    if not isinstance(payload, dict) or "likes" not in payload:
        raise BadRequest(400, 'the body must be a JSON object with a "likes" list, like {"likes": ["cheese"]}')
    raw = payload["likes"]
    if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
        raise BadRequest(400, '"likes" must be a list of strings')
    if len(raw) > MAX_ITEMS:
        raise BadRequest(400, f"at most {MAX_ITEMS} likes can be sent at once, got {len(raw)}")
    items = [item.strip() for item in raw]
    for item in items:
        if len(item) > MAX_ITEM_LENGTH:
            raise BadRequest(400, f"a like can be at most {MAX_ITEM_LENGTH} characters, got one of {len(item)}")
    return [item for item in items if item]


def _json_error(error):
    """Every error, even a 404 from the router, answers JSON with one sentence."""
    response.content_type = "application/json"
    messages = {
        403: f"access to {request.path} is not allowed",
        404: f"there is nothing at {request.path}",
        405: f"{request.method} is not allowed on {request.path}",
        500: "the server hit an error; the app's log has the details",
    }
    message = messages.get(error.status_code) or str(error.body or error.status_line)
    return json.dumps({"error": message})


for _code in (400, 403, 404, 405, 413, 415, 500):
    app.error(_code)(_json_error)
