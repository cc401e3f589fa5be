"""Run a command as a user that file permission bits apply to.

Root reads and writes whatever it likes, so a test of a read-only folder or
an unreadable file that runs as root runs the command as nobody instead;
any other user is subject to the bits already. user_in_a_group makes a user
that a file's group lets in only through a supplementary group.
"""

import grp
import os
import pwd
import shutil
import subprocess
from contextlib import contextmanager

import pytest


def as_another_user():
    """(the command prefix, the uid it runs as); skips the test where no such user can be had."""
    if os.geteuid() != 0:
        return [], os.getuid()
    if shutil.which("setpriv") is None:
        pytest.skip("running as root, and there is no setpriv to drop to nobody")
    try:
        nobody = pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("running as root, and there is no user nobody to drop to")
    return ["setpriv", f"--reuid={nobody.pw_uid}", f"--regid={nobody.pw_gid}", "--clear-groups"], nobody.pw_uid


@contextmanager
def user_in_a_group():
    """A new user (uid, gid nogroup) that is in a new group only as a supplementary group:
    yields (user name, group name), and removes both afterwards. Skips unless root."""
    if os.geteuid() != 0 or not all(shutil.which(tool) for tool in ("useradd", "groupadd", "userdel", "groupdel")):
        pytest.skip("a new user and group need root and useradd")
    try:
        grp.getgrnam("nogroup")
    except KeyError:
        pytest.skip("there is no group nogroup to make the new user's primary group")
    user, group = f"labreader{os.getpid()}", f"labshare{os.getpid()}"
    subprocess.run(["groupadd", group], check=True, capture_output=True)
    try:
        subprocess.run(["useradd", "-M", "-N", "-g", "nogroup", "-G", group, "-s", "/usr/sbin/nologin", user],
                       check=True, capture_output=True)
        try:
            yield user, group
        finally:
            subprocess.run(["userdel", user], check=True, capture_output=True)
    finally:
        subprocess.run(["groupdel", group], check=True, capture_output=True)
