"""The site of every step as the solutions render it, loaded by real `nginx -t`."""

import pytest

from tests.support.localservers import Nginx, self_signed_certificate, tls_settings
from tests.support.provision import deployment, solving_env


@pytest.mark.parametrize("target", range(4, 12))
def test_the_site_of_every_step_passes_nginx_t(monkeypatch, tmp_path, target):
    """The site exactly as the solutions render it at each step, loaded by real nginx."""
    solving_env(monkeypatch, str(target), f"step{target}")
    values = deployment.site_values()
    del values["listen_port"]  # a free port here instead of 80
    if values["tls"]:
        # The same settings, with a real certificate of the test's own on a free port.
        made = tls_settings(*self_signed_certificate(tmp_path / "tls"))
        values["tls"] = {**values["tls"], **made, "public_port": 8443}
    with Nginx(tmp_path / "nginx", **values) as nginx:
        site = (nginx.prefix / "conf" / "likes.conf").read_text()
    static = target >= 5
    assert ("location /static/" in site) is static
    assert ("sendfile off;" in site) is static
    assert site.count("    server unix:") == (3 if target >= 8 else 1 if target == 7 else 0)
    assert ("return 301 https://$host:8443$request_uri;" in site) is (target >= 11)
    assert site.count(" ssl default_server;") == (2 if target >= 11 else 0)
