"""Reference solution of step 9: ufw on, incoming traffic denied but for SSH, HTTP and HTTPS."""

import os

from facts import FIREWALL_PORTS
from guestconf import apt_install, record, run

# The checker's reader of ufw's output (guestconf, imported above, puts the lab
# folder on the path for it), so that the solution and the checker
# agree on what a rule lets in: a rule the student already made, such as
# `ufw allow OpenSSH` or `ufw allow 'Nginx Full'`, is not added again.
from lab.core.ufw import parse_ufw_status

apt_install("ufw")
# ufw translates its output; the reader knows the English words.
status = parse_ufw_status(run("ufw", "status", "verbose", capture_output=True, text=True,
                              env={**os.environ, "LC_ALL": "C"}).stdout)
# SSH first (FIREWALL_PORTS starts with it): enabling a firewall that blocks
# it would lock Vagrant out.
for port in FIREWALL_PORTS:
    if not status.lets_in(port):
        run("ufw", "allow", f"{port}/tcp", capture_output=True)
        record(f"ufw allows {port}/tcp")
if status.default_incoming not in ("deny", "reject"):
    run("ufw", "default", "deny", "incoming", capture_output=True)
    record("ufw denies other incoming traffic")
if not status.active:
    run("ufw", "--force", "enable", capture_output=True)
    record("ufw enabled (and started at boot)")
