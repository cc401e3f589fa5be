"""Guest addresses (issue 17, checker faults 3 and 4), in process: every part checked
before anything connects, one line naming the part, never a password repeated."""

import pytest

from lab.transports import check_url
from tests.support.bad_addresses import BAD_ADDRESSES, IDS


@pytest.mark.parametrize("address, message", BAD_ADDRESSES, ids=IDS)
def test_every_part_of_an_address_is_checked_before_connecting(address, message):
    with pytest.raises(Exception) as err:
        check_url(address)
    assert err.value.one_line() == f"the guest address {address!r}: {message}"


def test_a_password_in_an_address_is_never_repeated():
    with pytest.raises(Exception) as err:
        check_url("ssh://me:hunter2@host:99999")
    assert "hunter2" not in err.value.one_line()
    assert err.value.one_line().startswith("the guest address 'ssh://me:***@host:99999': the port '99999'")


@pytest.mark.parametrize("address", ["local://", "local:///", "local://?http=http://127.0.0.1:8080&https=https://[::1]",
                                     "ssh://host", "ssh://me@[::1]:2222?key=~/k&http=http://[::1]:8080/",
                                     "vagrant://default", "vagrant://", "vagrant://web-1"])
def test_good_addresses_pass(address):
    check_url(address)


def test_a_message_never_repeats_a_password_even_one_with_an_at_sign():
    from lab.transports.address import shown

    assert shown("ssh://me:s3cr@t@host:22") == "ssh://me:***@host:22"
    assert shown("local://?http=http://a:pw@h:1") == "local://?http=http://a:***@h:1"
    assert shown("ssh://me@host:22") == "ssh://me@host:22"
