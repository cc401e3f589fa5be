"""Fixtures shared by every tier. Kept import-light: the unit tier also runs
under Debian's python3 with python3-bottle 0.12 and python3-pytest."""

import sqlite3

import pytest

from tests.support.tiers import refuse_outside_tiers


def pytest_collection_modifyitems(items):
    refuse_outside_tiers(items)


@pytest.fixture(autouse=True)
def kit_solved_record(tmp_path, monkeypatch):
    """Where provision/solve.py records the steps it solved: a test's own file, never this
    machine's /var/lib/lab (the tests run solve.py's main as root)."""
    record = tmp_path / "kit-solved.json"
    monkeypatch.setenv("LAB_SOLVED_FILE", str(record))  # solve.py run in a subprocess, too
    return record


@pytest.fixture(scope="module")
def sshd(tmp_path_factory):
    """A real OpenSSH server on 127.0.0.1 that lets this user in with its own key."""
    from tests.support.sshd import Sshd

    with Sshd(tmp_path_factory.mktemp("sshd")) as server:
        yield server


@pytest.fixture
def shared_dir():
    """A folder sshd and every user can reach (pytest's tmp_path is private to its user)."""
    import shutil
    import tempfile
    from pathlib import Path

    folder = Path(tempfile.mkdtemp(prefix="lab-shared-", dir="/tmp"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder)


@pytest.fixture
def listening_port():
    """A port on 127.0.0.1 that accepts TCP connections and never says a word."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield sock.getsockname()[1]


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "likes.db"


def count_rows(path):
    """Rows in the likes table, read straight from the file with sqlite3.

    A database the app never wrote to (no file, or no table yet) has 0 rows.
    """
    if not path.exists():
        return 0
    conn = sqlite3.connect(str(path))
    try:
        if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'likes'").fetchone():
            return 0
        return conn.execute("SELECT COUNT(*) FROM likes").fetchone()[0]
    finally:
        conn.close()


@pytest.fixture
def rows(db_path):
    return lambda: count_rows(db_path)


@pytest.fixture
def kit(tmp_path):
    """A fresh copy of the kit, as a student's clone would be (no .git, .venv or VM state)."""
    import shutil

    from tests.support.guesthost import COPY_IGNORE
    from tests.support.localservers import REPO

    folder = tmp_path / "kit"
    shutil.copytree(REPO, folder, ignore=COPY_IGNORE)
    return folder


def pytest_report_header(config):
    import bottle

    return f"bottle {bottle.__version__} from {bottle.__file__}"
