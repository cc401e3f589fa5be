"""Reference solution of step 6: the app as a systemd service, as the user likes,
from a copy on the guest's disk, restarted if it fails and started at boot."""

import subprocess
import time

from deployment import install_code, install_single_service, installs
from guestconf import (chown_tree, daemon_reload, enable_now, ensure_dir, ensure_system_user, port_answers, record,
                       wait_until)

ensure_system_user("likes", home="/var/lib/likes")
# The development server of step 3 holds port 8080: stop it.
if subprocess.run(["pkill", "-u", "vagrant", "-f", "python3 -m sample_app"]).returncode == 0:
    record("stopped the development server of step 3")
    time.sleep(1)
code_changed = installs("code") and install_code()
ensure_dir("/var/lib/likes", owner="likes", group="likes", mode=0o750)
chown_tree("/var/lib/likes", "likes", "likes")

if installs("app_server"):  # step 7 changes it to gunicorn; step 8 replaces it
    unit_changed = install_single_service()
    if unit_changed:
        daemon_reload()
    enable_now("likes", restart=unit_changed or code_changed)
    wait_until(lambda: port_answers(8080),
               "likes.service did not start listening on 127.0.0.1:8080; see `journalctl -u likes`")
