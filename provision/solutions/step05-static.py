"""Reference solution of step 5: nginx serves /static/ from the shared folder itself."""

import grp

from deployment import install_site, installs
from guestconf import record, reload_nginx, run

# On VirtualBox, /vagrant belongs to the group vagrant and nginx's user
# www-data may not read it: let www-data into that group.
changed = False
if "www-data" not in grp.getgrnam("vagrant").gr_mem:
    run("usermod", "--append", "--groups", "vagrant", "www-data")
    record("added www-data to the group vagrant")
    changed = True
if (installs("site") and install_site()) or changed:
    reload_nginx()
