"""Reference solution of step 3: the app on Bottle's development server, in the
background, on 127.0.0.1:8080, its output in ~vagrant/likes.log and its
database in /var/lib/likes (on the guest's disk, never the shared folder)."""

import subprocess

from deployment import installs
from guestconf import apt_install, ensure_dir, port_answers, record, say, wait_until

apt_install("python3-bottle")

if not installs("app_server"):
    say("  the app runs as a systemd service from step 6 on: no development server needed")
else:
    ensure_dir("/var/lib/likes", owner="vagrant", group="vagrant", mode=0o755)
    if port_answers(8080):
        say("  the development server already answers on 127.0.0.1:8080")
    else:
        # runuser: start it as the vagrant user, as a student would. setsid and
        # nohup detach it from this provisioning session so it keeps running.
        subprocess.run(["runuser", "-u", "vagrant", "--", "sh", "-c",
                        "cd /vagrant && nohup setsid python3 -m sample_app --host 127.0.0.1 --port 8080 "
                        "--db /var/lib/likes/likes.db >> /home/vagrant/likes.log 2>&1 < /dev/null &"], check=True)
        wait_until(lambda: port_answers(8080), "the development server did not start; see /home/vagrant/likes.log")
        record("started the development server in the background (log: /home/vagrant/likes.log)")
