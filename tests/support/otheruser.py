"""Run a command as a user that file permission bits apply to.

Root reads and writes whatever it likes, so a test of a read-only folder or
an unreadable file that runs as root runs the command as nobody instead;
any other user is subject to the bits already.
"""

import os
import pwd
import shutil

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
