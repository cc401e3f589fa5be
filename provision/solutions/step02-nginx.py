"""Reference solution of step 2: nginx installed, running, and started at boot."""

from guestconf import apt_install, enable_now

apt_install("nginx")
enable_now("nginx")
