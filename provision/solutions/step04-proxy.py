"""Reference solution of step 4: nginx passes every request to the app."""

from deployment import install_site, writes
from guestconf import reload_nginx

if writes("site", 4) and install_site():
    reload_nginx()
