"""Reference solution of step 8: three gunicorn instances from a templated unit
(likes@1..3), each on its own unix socket, behind one nginx upstream."""

import os

from deployment import INSTANCES, install_code, install_gunicorn_settings, install_site, instance_sockets, installs
from guestconf import daemon_reload, disable_now, enable_now, install_template, reload_nginx, wait_until

code_changed = installs("code") and install_code()
settings_changed = installs("gunicorn_settings") and install_gunicorn_settings()
unit_changed = install_template("systemd/likes@.service.j2", "/etc/systemd/system/likes@.service")
if unit_changed:
    daemon_reload()
if installs("app_server"):  # the instances replace the single service
    disable_now("likes")
for instance in INSTANCES:
    enable_now(f"likes@{instance}", restart=settings_changed or unit_changed or code_changed)
for sock in instance_sockets():
    wait_until(lambda: os.path.exists(sock), f"gunicorn did not create {sock}; see `journalctl -u 'likes@*'`")

if installs("site") and install_site():
    reload_nginx()
