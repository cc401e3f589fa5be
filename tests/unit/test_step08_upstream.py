"""Step 8's upstream_of_all on nginx configurations as `nginx -T` prints them: an
upstream counts only when a proxy_pass names it, so an unused block with three
servers is a decoy that fails."""

import pytest

from checks import step08_upstream
from lab.engine.context import Settings
from lab.engine.results import FAILED, PASSED
from lab.engine.runner import run_one
from tests.support.engine_fakes import FakeTransport

NGINX_T = "sudo -n sh -c 'nginx -T'"
THREE = "".join(f"    server unix:/run/likes-{n}/gunicorn.sock;\n" for n in (1, 2, 3))


def site(upstreams, proxy_pass):
    return ("# configuration file /etc/nginx/sites-enabled/likes:\n" + upstreams
            + "server {\n    listen 80;\n    location / {\n        proxy_pass " + proxy_pass + ";\n    }\n}\n")


@pytest.mark.parametrize("config, status, words", [
    (site("upstream likes_app {\n" + THREE + "}\n", "http://likes_app"), PASSED, None),
    (site("upstream likes_app {\n" + THREE + "}\n", "http://likes_app/"), PASSED, None),
    # The decoy: three servers in a block nothing uses, requests to one socket.
    (site("upstream likes_app {\n" + THREE + "}\n", "http://unix:/run/likes-1/gunicorn.sock"), FAILED,
     "likes_app: 3 server(s), which no proxy_pass names"),
    (site("upstream likes_app {\n    server unix:/run/likes-1/gunicorn.sock;\n}\n", "http://likes_app"), FAILED,
     "likes_app: 1 server(s)"),
    (site("", "http://127.0.0.1:8080"), FAILED, "no upstream block"),
], ids=["used", "used-with-slash", "unused-decoy", "too-few", "none"])
def test_only_an_upstream_that_carries_requests_counts(config, status, words, tmp_path):
    result = run_one(step08_upstream.upstream_of_all, FakeTransport({NGINX_T: (0, config)}), Settings(root=tmp_path))
    assert result.status == status, result.rationale
    if words:
        assert words in result.rationale
        assert result.hint
