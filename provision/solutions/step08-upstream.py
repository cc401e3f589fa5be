"""Reference solution of step 8: the app's gunicorn instances from a templated
unit, each on its own unix socket, behind one nginx upstream."""

import os

from deployment import (
    install_code,
    install_gunicorn_settings,
    install_instance_service,
    install_site,
    installs,
    instance_sockets,
)
from facts import APP, INSTANCE_UNITS, instance_names, instance_unit
from guestconf import daemon_reload, disable_now, enable_now, reload_nginx, wait_until

code_changed = installs("code") and install_code()
settings_changed = installs("gunicorn_settings") and install_gunicorn_settings()
unit_changed = install_instance_service()
if unit_changed:
    daemon_reload()
if installs("app_server"):  # the instances replace the single service
    disable_now(APP)
for name in instance_names():
    enable_now(instance_unit(name), restart=settings_changed or unit_changed or code_changed)
for sock in instance_sockets():
    wait_until(lambda sock=sock: os.path.exists(sock),
               f"gunicorn did not create {sock}; see `journalctl -u '{INSTANCE_UNITS}'`")

if installs("site") and install_site():
    reload_nginx()
