"""Reference solution of step 9: ufw on, incoming traffic denied but for SSH, HTTP and HTTPS."""

from guestconf import apt_install, record, run

apt_install("ufw")
status = run("ufw", "status", "verbose", capture_output=True, text=True).stdout
wanted_rules = ["22/tcp", "80/tcp", "443/tcp"]
# SSH first: enabling a firewall that blocks port 22 would lock Vagrant out.
for rule in wanted_rules:
    if not any(line.startswith(rule) and "ALLOW IN" in line for line in status.splitlines()):
        run("ufw", "allow", rule, capture_output=True)
        record(f"ufw allows {rule}")
if "Default: deny (incoming)" not in status:
    run("ufw", "default", "deny", "incoming", capture_output=True)
    record("ufw denies other incoming traffic")
if "Status: active" not in status:
    run("ufw", "--force", "enable", capture_output=True)
    record("ufw enabled (and started at boot)")
