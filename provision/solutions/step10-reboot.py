"""Reference solution of step 10: nginx stops announcing its version, and every
part of the deployment starts at boot. The reboot itself is `vagrant reload`."""

from facts import HARDENING_CONF, instance_names, instance_unit
from guestconf import enable_now, install_template, reload_nginx, say

if install_template("nginx/hardening.conf.j2", HARDENING_CONF):
    reload_nginx()
for unit in ["nginx", *(instance_unit(name) for name in instance_names()), "ufw"]:
    enable_now(unit)
say("  now restart the VM from your computer with `vagrant reload`: everything must come back by itself")
