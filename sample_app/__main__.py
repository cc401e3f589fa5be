"""Run the likes app on Bottle's development server.

    python3 -m sample_app --host 127.0.0.1 --port 8080 --db /var/lib/likes/likes.db

Each request is logged to standard output, so a server started in the
background with `> app.log 2>&1 &` leaves an access log a student can read.
"""

import argparse
import errno
import sys
from wsgiref.simple_server import WSGIRequestHandler

import bottle

from . import storage
from .app import app


class StdoutRequestHandler(WSGIRequestHandler):
    """wsgiref logs to stderr by default; the lab reads the access log on stdout."""

    def address_string(self):
        # Skip wsgiref's reverse DNS lookup, which can stall every request.
        return self.client_address[0]

    def log_message(self, format, *args):
        sys.stdout.write("%s - - [%s] %s\n" % (self.address_string(), self.log_date_time_string(), format % args))
        sys.stdout.flush()


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python3 -m sample_app", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    parser.add_argument("--port", type=int, default=8080, help="port to listen on (default: %(default)s)")
    parser.add_argument("--db", help="SQLite file (default: $LIKES_DB, else %s)" % storage.DEFAULT_DB)
    args = parser.parse_args(argv)

    db_path = storage.resolve_path(args.db)
    app.config["likes.db"] = db_path
    print(f"likes: database {db_path}", flush=True)
    try:
        bottle.run(app, server="wsgiref", host=args.host, port=args.port,
                   handler_class=StdoutRequestHandler, quiet=False)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            print(f"likes: port {args.port} on {args.host} is already in use; is another copy running? "
                  f"(see `ss -ltnp`)", file=sys.stderr)
        else:
            print(f"likes: cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
