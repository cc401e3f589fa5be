"""File.readable_by against this machine's real permissions: a user that a file's
group lets in only as a supplementary group reads it, a file or folder closed to
it is refused. And with a `test` that ignores supplementary groups, as uutils'
does on Ubuntu 26.04, the old `sudo -u USER test -r` probe is fooled and this one
is not."""

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from lab import CouldNotCheck
from lab.guest.system import Guest
from lab.transports.local import LocalTransport
from tests.support.otheruser import user_in_a_group

# test -r as uutils' test answers it (src/uu/test/src/test.rs, uutils/coreutils#9147):
# the mode bits against the effective uid and gid only, no supplementary groups.
UUTILS_TEST = """\
#!/usr/bin/python3
import os, sys
bit = {"-r": 4, "-w": 2, "-x": 1}[sys.argv[1]]
try:
    st = os.stat(sys.argv[2])
except OSError:
    sys.exit(1)
shift = 6 if os.geteuid() == st.st_uid else 3 if os.getegid() == st.st_gid else 0
sys.exit(0 if st.st_mode >> shift & bit else 1)
"""
# sudo run by root, keeping PATH as a secure_path with this folder first would: -n asks
# for nothing, -u USER changes user (runuser keeps PATH).
SUDO_AS_ROOT = """\
#!/bin/sh
user=
while :; do
    case $1 in -n) shift ;; -u) user=$2; shift 2 ;; --) shift; break ;; *) break ;; esac
done
[ -n "$user" ] && exec runuser -u "$user" -- "$@"
exec "$@"
"""


def old_probe(guest, user, path):
    """readable_by as it was before Ubuntu 26.04: a second sudo, and `test -r`."""
    return guest.run_expect((0, 1), "sudo -n -u %s test -r %s", user, path, sudo=True).ok


@pytest.fixture(scope="module")
def reader():
    if shutil.which("runuser") is None:
        pytest.skip("no runuser here")
    if subprocess.run(["sudo", "-n", "true"], capture_output=True).returncode != 0:
        pytest.skip("the probes need sudo without a password, as in the guest")
    with user_in_a_group() as (user, group):
        yield user, group


@pytest.fixture
def tree(reader):
    """Files and folders under a folder every user can enter (pytest's tmp_path is root's alone)."""
    _, group = reader
    base = Path(tempfile.mkdtemp(prefix="lab-readable-", dir="/tmp"))
    base.chmod(0o755)
    paths = {}
    for name, mode, in_group, is_folder in [("shared.css", 0o660, True, False), ("it's shared.css", 0o640, True, False),
                                             ("private.css", 0o600, False, False),
                                             ("shared", 0o750, True, True), ("private", 0o700, False, True)]:
        path = base / name
        path.mkdir() if is_folder else path.write_text("body {}\n")
        if in_group:
            shutil.chown(path, group=group)
        path.chmod(mode)
        paths[name] = str(path)
    (base / "private" / "open.css").write_text("body {}\n")
    (base / "private" / "open.css").chmod(0o644)
    paths["behind private"] = str(base / "private" / "open.css")
    paths["missing"] = str(base / "missing.css")
    yield paths
    shutil.rmtree(base)


def test_a_supplementary_group_lets_in_and_closed_files_and_folders_do_not(reader, tree):
    user, _ = reader
    guest = Guest(LocalTransport())
    readable = {name: guest.file(path).readable_by(user) for name, path in tree.items()}
    assert readable == {"shared.css": True, "it's shared.css": True, "private.css": False, "shared": True,
                        "private": False, "behind private": False, "missing": False}
    # GNU test, which asks access(2), agrees on this machine.
    assert {name: old_probe(guest, user, path) for name, path in tree.items()} == readable


def test_a_user_that_does_not_exist_is_could_not_check(tree):
    with pytest.raises(CouldNotCheck, match="does not exist"):
        Guest(LocalTransport()).file(tree["shared.css"]).readable_by("labnosuchuser")


def test_a_test_that_ignores_supplementary_groups_fools_the_old_probe_only(reader, tree, monkeypatch):
    user, _ = reader
    bin_dir = Path(tempfile.mkdtemp(prefix="lab-uutils-", dir="/tmp"))
    try:
        bin_dir.chmod(0o755)
        for name, text in (("test", UUTILS_TEST), ("sudo", SUDO_AS_ROOT)):
            (bin_dir / name).write_text(text)
            (bin_dir / name).chmod(0o755)
        monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
        guest = Guest(LocalTransport())
        # The fake test is the one that answers: it says no where the group lets the user in.
        assert not old_probe(guest, user, tree["shared.css"])
        assert guest.file(tree["shared.css"]).readable_by(user)
        assert guest.file(tree["shared"]).readable_by(user)
        assert not guest.file(tree["private.css"]).readable_by(user)
        assert not old_probe(guest, user, tree["private.css"])
    finally:
        shutil.rmtree(bin_dir)


def test_an_acl_lets_a_user_read_a_key_whose_mode_looks_closed(reader, tree):
    """Step 11's decoy: `setfacl -m u:USER:r` on a root-owned 600 key. The mode then reads 640
    root:root (the ACL's mask shows as the group bits), which a mode test takes for a key
    root alone reads; the probe opens it as the user, as the kernel decides."""
    if shutil.which("setfacl") is None:
        pytest.skip("no setfacl here (Debian's acl package)")
    user, _ = reader
    key = Path(tree["private.css"]).with_name("likes.key")
    key.write_text("-----BEGIN PRIVATE KEY-----\n")
    key.chmod(0o600)
    guest = Guest(LocalTransport())
    assert not guest.file(str(key)).readable_by(user)
    subprocess.run(["setfacl", "-m", f"u:{user}:r", str(key)], check=True)
    st = guest.file(str(key)).stat()
    assert (st.mode, st.owner, st.group) == (0o640, "root", "root")
    assert guest.file(str(key)).readable_by(user)
    assert not guest.file(str(key)).readable_by("nobody")
