"""What `vagrant ssh-config` prints, as real Vagrants print it, for the tests of its reader.

Vagrant's template (templates/commands/ssh_config/config.erb) leaves an empty
line before each IdentityFile, quotes a path only when it holds a space, and
lists the insecure keys after the machine's own when it could not yet replace
them (config.ssh.insert_key). Newer Vagrants add the PubkeyAcceptedKeyTypes
and HostKeyAlgorithms lines; older ones end at LogLevel.
"""

VIRTUALBOX_MACOS = """Host default
  HostName 127.0.0.1
  User vagrant
  Port 2222
  UserKnownHostsFile /dev/null
  StrictHostKeyChecking no
  PasswordAuthentication no

  IdentityFile "/Users/Jane Doé/lab/.vagrant/machines/default/virtualbox/private_key"
  IdentitiesOnly yes
  LogLevel FATAL
  PubkeyAcceptedKeyTypes +ssh-rsa
  HostKeyAlgorithms +ssh-rsa
"""

WINDOWS_FORWARD_SLASHES = """Host default
  HostName 127.0.0.1
  User vagrant
  Port 2200
  UserKnownHostsFile /dev/null
  StrictHostKeyChecking no
  PasswordAuthentication no

  IdentityFile "C:/Users/Jane Doé/lab/.vagrant/machines/default/virtualbox/private_key"
  IdentitiesOnly yes
  LogLevel FATAL
"""

WINDOWS_BACKSLASHES = r"""Host default
  HostName 127.0.0.1
  User vagrant
  Port 2222
  UserKnownHostsFile /dev/null
  StrictHostKeyChecking no
  PasswordAuthentication no

  IdentityFile "C:\Users\Jane Doé\lab\.vagrant\machines\default\virtualbox\private_key"

  IdentityFile C:\Users\jane\.vagrant.d\insecure_private_key
  IdentitiesOnly yes
  LogLevel FATAL
"""

# VirtualBox on Windows, for a user named "Jane Doé": Ruby writes forward slashes, and
# every path under the user's folder holds a space, so every one is quoted.
VIRTUALBOX_WINDOWS = """Host default
  HostName 127.0.0.1
  User vagrant
  Port 2222
  UserKnownHostsFile /dev/null
  StrictHostKeyChecking no
  PasswordAuthentication no

  IdentityFile "C:/Users/Jane Doé/lab/.vagrant/machines/default/virtualbox/private_key"

  IdentityFile "C:/Users/Jane Doé/.vagrant.d/insecure_private_keys/vagrant.key.ed25519"

  IdentityFile "C:/Users/Jane Doé/.vagrant.d/insecure_private_keys/vagrant.key.rsa"
  IdentitiesOnly yes
  LogLevel FATAL
  PubkeyAcceptedKeyTypes +ssh-rsa
  HostKeyAlgorithms +ssh-rsa
"""

# vagrant-libvirt on Linux: the guest's own address on libvirt's network, port 22.
LIBVIRT = """Host default
  HostName 192.168.121.45
  User vagrant
  Port 22
  UserKnownHostsFile /dev/null
  StrictHostKeyChecking no
  PasswordAuthentication no

  IdentityFile /home/jane/lab/.vagrant/machines/default/libvirt/private_key
  IdentitiesOnly yes
  LogLevel FATAL
  PubkeyAcceptedKeyTypes +ssh-rsa
  HostKeyAlgorithms +ssh-rsa
"""

# Parallels on a Mac (Apple silicon): the guest's address on Parallels' shared network.
PARALLELS = """Host default
  HostName 10.211.55.12
  User vagrant
  Port 22
  UserKnownHostsFile /dev/null
  StrictHostKeyChecking no
  PasswordAuthentication no

  IdentityFile /Users/jane/lab/.vagrant/machines/default/parallels/private_key
  IdentitiesOnly yes
  LogLevel FATAL
  PubkeyAcceptedKeyTypes +ssh-rsa
  HostKeyAlgorithms +ssh-rsa
"""

# When Vagrant could not put the machine's own key in place yet, it offers both.
INSECURE_KEY_FALLBACK = """Host default
  HostName 127.0.0.1
  User vagrant
  Port 2222
  UserKnownHostsFile /dev/null
  StrictHostKeyChecking no
  PasswordAuthentication no

  IdentityFile /home/jane/lab/.vagrant/machines/default/virtualbox/private_key

  IdentityFile /home/jane/.vagrant.d/insecure_private_key
  IdentitiesOnly yes
  LogLevel FATAL
"""
