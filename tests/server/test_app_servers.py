"""The likes app behind real servers on 127.0.0.1: the development server,
Debian's gunicorn with 3 workers, and Debian's nginx loaded from the project's
own site template."""

import json
import socket
import subprocess
import sys
import threading
import time

import pytest
import requests

from tests.conftest import count_rows
from tests.support.localservers import REPO, DevServer, Gunicorn, Nginx, free_port

JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """nginx on a free port in front of gunicorn (3 workers), sharing one database."""
    work = tmp_path_factory.mktemp("stack")
    db = work / "likes.db"
    with Gunicorn(work / "gunicorn", db, workers=3) as app_server:
        with Nginx(work / "nginx", [f"127.0.0.1:{app_server.port}"]) as proxy:
            yield proxy, app_server, db


def test_dev_server_serves_the_app_and_logs_to_stdout(tmp_path):
    with DevServer(tmp_path, tmp_path / "likes.db") as dev:
        assert requests.get(dev.url + "/likes", timeout=5).json() == {"likes": []}
        res = requests.post(dev.url + "/likes", json={"likes": ["cheese"]}, timeout=5)
        assert res.status_code == 201
        assert res.json() == {"likes": ["cheese"]}
        assert "WSGIServer" in requests.get(dev.url + "/whoami", timeout=5).json()["server"]
        assert "text/css" in requests.get(dev.url + "/static/style.css", timeout=5).headers["Content-Type"]
    log = dev.log.read_text()
    assert f"likes: database {tmp_path / 'likes.db'}" in log
    assert '"GET /likes HTTP/1.1" 200' in log
    assert '"POST /likes HTTP/1.1" 201' in log
    assert count_rows(tmp_path / "likes.db") == 1


def test_dev_server_says_when_its_port_is_taken(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = subprocess.run([sys.executable, "-m", "sample_app", "--port", str(port), "--db", str(tmp_path / "x.db")],
                             cwd=REPO, capture_output=True, text=True, timeout=30)
    assert run.returncode == 1
    assert f"port {port} on 127.0.0.1 is already in use" in run.stderr
    assert "Traceback" not in run.stderr


def test_gunicorn_runs_three_workers_on_debian_bottle(stack):
    _, app_server, _ = stack
    workers = set(app_server.worker_pids())
    assert len(workers) == 3
    seen = set()
    for _ in range(300):
        info = requests.get(app_server.url + "/whoami", timeout=5).json()
        assert info["server"].startswith("gunicorn/")
        seen.add(info["pid"])
        if len(seen) >= 2:
            break
    assert seen <= workers
    assert len(seen) >= 2, "every request was answered by the same worker"


def test_page_and_api_work_through_nginx(stack):
    proxy, _, _ = stack
    page = requests.get(proxy.url + "/", timeout=5)
    assert page.status_code == 200
    assert "<title>AJAX ListMaker</title>" in page.text
    before = requests.get(proxy.url + "/likes", timeout=5).json()["likes"]
    res = requests.post(proxy.url + "/likes", json={"likes": ["through nginx"]}, timeout=5)
    assert res.status_code == 201
    assert res.json()["likes"] == before + ["through nginx"]
    form = requests.post(proxy.url + "/likes", data={"likes": "from a form"}, allow_redirects=False, timeout=5)
    assert form.status_code == 303
    assert form.headers["Location"] == "/"
    assert "from a form" in requests.get(proxy.url + "/", timeout=5).text


def test_errors_come_back_as_json_through_nginx(stack):
    proxy, _, db = stack
    before = count_rows(db)
    res = requests.post(proxy.url + "/likes", data='{"likes": [1]}', headers=JSON, timeout=5)
    assert res.status_code == 400
    assert res.json() == {"error": '"likes" must be a list of strings'}
    big = json.dumps({"likes": ["x"], "pad": "p" * 20000})
    for _ in range(10):  # the app must read what it refuses, or nginx sees a dead app (502) now and then
        res = requests.post(proxy.url + "/likes", data=big, headers=JSON, timeout=5)
        assert res.status_code == 413
        assert "larger than 16384 bytes" in res.json()["error"]
    assert count_rows(db) == before


def test_static_files_are_served_by_nginx_not_the_app(stack):
    proxy, app_server, _ = stack
    marker = f"/likes?probe={time.time_ns()}"
    requests.get(proxy.url + marker, timeout=5).raise_for_status()
    css = requests.get(proxy.url + "/static/style.css", timeout=5)
    assert css.status_code == 200
    assert css.headers["Content-Type"].startswith("text/css")
    assert css.content == (REPO / "sample_app/static/style.css").read_bytes()
    assert "max-age=3600" in css.headers.get("Cache-Control", "")
    png = requests.get(proxy.url + "/static/logo.png", timeout=5)
    assert png.headers["Content-Type"] == "image/png"
    assert png.content[:8] == b"\x89PNG\r\n\x1a\n"
    # gunicorn writes its access log line after answering: wait for the marker,
    # then prove that the static requests never reached the app.
    deadline = time.monotonic() + 5
    while marker not in app_server.access_log_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    log = app_server.access_log_text()
    assert marker in log
    assert "/static/" not in log
    assert "GET /static/style.css" in proxy.access_log.read_text()


def test_app_sees_the_client_through_proxy_headers(stack):
    proxy, _, _ = stack
    info = requests.get(proxy.url + "/whoami", timeout=5).json()
    assert info["x_real_ip"] == "127.0.0.1"
    assert info["x_forwarded_for"] == "127.0.0.1"
    assert info["x_forwarded_proto"] == "http"
    chained = requests.get(proxy.url + "/whoami", headers={"X-Forwarded-For": "198.51.100.7"}, timeout=5).json()
    assert chained["x_forwarded_for"] == "198.51.100.7, 127.0.0.1"
    assert chained["x_real_ip"] == "127.0.0.1"


@pytest.mark.parametrize("path", ["/static/style.css", "/static/likes.js", "/likes"])
def test_text_is_gzip_encoded_when_asked(stack, path):
    proxy, _, _ = stack
    zipped = requests.get(proxy.url + path, headers={"Accept-Encoding": "gzip"}, timeout=5)
    assert zipped.headers.get("Content-Encoding") == "gzip"
    assert "Accept-Encoding" in zipped.headers.get("Vary", "")
    plain = requests.get(proxy.url + path, headers={"Accept-Encoding": "identity"}, timeout=5)
    assert "Content-Encoding" not in plain.headers
    assert zipped.content == plain.content  # requests decoded the gzip body
    # What step 8's check asks too: a request that came through a proxy (it carries a Via
    # header) is compressed all the same, which nginx does only with gzip_proxied.
    proxied = requests.get(proxy.url + path, headers={"Accept-Encoding": "gzip", "Via": "1.1 a-company-proxy"},
                           timeout=5)
    assert proxied.headers.get("Content-Encoding") == "gzip"


def test_nginx_hides_its_version(stack):
    proxy, _, _ = stack
    assert requests.get(proxy.url + "/static/style.css", timeout=5).headers["Server"] == "nginx"


def test_nothing_is_lost_under_concurrent_posts(tmp_path):
    """8 threads x 250 POSTs through nginx -> gunicorn: 2000 rows, no errors, kept after a restart."""
    db = tmp_path / "likes.db"
    threads, per_thread = 8, 250
    failures = []
    with Gunicorn(tmp_path / "gunicorn", db, workers=3) as app_server:
        with Nginx(tmp_path / "nginx", [f"127.0.0.1:{app_server.port}"]) as proxy:
            def writer(n):
                with requests.Session() as session:
                    for i in range(per_thread):
                        res = session.post(proxy.url + "/likes", json={"likes": [f"t{n}-{i}"]}, timeout=30)
                        if not 200 <= res.status_code < 300:
                            failures.append((res.status_code, res.text[:200]))
            pool = [threading.Thread(target=writer, args=(n,)) for n in range(threads)]
            for t in pool:
                t.start()
            for t in pool:
                t.join()
    assert failures == []
    assert count_rows(db) == threads * per_thread

    port = free_port()
    with Gunicorn(tmp_path / "gunicorn2", db, workers=3, port=port) as restarted:
        likes = requests.get(restarted.url + "/likes", timeout=10).json()["likes"]
    assert len(likes) == threads * per_thread
    assert set(likes) == {f"t{n}-{i}" for n in range(threads) for i in range(per_thread)}
    # Each thread's likes are stored in the order that thread sent them.
    for n in range(threads):
        mine = [like for like in likes if like.startswith(f"t{n}-")]
        assert mine == [f"t{n}-{i}" for i in range(per_thread)]


def test_gunicorn_tells_a_request_over_its_unix_socket_from_one_over_tcp(tmp_path):
    """What step 7's nginx_proxies_to_socket observes: behind nginx, Debian's gunicorn
    reports no client address for a request that came over its unix socket, and
    nginx's 127.0.0.1 for one over TCP."""
    seen = {}
    for name, bind in (("unix", f"unix:{tmp_path / 'gunicorn.sock'}"), ("tcp", None)):
        with Gunicorn(tmp_path / name, tmp_path / "likes.db", workers=1, bind=bind) as app_server:
            target = bind if bind else f"127.0.0.1:{app_server.port}"
            with Nginx(tmp_path / f"nginx-{name}", [target]) as proxy:
                info = requests.get(proxy.url + "/whoami", timeout=5).json()
        assert info["server"].startswith("gunicorn/")
        seen[name] = info["remote_addr"]
    assert seen == {"unix": "", "tcp": "127.0.0.1"}
