"""Reference solution of step 3: the app on Bottle's development server, in the
background on loopback, its output in a log in the vagrant user's home and its
database on the guest's disk (never the shared folder)."""

import shlex
import subprocess

from deployment import installs
from facts import DB_DIR, DB_PATH, DEV_HOST, DEV_LOG, DEV_PORT, GUEST_USER, LAB_FOLDER
from guestconf import apt_install, ensure_dir, port_answers, record, say, wait_until

LOG = f"/home/{GUEST_USER}/{DEV_LOG}"

apt_install("python3-bottle")

if not installs("app_server"):
    say("  the app runs as a systemd service from step 6 on: no development server needed")
else:
    ensure_dir(DB_DIR, owner=GUEST_USER, group=GUEST_USER, mode=0o755)
    if port_answers(DEV_PORT):
        say(f"  the development server already answers on {DEV_HOST}:{DEV_PORT}")
    else:
        # runuser: start it as the vagrant user, as a student would. setsid and
        # nohup detach it from this provisioning session so it keeps running.
        command = (f"cd {shlex.quote(LAB_FOLDER)} && nohup setsid python3 -m sample_app --host {DEV_HOST} "
                   f"--port {DEV_PORT} --db {shlex.quote(DB_PATH)} >> {shlex.quote(LOG)} 2>&1 < /dev/null &")
        subprocess.run(["runuser", "-u", GUEST_USER, "--", "sh", "-c", command], check=True)
        wait_until(lambda: port_answers(DEV_PORT), f"the development server did not start; see {LOG}")
        record(f"started the development server in the background (log: {LOG})")
