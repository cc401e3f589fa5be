"""Reference solution of step 7: gunicorn with 3 workers on a unix socket,
nginx proxying to that socket, nothing on port 8080 any more."""

import os
import time

from guestconf import (apt_install, daemon_reload, enable_now, ensure_system_user, install_template, reload_nginx,
                       sync_tree)

SOCKET = "/run/likes/gunicorn.sock"

apt_install("gunicorn")
# nginx (www-data) connects to the socket through its group.
ensure_system_user("www-data", home="/var/www", groups=["likes"])
code_changed = sync_tree("/vagrant/sample_app", "/opt/likes/sample_app")
changed = install_template("gunicorn/likes.conf.py.j2", "/etc/likes/gunicorn.conf.py", socket=SOCKET, workers=3,
                           unit="likes")
unit_changed = install_template("systemd/likes.service.j2", "/etc/systemd/system/likes.service", gunicorn=True,
                                workers=3)
if unit_changed:
    daemon_reload()
enable_now("likes", restart=changed or unit_changed or code_changed)
for _ in range(60):
    if os.path.exists(SOCKET):
        break
    time.sleep(1)
else:
    raise SystemExit(f"gunicorn did not create {SOCKET}; see `journalctl -u likes`")

if install_template("nginx/likes.conf.j2", "/etc/nginx/sites-available/likes", listen_port=80,
                    app_servers=[f"unix:{SOCKET}"], static_root="/vagrant/sample_app/static", shared_folder=True) \
        or unit_changed:
    reload_nginx()
