#!/usr/bin/env bash
# Reference solution of step 1: install `tree` with apt.
# (Bringing the VM up and sharing the folder is `vagrant up`'s work.)
set -euo pipefail

if dpkg-query -W -f='${Status}' tree 2>/dev/null | grep -q "install ok installed"; then
    exit 0  # solve.py says "nothing to change"
fi
# Wait up to 5 minutes for apt's lock: a fresh guest may be running
# unattended-upgrades in the background.
apt-get -o DPkg::Lock::Timeout=300 update -qq
DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq tree
# The same words as guestconf.record, which solve.py counts.
echo "  changed: installed tree"
