"""Checks that expect the app's JSON (steps 7 and 8), against Debian's nginx
answering 502, now and then or always, or an HTML page: each is a failure
that says what came back, never "could not check"."""

import pytest

from checks import step07_gunicorn, step08_upstream
from lab.engine.results import FAILED, PASSED
from tests.support.localservers import Gunicorn
from tests.support.student_nginx import StudentNginx, grade, site, skip_without_sudo


@pytest.fixture(autouse=True)
def _sudo():
    skip_without_sudo()


@pytest.fixture(scope="module")
def gunicorn(tmp_path_factory):
    work = tmp_path_factory.mktemp("json-app")
    with Gunicorn(work / "gunicorn", work / "likes.db", workers=3) as server:
        yield server


def test_gunicorn_behind_nginx_passes(tmp_path, gunicorn):
    nginx = StudentNginx(tmp_path / "nginx", site(app=f"server 127.0.0.1:{gunicorn.port};"))
    with nginx:
        assert grade(step07_gunicorn.several_workers_answer, nginx).status == PASSED


def test_nginx_answering_502_fails_with_what_came_back(tmp_path):
    # proxy_pass to a socket nothing listens on: Debian's nginx answers 502 with its HTML error page.
    nginx = StudentNginx(tmp_path / "nginx", site(app=f"server unix:{tmp_path}/gunicorn.sock;"))
    with nginx:
        results = [grade(check, nginx) for check in (step07_gunicorn.nginx_proxies_to_socket,
                                                     step07_gunicorn.several_workers_answer,
                                                     step08_upstream.requests_reach_all)]
    for result in results:
        assert result.status == FAILED, result
        assert result.rationale == f"GET {nginx.url}/whoami answered 502 Bad Gateway"
        assert "error.log" in result.hint


def test_an_intermittent_502_fails(tmp_path, gunicorn):
    # One good app server and one dead one that nginx keeps trying (max_fails=0)
    # and doesn't fail over from: every other answer is a 502.
    upstream = f"server 127.0.0.1:{gunicorn.port}; server unix:{tmp_path}/dead.sock max_fails=0;"
    nginx = StudentNginx(tmp_path / "nginx", site(app=upstream, extra="proxy_next_upstream off;"))
    with nginx:
        result = grade(step07_gunicorn.several_workers_answer, nginx)
    assert result.status == FAILED
    assert result.rationale == f"GET {nginx.url}/whoami answered 502 Bad Gateway"
    assert any(line.endswith("-> 200 OK") for line in result.log), "the good server answered too"


def test_an_html_error_page_that_says_200_fails(tmp_path):
    # A maintenance page served with 200 instead of nginx's 502, as some tutorials set up.
    pages = tmp_path / "pages"
    pages.mkdir()
    (pages / "down.html").write_text("<!DOCTYPE html><html><body><h1>Back soon</h1></body></html>\n")
    extra = f"error_page 502 =200 /down.html; location = /down.html {{ root {pages}; }}"
    nginx = StudentNginx(tmp_path / "nginx", site(app=f"server unix:{tmp_path}/gunicorn.sock;", extra=extra))
    with nginx:
        result = grade(step07_gunicorn.several_workers_answer, nginx)
    assert result.status == FAILED
    assert result.rationale == f"GET {nginx.url}/whoami answered 200 OK with an HTML page (text/html), not JSON"
    assert result.hint
