"""Reference solution of step 6: the app as a systemd service, as its own system
user, from a copy on the guest's disk, restarted if it fails and started at boot."""

import subprocess
import time

from deployment import install_code, install_single_service, installs
from facts import APP, DB_DIR, DEV_HOST, DEV_PORT, GUEST_USER, SERVICE
from guestconf import (
    chown_tree,
    daemon_reload,
    enable_now,
    ensure_dir,
    ensure_system_user,
    port_answers,
    record,
    wait_until,
)

ensure_system_user(APP, home=DB_DIR)
# The development server of step 3 holds its port: stop it.
if subprocess.run(["pkill", "-u", GUEST_USER, "-f", "python3 -m sample_app"]).returncode == 0:
    record("stopped the development server of step 3")
    time.sleep(1)
code_changed = installs("code") and install_code()
ensure_dir(DB_DIR, owner=APP, group=APP, mode=0o750)
chown_tree(DB_DIR, APP, APP)

if installs("app_server"):  # step 7 changes it to gunicorn; step 8 replaces it
    unit_changed = install_single_service()
    if unit_changed:
        daemon_reload()
    enable_now(APP, restart=unit_changed or code_changed)
    wait_until(lambda: port_answers(DEV_PORT),
               f"{SERVICE} did not start listening on {DEV_HOST}:{DEV_PORT}; see `journalctl -u {APP}`")
