#!/usr/bin/env bash
# Build a Debian Vagrant box the guest test tier boots with vagrant-libvirt.
#
#   tests/guest/build-box.sh RELEASE OUTPUT.box      (RELEASE: bookworm or trixie)
#
# The tier boots two releases whose package versions span those of the Ubuntu
# releases students use: Debian 12 (bookworm: nginx 1.22, Python 3.11,
# systemd 252, like Ubuntu 22.04/24.04) and Debian 13 (trixie: nginx 1.26,
# Python 3.13, systemd 257, ufw on nftables, like Ubuntu 26.04).
#
# Students use an Ubuntu box from Vagrant Cloud; the tests can't reach it, so
# they build their own from Debian's packages. The box boots its kernel
# directly (no bootloader), which keeps the build simple and the boot fast
# under qemu's software emulation. The test fixture caches the result, keyed
# by a hash of this file: change it and the box is rebuilt.
set -euo pipefail

release=${1:?usage: build-box.sh RELEASE OUTPUT.box}
case $release in
    bookworm | trixie) ;;
    *) echo "build-box: unknown release '$release' (bookworm or trixie)" >&2; exit 2 ;;
esac
out=$(realpath -m "${2:?usage: build-box.sh RELEASE OUTPUT.box}")
mirror=${LAB_DEBIAN_MIRROR:-http://deb.debian.org/debian}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rootfs="$work/rootfs"

echo "build-box: debootstrap $release into $rootfs"
debootstrap --variant=minbase \
    --include=linux-image-amd64,systemd-sysv,dbus,openssh-server,sudo,iproute2,ifupdown,isc-dhcp-client,netbase,python3,rsync,ca-certificates \
    "$release" "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 || { tail -30 "$work/debootstrap.log"; exit 1; }

echo "build-box: configuring the guest"
# Vagrant logs in as "vagrant" with its well-known insecure key, then uses
# passwordless sudo: the conventions every Vagrant box follows.
chroot "$rootfs" useradd --create-home --shell /bin/bash --groups sudo vagrant
echo "vagrant:vagrant" | chroot "$rootfs" chpasswd
install -d -m 700 -o 1000 -g 1000 "$rootfs/home/vagrant/.ssh"
install -m 600 -o 1000 -g 1000 /usr/share/rubygems-integration/all/gems/vagrant-*/keys/vagrant.pub \
    "$rootfs/home/vagrant/.ssh/authorized_keys"
echo "vagrant ALL=(ALL) NOPASSWD:ALL" >"$rootfs/etc/sudoers.d/vagrant"
chmod 440 "$rootfs/etc/sudoers.d/vagrant"

cat >"$rootfs/etc/network/interfaces" <<'NET'
auto lo
iface lo inet loopback

allow-hotplug eth0
iface eth0 inet dhcp
NET
echo "/dev/vda / ext4 defaults 0 1" >"$rootfs/etc/fstab"
echo "debian-box" >"$rootfs/etc/hostname"
# A reverse DNS lookup per login makes SSH slow on a network without DNS for the host.
echo "UseDNS no" >"$rootfs/etc/ssh/sshd_config.d/lab-box.conf"
# Each guest must make its own SSH host keys and machine id, not share the box's.
rm -f "$rootfs"/etc/ssh/ssh_host_*
cat >"$rootfs/etc/systemd/system/ssh-host-keys.service" <<'UNIT'
[Unit]
Description=Generate SSH host keys on first boot
Before=ssh.service
ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key

[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -A

[Install]
WantedBy=multi-user.target
UNIT
chroot "$rootfs" systemctl enable ssh-host-keys.service >/dev/null 2>&1
: >"$rootfs/etc/machine-id"
chroot "$rootfs" apt-get clean
rm -rf "$rootfs"/var/lib/apt/lists/*

echo "build-box: disk image"
cp "$rootfs"/boot/vmlinuz-* "$work/vmlinuz"
cp "$rootfs"/boot/initrd.img-* "$work/initrd.img"
mke2fs -q -t ext4 -L root -d "$rootfs" "$work/box.raw" 8G
qemu-img convert -c -O qcow2 "$work/box.raw" "$work/box.img"
rm -f "$work/box.raw"

echo '{"provider": "libvirt", "format": "qcow2", "virtual_size": 8}' >"$work/metadata.json"
cat >"$work/Vagrantfile" <<'BOXFILE'
# The box's own Vagrantfile: boot the kernel and initrd shipped beside the disk.
Vagrant.configure("2") do |config|
  config.vm.provider :libvirt do |libvirt|
    boxdir = File.expand_path(File.dirname(__FILE__))
    libvirt.kernel = File.join(boxdir, "vmlinuz")
    libvirt.initrd = File.join(boxdir, "initrd.img")
    libvirt.cmd_line = "root=/dev/vda rw console=ttyS0 net.ifnames=0"
  end
end
BOXFILE

mkdir -p "$(dirname "$out")"
tar -C "$work" -cf "$out.tmp" metadata.json Vagrantfile box.img vmlinuz initrd.img
mv "$out.tmp" "$out"
echo "build-box: wrote $out ($(du -h "$out" | cut -f1))"
