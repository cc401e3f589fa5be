"""Reference solution of step 3: the app on Bottle's development server, in the
background, on 127.0.0.1:8080, its output in ~vagrant/likes.log and its
database in /var/lib/likes (on the guest's disk, never the shared folder)."""

import socket
import subprocess
import time

from deployment import runs_dev_server
from guestconf import apt_install, ensure_dir, record, say

apt_install("python3-bottle")


def answering(port=8080):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


if not runs_dev_server():
    say("  the app runs as a systemd service from step 6 on: no development server needed")
else:
    ensure_dir("/var/lib/likes", owner="vagrant", group="vagrant", mode=0o755)

if runs_dev_server() and answering():
    say("  the development server already answers on 127.0.0.1:8080")
elif runs_dev_server():
    # runuser: start it as the vagrant user, as a student would. setsid and
    # nohup detach it from this provisioning session so it keeps running.
    subprocess.run(["runuser", "-u", "vagrant", "--", "sh", "-c",
                    "cd /vagrant && nohup setsid python3 -m sample_app --host 127.0.0.1 --port 8080 "
                    "--db /var/lib/likes/likes.db >> /home/vagrant/likes.log 2>&1 < /dev/null &"], check=True)
    for _ in range(60):
        if answering():
            break
        time.sleep(1)
    else:
        raise SystemExit("the development server did not start; see /home/vagrant/likes.log")
    record("started the development server in the background (log: /home/vagrant/likes.log)")
