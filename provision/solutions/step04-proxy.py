"""Reference solution of step 4: nginx passes every request to the app."""

from deployment import install_site, installs
from guestconf import reload_nginx

if installs("site") and install_site():
    reload_nginx()
