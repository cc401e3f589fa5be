"""Step 8's spread of requests against Debian's real nginx, right after an app
server came back: nginx leaves a server that failed a request alone for
fail_timeout (10 s by default), and the check must wait that out rather than
blame the student, while a server that never answers still fails it."""

import re
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from checks import step08_upstream
from lab.engine.results import FAILED, PASSED
from lab.guest.system import Guest
from tests.support.localservers import Gunicorn
from tests.support.student_nginx import StudentNginx, grade, site, skip_without_sudo


@pytest.fixture(autouse=True)
def _sudo():
    skip_without_sudo()


def upstream_of(sockets):
    return " ".join(f"server unix:{path};" for path in sockets)


def instances_by_pid(monkeypatch, servers):
    """The checker asks each answering pid's systemd unit; here, gunicorn N's workers are likes@N."""
    def unit_of(_guest, pid):
        for number, server in servers.items():
            if pid in server.worker_pids():
                return f"likes@{number}.service"
        return None
    monkeypatch.setattr(Guest, "unit_of", unit_of)


def make_every_worker_see_it_fail(nginx, socket):
    """Ask until each of nginx's worker processes has tried the dead socket once, and so
    marked it failed: each worker keeps its own count when the upstream has no zone."""
    pattern = re.compile(rf"\[crit\] (\d+)#\d+: .*connect\(\) to unix:{re.escape(str(socket))} failed")
    for _ in range(20):
        with ThreadPoolExecutor(max_workers=6) as pool:
            list(pool.map(lambda _: requests.get(f"{nginx.url}/whoami", timeout=10), range(12)))
        workers = set(pattern.findall((nginx.prefix / "logs" / "error.log").read_text()))
        if len(workers) >= 2:  # the test's nginx runs 2 workers
            return
    pytest.fail("nginx's workers never tried the stopped server")


def test_a_server_that_just_came_back_is_waited_for(tmp_path, monkeypatch):
    sockets = [tmp_path / f"likes-{n}.sock" for n in (1, 2, 3)]
    servers = {n: Gunicorn(tmp_path / f"g{n}", tmp_path / "likes.db", workers=2, bind=f"unix:{sockets[n - 1]}")
               for n in (1, 2, 3)}
    instances_by_pid(monkeypatch, servers)
    nginx = StudentNginx(tmp_path / "nginx", site(app=upstream_of(sockets)))
    with nginx, servers[1], servers[2]:
        make_every_worker_see_it_fail(nginx, sockets[2])
        with servers[3]:  # back, as after `systemctl start likes@3`, and nginx still avoids it
            started = time.monotonic()
            result = grade(step08_upstream.requests_reach_all, nginx)
    assert result.status == PASSED, result
    assert any("answered by ['likes@1.service', 'likes@2.service', 'likes@3.service']" in line
               for line in result.log), result.log
    assert time.monotonic() - started < step08_upstream.NGINX_FAIL_TIMEOUT + 10


def test_a_server_that_never_answers_still_fails(tmp_path, monkeypatch):
    sockets = [tmp_path / f"likes-{n}.sock" for n in (1, 2, 3)]
    servers = {n: Gunicorn(tmp_path / f"g{n}", tmp_path / "likes.db", workers=2, bind=f"unix:{sockets[n - 1]}")
               for n in (1, 2)}
    instances_by_pid(monkeypatch, servers)
    nginx = StudentNginx(tmp_path / "nginx", site(app=upstream_of(sockets)))
    with nginx, servers[1], servers[2]:
        result = grade(step08_upstream.requests_reach_all, nginx)
    assert result.status == FAILED
    assert re.fullmatch(r"expected requests to reach all 3 instances, \d+ of them in \d+ s reached 2: "
                        r"likes@1\.service, likes@2\.service", result.rationale), result.rationale
    assert "sockets listed in the upstream" in result.hint
