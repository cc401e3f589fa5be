"""Writing a file so that a reader, or a run interrupted half-way, never sees half of it.

The student's progress, the cached Vagrant lookups, the kit's record of the
steps it solved in the guest, the gradebook and each student's reports all
go through write_atomically, and so do the files the reference solutions
install in the guest: this module is part of the guest-safe core.
"""

import contextlib
import os
import secrets
from pathlib import Path


def write_atomically(path, text, *, encoding="utf-8", mode=None):
    """Replace path with text in one step, through a temporary file beside it
    that no other run can share (a random name, created exclusively).

    The text is written as given, with no newline translation. mode: the new
    file's permission bits; None leaves them to the umask, as open() would.
    """
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    # 0o666, unlike mkstemp's 0o600, lets the umask decide, as for any file the user writes.
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with open(fd, "w", encoding=encoding, newline="") as file:
            file.write(text)
        if mode is not None:
            os.chmod(temporary, mode)  # exactly these bits, whatever the umask took away
        os.replace(temporary, path)  # atomic on one file system, Windows included
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
