"""Reference solution of step 12: a WSGI app written by hand in the student's home
folder, and the likes app on a second WSGI server, cheroot, beside gunicorn in
nginx's upstream."""

import os

from deployment import install_cheroot_service, install_hello, install_site, installs
from facts import CHEROOT_SERVICE, CHEROOT_SOCKET
from guestconf import apt_install, daemon_reload, enable_now, reload_nginx, wait_until

install_hello()
apt_install("python3-cheroot")
unit_changed = install_cheroot_service()
if unit_changed:
    daemon_reload()
enable_now(CHEROOT_SERVICE, restart=unit_changed)
wait_until(lambda: os.path.exists(CHEROOT_SOCKET),
           f"cheroot did not create {CHEROOT_SOCKET}; see `journalctl -u {CHEROOT_SERVICE}`")

if installs("site") and install_site():
    reload_nginx()
