"""The guest's web answers (lab/guest/http.py): which redirects the checks follow to
HTTPS, and an answer that should be the app's JSON."""

import pytest

from lab import CouldNotCheck, Fail

# --- HTTP: which redirects the checks follow to HTTPS ---------------------------

@pytest.mark.parametrize("status, location, followed", [
    (301, "https://127.0.0.1:8443/likes?x=1", True),
    (308, "https://localhost:8443/likes?x=1", True),       # another name for the same machine
    (301, "https://127.0.0.1/likes?x=1", False),           # port 443, not the one forwarded here
    (301, "https://127.0.0.1:8443/", False),               # a different page
    (301, "https://127.0.0.1:8443/likes", False),          # the query was dropped
    (301, "http://127.0.0.1:8500/elsewhere", False),       # not an upgrade
    (200, "https://127.0.0.1:8443/likes?x=1", False),      # not a redirect
])
def test_checks_follow_only_the_sites_own_upgrade_to_https(status, location, followed):
    from lab.guest.http import Http, HttpResponse

    http = Http("http://127.0.0.1:8500", https_base="https://127.0.0.1:8443")
    asked = "http://127.0.0.1:8500/likes?x=1"
    response = HttpResponse(asked, status, "", {"Location": location}, b"")
    assert http.upgrade_target(response) == (location if followed else None)
    # Without a forwarded HTTPS port there is nowhere to follow to.
    assert Http("http://127.0.0.1:8500").upgrade_target(response) is None


def test_no_forwarded_https_port_is_could_not_check():
    from lab.guest.http import Http

    with pytest.raises(CouldNotCheck, match="no port on this machine is forwarded to the guest's port 443"):
        Http("http://127.0.0.1:8500").https_url("/likes")


# -- an answer that should be the app's JSON (HttpResponse.expect_json) -----------------

def answer(status, reason, body, content_type):
    from lab.guest.http import HttpResponse

    return HttpResponse("http://127.0.0.1:8500/whoami", status, reason, {"Content-Type": content_type}, body)


def test_expect_json_gives_the_apps_json():
    assert answer(200, "OK", b'{"pid": 7}', "application/json").expect_json(hint="x") == {"pid": 7}


def test_expect_json_fails_on_a_bad_gateway():
    page = b"<html><head><title>502 Bad Gateway</title></head><body></body></html>"
    with pytest.raises(Fail) as failure:
        answer(502, "Bad Gateway", page, "text/html").expect_json(hint="is gunicorn running?")
    assert failure.value.rationale == "GET http://127.0.0.1:8500/whoami answered 502 Bad Gateway"
    assert failure.value.hint == "is gunicorn running?"


def test_expect_json_fails_on_an_html_page_that_says_200():
    with pytest.raises(Fail) as failure:
        answer(200, "OK", b"<!DOCTYPE html><html><body>Welcome</body></html>", "text/html").expect_json()
    assert failure.value.rationale == ("GET http://127.0.0.1:8500/whoami answered 200 OK with an HTML page "
                                       "(text/html), not JSON")
    assert failure.value.hint  # a default hint when the check gives none


def test_expect_json_fails_on_json_nested_too_deeply_to_read():
    deep = b"[" * 100_000 + b"]" * 100_000
    with pytest.raises(Fail) as failure:
        answer(200, "OK", deep, "application/json").expect_json(hint="is the likes app answering?")
    assert failure.value.rationale == ("GET http://127.0.0.1:8500/whoami answered 200 OK with JSON nested too "
                                       "deeply to read")
