"""Three facts checks observe instead of reading configuration, against this
machine's real processes and permissions: which files a process holds open
(steps 3 and 6: the database), the folder it runs in (step 6: the app's copy),
and who may connect to a unix socket (step 7: closed to others by its mode or
its folder's)."""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from lab.guest.system import Guest
from lab.transports.local import LocalTransport
from tests.support.localservers import DevServer, Gunicorn
from tests.support.otheruser import user_in_a_group


@pytest.fixture(scope="module")
def member():
    if subprocess.run(["sudo", "-n", "true"], capture_output=True).returncode != 0:
        pytest.skip("the probes need sudo without a password, as in the guest")
    with user_in_a_group() as (user, group):
        yield user, group


@pytest.fixture
def base():
    """A folder every user can enter (pytest's tmp_path is root's alone), with a space in its name."""
    folder = Path(tempfile.mkdtemp(prefix="lab sockets ", dir="/tmp"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder)


def listening_socket(folder, folder_mode, socket_mode, group):
    """A unix socket listening in a folder of its own, both with the group and modes given."""
    folder.mkdir()
    shutil.chown(folder, group=group)
    folder.chmod(folder_mode)
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(folder / "app.sock"))
    server.listen()
    shutil.chown(folder / "app.sock", group=group)
    (folder / "app.sock").chmod(socket_mode)
    return server


@pytest.mark.parametrize("folder_mode, socket_mode, member_in, outsider_in", [
    (0o750, 0o770, True, False),   # the exercise's: --umask 007 in a RuntimeDirectoryMode=0750 folder
    (0o755, 0o770, True, False),   # the socket's own mode keeps others out
    (0o750, 0o777, True, False),   # the folder does
    (0o755, 0o777, True, True),    # nothing does
    (0o700, 0o770, False, False),  # a folder the group may not enter keeps nginx out too
], ids=["exercise", "socket-closed", "folder-closed", "open", "folder-root-only"])
def test_who_may_connect_is_what_the_modes_allow(member, base, folder_mode, socket_mode, member_in, outsider_in):
    user, group = member
    server = listening_socket(base / "run", folder_mode, socket_mode, group)
    try:
        sock = Guest(LocalTransport()).socket(f"unix://{base / 'run' / 'app.sock'}")
        assert sock.accepts(user) is member_in
        assert sock.accepts("nobody") is outsider_in
    finally:
        server.close()


HOLDER = """\
import socket, sys, time
held = open(sys.argv[1], "a")
listening = socket.socket()
listening.bind(("127.0.0.1", 0))
listening.listen()
print("ready", flush=True)
time.sleep(60)
"""


def holding(path, cwd=None):
    """A process that holds path open (and a socket, which is not a file), once it says so."""
    child = subprocess.Popen([sys.executable, "-c", HOLDER, str(path)], stdout=subprocess.PIPE, text=True, cwd=cwd)
    assert child.stdout.readline() == "ready\n"
    return child


def test_the_files_a_process_holds_open_are_what_it_opened(base):
    database = base / "its likes.db"
    child = holding(database)
    try:
        held = Guest(LocalTransport()).open_files([child.pid])
        assert str(database) in held
        assert not any(path.startswith(("socket:", "pipe:")) for path in held)
    finally:
        child.kill()
        child.wait()


def test_a_process_that_has_gone_holds_nothing_and_the_others_still_answer(base):
    database = base / "likes.db"
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    child = holding(database)
    try:
        deadline = time.monotonic() + 5
        while os.path.exists(f"/proc/{gone.pid}") and time.monotonic() < deadline:
            time.sleep(0.1)
        held = Guest(LocalTransport()).open_files([gone.pid, child.pid])
        assert str(database) in held
        assert Guest(LocalTransport()).open_files([]) == set()
    finally:
        child.kill()
        child.wait()


def test_the_folder_a_process_runs_in_is_its_cwd(base):
    (base / "opt likes").mkdir()
    child = holding(base / "likes.db", cwd=base / "opt likes")
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    try:
        guest = Guest(LocalTransport())
        assert guest.cwd_of(child.pid) == str(base / "opt likes")
        assert guest.cwd_of(gone.pid) is None
    finally:
        child.kill()
        child.wait()


@pytest.mark.parametrize("server", ["dev server", "gunicorn"])
def test_an_app_server_holds_its_database_open_once_it_has_answered(tmp_path, server):
    """What steps 3 and 6 observe: the likes app opens its database on its first request
    and keeps it open, so after an answer its processes hold the file it really uses,
    whatever its unit or command line merely mention."""
    database = tmp_path / "its likes.db"
    if server == "dev server":
        running = DevServer(tmp_path / "dev", database)
    else:
        running = Gunicorn(tmp_path / "gunicorn", database, workers=2)
    with running:
        pids = [running.proc.pid]
        if server == "gunicorn":
            running.wait_for_workers()
            pids += running.worker_pids()
        guest = Guest(LocalTransport())
        assert str(database) not in guest.open_files(pids)  # nothing asked yet: nothing opened
        assert str(database) in guest.held_after_answering(pids)
