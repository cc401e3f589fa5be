"""What the checker learns about the student's own computer, the host.

Checks ask the guest almost everything; a few ask who on the host's network
could reach the VM. Kept here, not in a step's module, like the guest's probes.
"""


def own_addresses():
    """This computer's own non-loopback addresses (the ones its network can reach), sorted."""
    import ipaddress  # here, not above: `--list` imports every check module and must start fast
    import socket

    found = set()
    try:
        for info in socket.getaddrinfo(socket.gethostname(), None):
            found.add(info[4][0])
    except OSError:
        pass
    # Connecting a UDP socket sends nothing; it only asks the kernel which
    # local address would be used to reach the network.
    for family, probe in ((socket.AF_INET, "192.0.2.1"), (socket.AF_INET6, "2001:db8::1")):
        try:
            with socket.socket(family, socket.SOCK_DGRAM) as s:
                s.connect((probe, 9))
                found.add(s.getsockname()[0])
        except OSError:
            pass
    return sorted(a for a in found if not ipaddress.ip_address(a.split("%")[0]).is_loopback)


def accepts_connections(address, port, timeout=1):
    """Whether a TCP connection to address:port on this computer succeeds within timeout seconds."""
    import socket

    try:
        with socket.create_connection((address, port), timeout=timeout):
            return True
    except OSError:
        return False
