"""Reference solution of step 5: nginx serves /static/ from the shared folder itself."""

import grp

from deployment import install_site, installs
from facts import GUEST_USER, NGINX_USER
from guestconf import record, reload_nginx, run

# On VirtualBox, the shared folder belongs to the group vagrant and nginx's
# user may not read it: let nginx's user into that group.
changed = False
if NGINX_USER not in grp.getgrnam(GUEST_USER).gr_mem:
    run("usermod", "--append", "--groups", GUEST_USER, NGINX_USER)
    record(f"added {NGINX_USER} to the group {GUEST_USER}")
    changed = True
if (installs("site") and install_site()) or changed:
    reload_nginx()
