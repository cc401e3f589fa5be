"""Step 1's forwarded_port_private per provider: a port open on the network fails the
student on VirtualBox and libvirt, which bind to the host_ip the Vagrantfile gives;
on Parallels and VMware, which ignore host_ip, it is not applicable, not a failure.

The guest is a stand-in with the Vagrant transport's own provider logic; the web
port is a real socket, bound to 127.0.0.1 or to every interface."""

import socket

import pytest

from checks import step01_vm
from lab.engine.context import Settings
from lab.engine.results import FAILED, NOT_APPLICABLE, PASSED
from lab.engine.runner import run_one
from lab.transports.base import Transport
from lab.transports.vagrant import VagrantTransport, created_machine


class ProviderGuest(Transport):
    """A vagrant:// guest made by `provider`, whose forwarded web port is `port` on this machine."""

    scheme = "vagrant"
    loopback_forwarding_refused = VagrantTransport.loopback_forwarding_refused

    def __init__(self, provider, port):
        self.provider = provider
        self.http_base = f"http://127.0.0.1:{port}"

    def run_command(self, command, timeout):
        raise AssertionError(f"the check ran {command!r}; it needs no guest command")


@pytest.fixture(params=["loopback", "every interface"])
def web_port(request):
    """A listening port like Vagrant's forward: on 127.0.0.1 only, or on every interface."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1" if request.param == "loopback" else "0.0.0.0", 0))
        listener.listen()
        yield request.param, listener.getsockname()[1]


@pytest.fixture(autouse=True)
def network_address(monkeypatch):
    """127.0.0.2 stands for this machine's address on the network: a socket bound to
    127.0.0.1 refuses it, one bound to every interface accepts it."""
    monkeypatch.setattr(step01_vm.host, "own_addresses", lambda: ["127.0.0.2"])


def verdict(provider, port, tmp_path):
    return run_one(step01_vm.forwarded_port_private, ProviderGuest(provider, port), Settings(root=tmp_path))


@pytest.mark.parametrize("provider", ["virtualbox", "libvirt"])
def test_providers_that_honour_host_ip_are_graded(provider, web_port, tmp_path):
    bound, port = web_port
    result = verdict(provider, port, tmp_path)
    if bound == "loopback":
        assert result.status == PASSED, result.rationale
    else:
        assert result.status == FAILED
        assert "also accepts them on 127.0.0.2" in result.rationale
        assert 'host_ip: "127.0.0.1"' in result.hint


@pytest.mark.parametrize("provider, name", [("parallels", "Parallels Desktop"), ("vmware_desktop", "VMware")])
def test_providers_that_ignore_host_ip_make_it_not_applicable(provider, name, web_port, tmp_path):
    _, port = web_port
    result = verdict(provider, port, tmp_path)
    assert result.status == NOT_APPLICABLE
    assert result.max_points == result.score == 0  # counts neither way
    assert result.rationale.startswith(f"{name} (the {provider} provider) forwards ports on every network "
                                       f"interface of your computer and ignores host_ip")
    assert "not your doing" in result.rationale


def test_the_provider_is_the_folder_vagrant_keeps_the_id_in(tmp_path):
    machines = tmp_path / ".vagrant" / "machines" / "default"
    assert created_machine(tmp_path, "default") == (None, None)
    (machines / "virtualbox").mkdir(parents=True)
    (machines / "virtualbox" / "id").write_text("")  # destroyed: Vagrant empties the file
    (machines / "parallels").mkdir()
    (machines / "parallels" / "id").write_text("4d2e-uuid\n")
    assert created_machine(tmp_path, "default") == ("parallels", "4d2e-uuid")
