"""Reference solution of step 7: gunicorn with several workers on a unix socket,
nginx proxying to that socket, nothing on the development server's port any more."""

import os

from deployment import install_code, install_gunicorn_settings, install_single_service, install_site, installs
from facts import APP, NGINX_USER, SINGLE_SOCKET
from guestconf import apt_install, daemon_reload, enable_now, ensure_system_user, reload_nginx, wait_until

apt_install("gunicorn")
# nginx's user connects to the socket through the app's group.
ensure_system_user(NGINX_USER, home="/var/www", groups=[APP])
code_changed = installs("code") and install_code()

if installs("app_server"):  # from step 8 on, likes@.service replaces likes.service
    settings_changed = installs("gunicorn_settings") and install_gunicorn_settings()
    unit_changed = install_single_service()
    if unit_changed:
        daemon_reload()
    enable_now(APP, restart=settings_changed or unit_changed or code_changed)
    wait_until(lambda: os.path.exists(SINGLE_SOCKET),
               f"gunicorn did not create {SINGLE_SOCKET}; see `journalctl -u {APP}`")

if installs("site") and install_site():
    reload_nginx()
