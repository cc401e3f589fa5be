"""Bad key files in the guest address, through the real CLI against a real sshd: one line
that names the file and what is wrong, never `internal error`."""

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.support.otheruser import as_another_user
from tests.support.paths import COURSE, REPO
from tests.support.sshd import Sshd

# --- the key file, against a real sshd -----------------------------------------------------

@pytest.fixture(scope="module")
def sshd():
    workdir = Path(tempfile.mkdtemp(prefix="lab-sshd-"))
    with Sshd(workdir) as server:
        yield server
    shutil.rmtree(workdir)


def lab_check(*args, cwd, prefix=(), env=None):
    # PYTHONPATH: the code of this checkout, not whatever copy of lab/ the venv has installed.
    run = subprocess.run([*prefix, sys.executable, "-m", "lab.check", *args], cwd=cwd, capture_output=True,
                         text=True, timeout=60, env={**os.environ, "PYTHONIOENCODING": "utf-8",
                                                     "PYTHONPATH": str(REPO), "PYTHONDONTWRITEBYTECODE": "1",
                                                     **(env or {})})
    assert "Traceback" not in run.stdout + run.stderr and "internal error" not in run.stderr, run.stderr
    return run


def fault(run):
    assert run.returncode == 2, run.stdout + run.stderr
    lines = [line for line in run.stdout.splitlines() if "could not check" in line]
    assert len(lines) == 1, run.stdout
    return lines[0].strip()


REMEDY = "give the path of your private key, e.g. key=~/.ssh/id_ed25519"


@pytest.mark.parametrize("make, why, remedy", [
    (lambda d, key: d / "missing", "there is no such file", REMEDY),
    (lambda d, key: (d / "keys").mkdir() or d / "keys", "it is a folder", REMEDY),
    (lambda d, key: Path(f"{key}.pub"), "it is a public key", "give the private key beside it: key={key}"),
    (lambda d, key: (d / "notes").write_text("my key\n") and d / "notes", "it holds no private key", REMEDY),
], ids=["missing", "a folder", "the .pub", "not a key"])
def test_a_key_file_that_cannot_be_used(sshd, shared_dir, make, why, remedy):
    key = make(shared_dir, sshd.key)
    run = lab_check("--course", str(COURSE), "good", "--guest", f"ssh://root@127.0.0.1:{sshd.port}?key={key}",
                    cwd=shared_dir)
    assert fault(run) == f"could not check: cannot read the key file {key}: {why}: {remedy.format(key=sshd.key)}"


def test_a_key_file_the_user_cannot_read(sshd, shared_dir):
    prefix, uid = as_another_user()
    key = shared_dir / "root_only_key"
    shutil.copyfile(sshd.key, key)
    key.chmod(0o600)
    if uid == os.getuid():
        key.chmod(0o000)  # not root: take the owner's own permission away
    run = lab_check("--course", str(COURSE), "good", "--guest", f"ssh://root@127.0.0.1:{sshd.port}?key={key}",
                    cwd=shared_dir, prefix=prefix, env={"HOME": str(shared_dir)})
    assert fault(run) == (f"could not check: cannot read the key file {key}: permission denied: run the checker "
                          f"as the key's owner, or give a copy of the key that is yours")


def test_a_tilde_key_reaches_the_guest(sshd, shared_dir):
    home = shared_dir / "home"
    (home / ".ssh").mkdir(parents=True)
    shutil.copyfile(sshd.key, home / ".ssh" / "lab_key")
    (home / ".ssh" / "lab_key").chmod(0o600)
    run = lab_check("--course", str(COURSE), "good", "--guest",
                    f"ssh://root@127.0.0.1:{sshd.port}?key=~/.ssh/lab_key", cwd=shared_dir, env={"HOME": str(home)})
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.splitlines()[-1] == "good: 6/6"
