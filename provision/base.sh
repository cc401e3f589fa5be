#!/usr/bin/env bash
# Base provisioning: the first `vagrant up` runs this as root in the guest to
# bring it to the start of step 1. It installs only what the exercises take
# for granted; nginx, Bottle and gunicorn are the student's to install.
# Running it again changes nothing, and says so.
set -euo pipefail

# Tools the exercises use without installing them: curl to test web servers,
# sqlite3 to look into the app's database, python3 to run the app.
packages=(curl sqlite3 python3 ca-certificates)

changes=()

# Ubuntu's needrestart runs after every `apt install`. On Ubuntu 22.04 it
# stops there at a full-screen dialog, asking which services to restart, and
# at another whenever a newer kernel waits for a reboot; the exercises mention
# neither. Ubuntu 24.04 and later already restart services by themselves. This
# snippet (needrestart reads every file in its conf.d) makes every release
# behave alike, without a dialog. Guests without needrestart (Debian) skip it.
needrestart_conf=/etc/needrestart/conf.d/lab.conf
needrestart_text='# Installed by the lab kit (provision/base.sh), so that `apt install` never
# stops at a dialog that waits for a key.

# Restart the services that use an updated library at once, without asking:
# (a)utomatically. The other modes are (i)nteractive, a dialog that asks, which
# is what Ubuntu 22.04 does by default, and (l)ist only.
$nrconf{restart} = '"'a'"';

# Tell about a pending kernel upgrade in a line of text after `apt install`,
# not in a dialog: -1 is that mode; 0 would hide the hint altogether.
$nrconf{kernelhints} = -1;'
if [[ -d /etc/needrestart/conf.d && "$(cat "$needrestart_conf" 2>/dev/null)" != "$needrestart_text" ]]; then
    printf '%s\n' "$needrestart_text" >"$needrestart_conf"
    changes+=("wrote $needrestart_conf")
    echo "base: changed: wrote $needrestart_conf"
fi

missing=()
for pkg in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$pkg")
    fi
done

if ((${#missing[@]} == 0)); then
    if ((${#changes[@]} == 0)); then
        echo "base: nothing to change (${packages[*]} already installed)"
    fi
    exit 0
fi

# Another apt process may hold apt's locks for minutes: a package install
# started in another window, or Ubuntu's unattended-upgrades on boxes that
# have it. Wait for them instead of failing.
# (The same wait as APT_LOCK_TIMEOUT in provision/facts.py, which this script,
# run before the guest surely has Python, cannot import.)
apt_wait=(-o DPkg::Lock::Timeout=600)
export DEBIAN_FRONTEND=noninteractive
echo "base: installing ${missing[*]}"
# apt's progress lines would drown the result; keep them in a log shown only on failure.
log=$(mktemp)
if ! { apt-get "${apt_wait[@]}" update -qq && \
       apt-get "${apt_wait[@]}" install -y -qq --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
    tail -n 40 "$log"
    echo "base: installing ${missing[*]} failed" >&2
    exit 1
fi
rm -f "$log"
echo "base: changed: installed ${missing[*]}"
