"""HTTPS, with Debian's nginx and openssl on 127.0.0.1: the site template's TLS
server, the checker's HTTP helper over TLS, and step 11's checks that judge
only what the host sees."""

import json
import os
import re
import socket
import ssl
import subprocess
import sys
import threading

import pytest

from lab.core.outcomes import Fail
from lab.guest.http import Http
from tests.support.localservers import REPO, Gunicorn, Nginx, self_signed_certificate, tls_settings


def https_site(work, app_server, names="DNS:localhost,IP:127.0.0.1", public_port=None):
    cert, key = self_signed_certificate(work / "tls", names=names)
    tls = tls_settings(cert, key)
    if public_port is not None:
        tls["public_port"] = public_port
    return Nginx(work / "nginx", [f"127.0.0.1:{app_server.port}"], tls=tls), cert


@pytest.fixture(scope="module")
def app_server(tmp_path_factory):
    work = tmp_path_factory.mktemp("https-app")
    with Gunicorn(work / "gunicorn", work / "likes.db", workers=2) as server:
        yield server


@pytest.fixture(scope="module")
def site(tmp_path_factory, app_server):
    nginx, cert = https_site(tmp_path_factory.mktemp("https-site"), app_server)
    with nginx:
        nginx.cert = cert
        yield nginx


def lab_check(site_urls, target):
    """Run one check of step 11 with the local transport aimed at these URLs."""
    http, https = site_urls
    guest = f"local://?http={http}&https={https}"
    run = subprocess.run([sys.executable, "-m", "lab.check", "step11", "--target", target, "--guest", guest,
                          "--json", "--root", str(REPO)], capture_output=True, text=True, timeout=60,
                         env={**os.environ, "NO_COLOR": "1"})
    [result] = [c for s in json.loads(run.stdout)["steps"] for c in s["checks"] if c["name"] == target]
    return result


def test_plain_http_is_sent_to_the_same_page_over_https(site):
    http = Http(site.url)
    res = http.get("/likes?x=1", upgrade=False)
    assert res.status == 301
    assert res.headers["Location"] == f"{site.https_url}/likes?x=1"


def test_the_app_is_told_the_browser_used_https(site):
    info = Http(site.url, https_base=site.https_url).get(site.https_url + "/whoami").json()
    assert info["x_forwarded_proto"] == "https"


def test_checks_follow_the_sites_upgrade_with_the_same_request(site):
    log = []
    http = Http(site.url, log=log, https_base=site.https_url)
    posted = http.post("/likes", json={"likes": ["sent over TLS"]})
    # The POST went to HTTPS as a POST: a browser that knows the site is
    # HTTPS-only does the same.
    assert posted.status == 201 and posted.url == site.https_url + "/likes"
    assert "sent over TLS" in posted.json()["likes"]
    assert log == [f"POST {site.url}/likes -> 301 Moved Permanently", f"POST {site.https_url}/likes -> 201 Created"]


def test_tls_handshake_shows_the_certificate_nginx_serves(site):
    version, der = Http(site.url, https_base=site.https_url).tls_handshake()
    assert version in ("TLSv1.2", "TLSv1.3")
    assert der == ssl.PEM_cert_to_DER_cert(site.cert.read_text())


def test_plain_http_where_tls_was_expected_is_a_failure(site):
    # Aim the HTTPS side at the plain HTTP port: the handshake must fail clearly.
    http = Http(site.url, https_base=site.url.replace("http:", "https:"))
    with pytest.raises(Fail, match=r"answered in plain HTTP, not TLS \(WRONG_VERSION_NUMBER\)$"):
        http.tls_handshake()
    with pytest.raises(Fail, match=r"/likes answered in plain HTTP, not TLS") as failure:
        http.get(http.https_url("/likes"))
    assert failure.value.hint == "add `ssl` to the listen line: `listen 443 ssl;`"


def test_a_forwarded_port_with_nothing_behind_it(tmp_path):
    # Vagrant's forward accepts the connection, then the guest side hangs up.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        threading.Thread(target=lambda: [listener.accept()[0].close() for _ in range(2)], daemon=True).start()
        http = Http("http://127.0.0.1:9", https_base=f"https://127.0.0.1:{listener.getsockname()[1]}")
        for attempt in (http.tls_handshake, lambda: http.get(http.https_url("/likes"))):
            with pytest.raises(Fail, match="closed the connection before a TLS handshake") as failure:
                attempt()
            assert "listen 443 ssl" in failure.value.hint


@pytest.mark.parametrize("target", ["https_answers", "certificate_fits_the_site", "http_redirects_to_https",
                                    "app_told_it_was_https"])
def test_step11_checks_pass_on_a_real_https_site(site, target):
    result = lab_check((site.url, site.https_url), target)
    assert result["passed"] is True, result


def test_a_certificate_without_the_address_fails(tmp_path, app_server):
    nginx, _ = https_site(tmp_path, app_server, names="DNS:localhost")
    with nginx:
        result = lab_check((nginx.url, nginx.https_url), "certificate_fits_the_site")
    assert result["passed"] is False
    assert result["rationale"] == "expected the certificate's subjectAltName to name 127.0.0.1, found localhost"
    assert "IP:127.0.0.1" in result["hint"]


def test_a_redirect_without_the_forwarded_port_fails(tmp_path, app_server):
    # Right on a real server, wrong in the lab: the host reaches 443 through another port.
    nginx, _ = https_site(tmp_path, app_server, public_port=443)
    with nginx:
        result = lab_check((nginx.url, nginx.https_url), "http_redirects_to_https")
    assert result["passed"] is False
    assert result["rationale"].startswith(f"expected the redirect to go to {nginx.https_url}/likes?from=lab-check-")
    assert "it goes to https://127.0.0.1/likes?from=lab-check-" in result["rationale"]
    assert f":{nginx.tls['port']}$request_uri" in result["hint"]


def test_no_https_at_all_fails_the_first_check(app_server, tmp_path):
    with Nginx(tmp_path / "nginx", [f"127.0.0.1:{app_server.port}"]) as plain:
        closed = lab_check((plain.url, plain.url.replace("http:", "https:")), "https_answers")
        redirect = lab_check((plain.url, "https://127.0.0.1:9"), "http_redirects_to_https")
    assert closed["passed"] is False and "not TLS" in closed["rationale"]
    assert redirect["passed"] is False
    assert re.fullmatch(rf"expected {re.escape(plain.url)}/likes\?from=lab-check-\w+ to answer "
                        "301 Moved Permanently, got 200 OK", redirect["rationale"]), redirect["rationale"]
