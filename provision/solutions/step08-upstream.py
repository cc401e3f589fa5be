"""Reference solution of step 8: three gunicorn instances from a templated unit
(likes@1..3), each on its own unix socket, behind one nginx upstream."""

import os
import time

from guestconf import daemon_reload, disable_now, enable_now, install_template, reload_nginx, sync_tree

INSTANCES = ["1", "2", "3"]
sockets = [f"/run/likes-{i}/gunicorn.sock" for i in INSTANCES]

code_changed = sync_tree("/vagrant/sample_app", "/opt/likes/sample_app")
changed = install_template("gunicorn/likes.conf.py.j2", "/etc/likes/gunicorn.conf.py", socket=sockets[0],
                           workers=3, unit="likes@1")
unit_changed = install_template("systemd/likes@.service.j2", "/etc/systemd/system/likes@.service")
if unit_changed:
    daemon_reload()
disable_now("likes")
for instance in INSTANCES:
    enable_now(f"likes@{instance}", restart=changed or unit_changed or code_changed)
for sock in sockets:
    for _ in range(90):
        if os.path.exists(sock):
            break
        time.sleep(1)
    else:
        raise SystemExit(f"gunicorn did not create {sock}; see `journalctl -u 'likes@*'`")

if install_template("nginx/likes.conf.j2", "/etc/nginx/sites-available/likes", listen_port=80,
                    app_servers=[f"unix:{s}" for s in sockets], static_root="/vagrant/sample_app/static",
                    shared_folder=True):
    reload_nginx()
