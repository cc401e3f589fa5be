"""A refused sudo in a real run of the checker is "could not check", never the
student's fault."""

import os
import subprocess
import sys

from tests.support.paths import COURSE, REPO


def test_refused_sudo_in_a_real_run_is_could_not_check(tmp_path):
    """local:// with a sudo that wants a password: the missing-file check must not blame the student."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake_sudo = bin_dir / "sudo"
    fake_sudo.write_text("#!/bin/sh\necho 'sudo: a password is required' >&2\nexit 1\n")
    fake_sudo.chmod(0o755)
    run = subprocess.run([sys.executable, "-m", "lab.check", "--course", str(COURSE), "--target", "missing_file",
                          "--guest", "local://"], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                         # PYTHONPATH: this checkout's lab package, whatever the venv has installed.
                         env={**os.environ, "PYTHONIOENCODING": "utf-8", "PYTHONPATH": str(REPO),
                              "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"})
    assert run.returncode == 2, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    assert "? /etc/lab-fixture-missing exists (0/2)" in lines[3]
    assert lines[4].startswith("      could not check: sudo in the guest refused to run `stat -L -c")
    assert lines[4].endswith("(sudo: a password is required): the checker needs sudo without a password in the "
                             "guest: connect as a user that has it (vagrant does), or add one with `sudo visudo`")
    assert "found nothing there" not in run.stdout
