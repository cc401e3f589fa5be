"""Reference solution of step 10: nginx stops announcing its version, and every
part of the deployment starts at boot. The reboot itself is `vagrant reload`."""

from guestconf import enable_now, install_template, reload_nginx, say

if install_template("nginx/hardening.conf.j2", "/etc/nginx/conf.d/hardening.conf"):
    reload_nginx()
for unit in ["nginx", "likes@1", "likes@2", "likes@3", "ufw"]:
    enable_now(unit)
say("  now restart the VM from your computer with `vagrant reload`: everything must come back by itself")
