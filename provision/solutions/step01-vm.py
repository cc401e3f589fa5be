"""Reference solution of step 1: install `tree` with apt.
(Bringing the VM up and sharing the folder is `vagrant up`'s work.)"""

from guestconf import apt_install

apt_install("tree")
