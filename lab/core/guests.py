"""The kinds of guest the checker can grade, each named by the URL scheme that reaches it.

A check declares the kinds it is about (@check(applies_to=("vagrant",))) and
lab.transports opens a guest of each kind. Both read this one table, which
lives in the core so that the registry can refuse a kind that doesn't exist
without importing a transport (and paramiko with it).
"""

# scheme -> "module:Class" of its transport, imported by lab.transports only when used,
# so that listing steps never loads paramiko.
GUEST_KINDS = {
    "vagrant": "lab.transports.vagrant:VagrantTransport",
    "ssh": "lab.transports.ssh:SshTransport",
    "local": "lab.transports.local:LocalTransport",
}
