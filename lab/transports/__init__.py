"""How the checker reaches the machine it grades, chosen by the URL's scheme.

    vagrant://default              the Vagrant machine of the lab folder (the default)
    ssh://user@host:port?key=PATH  any server reachable over SSH, such as a cloud VM
    local://                       this machine: run the checker inside the guest itself

Each transport runs shell commands and says where the guest's web server is
reached; everything a check asserts is built on top, in lab.guest.
"""

import importlib

from lab.core.guests import GUEST_KINDS
from lab.core.outcomes import CouldNotCheck
from lab.transports.address import shown

DEFAULT_GUEST = "vagrant://default"


def transport_class(url):
    # Only the scheme, read by hand: urlsplit would raise on a bad host before the scheme is known.
    scheme = url.partition("://")[0].lower() if "://" in url else ""
    if scheme not in GUEST_KINDS:
        raise CouldNotCheck(f"unknown guest address {shown(url)!r}",
                            f"use one of {', '.join(s + '://' for s in GUEST_KINDS)}")
    module, _, name = GUEST_KINDS[scheme].partition(":")
    return getattr(importlib.import_module(module), name)


def open_transport(url, settings):
    """Connect to the guest named by url; raises CouldNotCheck with a remedy if it can't."""
    return transport_class(url).from_url(url, settings)


def check_url(url):
    """Raise CouldNotCheck if url is not a guest address its transport can use, connecting to nothing:
    every part of it is checked (see lab.transports.address)."""
    transport_class(url).parse_url(url)
