"""SQLite storage for the likes list.

Each thread of each process keeps its own connection: SQLite connections must
not be shared between threads or across gunicorn's fork, and opening one costs
more than the query it serves.
"""

import os
import sqlite3
import threading
import time

# Provisioning points LIKES_DB at /var/lib/likes/likes.db. The fallback lives
# in the user's data folder, never in the source tree: the source tree is a
# VirtualBox shared folder in the lab, and SQLite's locking breaks there.
DEFAULT_DB = os.path.join(
    os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share"),
    "likes",
    "likes.db",
)

# How long a writer waits for another process's write lock before giving up.
BUSY_TIMEOUT_MS = 10_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS likes (
    id    INTEGER PRIMARY KEY AUTOINCREMENT,
    thing TEXT NOT NULL
)
"""

_ready = set()
_ready_lock = threading.Lock()
_local = threading.local()


def resolve_path(configured=None):
    """The database file to use: explicit setting, then $LIKES_DB, then the default."""
    return configured or os.environ.get("LIKES_DB") or DEFAULT_DB


def connect(path):
    """Open a connection, creating the file and table the first time.

    The table is created if missing and never dropped, so data survives
    restarts.
    """
    # isolation_level=None: we issue BEGIN/COMMIT ourselves, so a request's
    # writes are exactly one transaction.
    if path not in _ready:
        ensure_parent(path)
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    if path not in _ready:
        with _ready_lock:
            if path not in _ready:
                prepare(conn)
                _ready.add(path)
    return conn


def prepare(conn):
    """Turn on WAL and create the table, once per database file.

    Several gunicorn workers open a new database at the same moment. Switching
    to WAL needs the file to itself, and SQLite answers "database is locked"
    at once instead of waiting (the busy timeout doesn't cover it), so try
    again until the busy timeout has passed.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            # WAL lets readers carry on while one writer commits. Once one
            # process has switched, the file stays WAL and the rest only read it.
            if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                conn.execute("PRAGMA journal_mode = WAL")
            conn.execute(_SCHEMA)
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(0.05)


def connection(path):
    """This thread's open connection to path, opened on first use."""
    # A connection inherited through fork() must never be used by the child.
    if getattr(_local, "pid", None) != os.getpid():
        _local.pid = os.getpid()
        _local.conns = {}
    conn = _local.conns.get(path)
    if conn is None:
        conn = _local.conns[path] = connect(path)
    return conn


def ensure_parent(path):
    """Create the database's folder if it does not exist yet."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)


def list_likes(conn):
    rows = conn.execute("SELECT thing FROM likes ORDER BY id")
    return [thing for (thing,) in rows]


def add_likes(conn, items):
    """Insert all items in one transaction and return the whole list after it."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.executemany("INSERT INTO likes (thing) VALUES (?)", [(i,) for i in items])
        result = list_likes(conn)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return result
