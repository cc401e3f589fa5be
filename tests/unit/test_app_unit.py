"""The likes app in process, through WSGI: every route and every bad input."""

import json
import struct
import zlib

import bottle
import pytest
import webtest

from sample_app import __version__, make_logo
from sample_app.app import MAX_BODY, STATIC_DIR, app


@pytest.fixture
def client(db_path):
    app.config["likes.db"] = str(db_path)
    yield webtest.TestApp(app)
    app.config["likes.db"] = None


def post_json(client, payload, status="*"):
    """POST a JSON body; payload is encoded unless it is already bytes or text."""
    body = payload if isinstance(payload, (bytes, str)) else json.dumps(payload)
    return client.post("/likes", body, content_type="application/json", status=status)


def test_runs_on_a_supported_bottle():
    assert bottle.__version__.startswith(("0.12", "0.13"))


def test_likes_start_empty(client):
    res = client.get("/likes")
    assert res.status_int == 200
    assert res.content_type == "application/json"
    assert res.json == {"likes": []}


def test_post_json_returns_201_and_the_whole_list_in_order(client, rows):
    first = post_json(client, {"likes": ["cheese"]})
    assert first.status_int == 201
    assert first.json == {"likes": ["cheese"]}
    second = post_json(client, {"likes": ["  bread ", "wine"]})
    assert second.json == {"likes": ["cheese", "bread", "wine"]}
    assert client.get("/likes").json == {"likes": ["cheese", "bread", "wine"]}
    assert rows() == 3


def test_empty_items_are_skipped(client, rows):
    res = post_json(client, {"likes": ["", "   ", "tea"]})
    assert res.status_int == 201
    assert res.json == {"likes": ["tea"]}
    assert rows() == 1


def test_all_empty_items_add_nothing(client, rows):
    res = post_json(client, {"likes": ["  "]})
    assert res.status_int == 201
    assert res.json == {"likes": []}
    assert rows() == 0


def test_limits_are_inclusive(client, rows):
    res = post_json(client, {"likes": ["x" * 200] + ["y"] * 49})
    assert res.status_int == 201
    assert rows() == 50


def test_form_post_redirects_to_the_page(client, rows):
    res = client.post("/likes", {"likes": "cheese"}, status=303)
    assert res.headers["Location"] in ("/", "http://localhost:80/", "http://localhost/")
    assert rows() == 1
    assert "cheese" in client.get("/").text


@pytest.mark.parametrize("body, status, fragment", [
    ('{"likes": ["a"]', 400, "not valid JSON"),
    ("[]", 400, "JSON object"),
    ('"cheese"', 400, "JSON object"),
    ("{}", 400, "JSON object"),
    ('{"like": ["a"]}', 400, "JSON object"),
    ('{"likes": "cheese"}', 400, "list of strings"),
    ('{"likes": ["ok", 3]}', 400, "list of strings"),
    ('{"likes": [null]}', 400, "list of strings"),
    ('{"likes": [["nested"]]}', 400, "list of strings"),
    ('{"likes": {"a": 1}}', 400, "list of strings"),
    (json.dumps({"likes": ["ok", "x" * 201]}), 400, "at most 200 characters"),
    (json.dumps({"likes": ["x"] * 51}), 400, "at most 50 likes"),
    (b"\xff\xfe\x00", 400, "UTF-8"),
    (json.dumps({"likes": ["x" * 150] * 120}), 413, "larger than"),
])
def test_bad_json_is_refused_and_changes_nothing(client, rows, body, status, fragment):
    post_json(client, {"likes": ["before"]})
    res = post_json(client, body, status=status)
    assert res.content_type == "application/json"
    assert fragment in res.json["error"]
    assert list(res.json) == ["error"]
    assert rows() == 1
    assert client.get("/likes").json == {"likes": ["before"]}


def test_body_just_over_16_kib_is_413(client, rows):
    body = json.dumps({"likes": ["a"], "pad": "p" * MAX_BODY})
    res = post_json(client, body, status=413)
    assert "16384 bytes" in res.json["error"]
    assert rows() == 0


def test_declared_length_over_limit_is_refused(client, rows):
    res = client.request("/likes", method="POST", body=b"{}",
                         headers={"Content-Type": "application/json", "Content-Length": str(10 * 1024 * 1024)},
                         status=413, expect_errors=True)
    assert res.json["error"].startswith("the request body is larger")
    assert rows() == 0


def test_form_without_likes_field_explains_the_json_header(client, rows):
    res = client.post("/likes", {"thing": "x"}, status=400)
    assert "Content-Type: application/json" in res.json["error"]
    assert rows() == 0


def test_form_limits_apply_too(client, rows):
    res = client.post("/likes", {"likes": "z" * 201}, status=400)
    assert "200 characters" in res.json["error"]
    assert rows() == 0


def test_other_content_types_are_415(client, rows):
    res = client.post("/likes", "cheese", content_type="text/plain", status=415)
    assert "application/json" in res.json["error"]
    assert rows() == 0


def test_unknown_path_is_a_json_404(client):
    res = client.get("/nope", status=404)
    assert res.content_type == "application/json"
    assert res.json == {"error": "there is nothing at /nope"}


def test_wrong_method_is_a_json_405(client):
    res = client.delete("/likes", status=405)
    assert res.json["error"] == "DELETE is not allowed on /likes"


def test_page_lists_likes_and_loads_its_assets(client):
    post_json(client, {"likes": ["cheese", "bread"]})
    page = client.get("/")
    assert page.status_int == 200
    assert page.content_type == "text/html"
    assert "<title>AJAX ListMaker</title>" in page.text
    assert page.text.index("<li>cheese</li>") < page.text.index("<li>bread</li>")
    for asset in ("/static/likes.js", "/static/style.css", "/static/logo.png"):
        assert asset in page.text
    assert '<form id="like-form" method="post" action="/likes">' in page.text


def test_script_like_is_rendered_escaped(client):
    evil = "<script>alert(1)</script>"
    post_json(client, {"likes": [evil]})
    page = client.get("/").text
    assert evil not in page
    assert "<li>&lt;script&gt;alert(1)&lt;/script&gt;</li>" in page


def test_whoami_names_the_process(client):
    info = client.get("/whoami", extra_environ={"SERVER_SOFTWARE": "gunicorn/20.1.0"},
                      headers={"X-Real-IP": "203.0.113.9", "X-Forwarded-For": "203.0.113.9"}).json
    assert info["app"] == "likes"
    assert info["version"] == __version__
    assert isinstance(info["pid"], int) and info["pid"] > 0
    assert info["hostname"]
    assert info["server"] == "gunicorn/20.1.0"
    assert info["x_real_ip"] == "203.0.113.9"
    assert info["x_forwarded_for"] == "203.0.113.9"


@pytest.mark.parametrize("name, kind", [
    ("style.css", "text/css"),
    ("likes.js", "javascript"),
    ("logo.png", "image/png"),
])
def test_app_serves_its_static_files(client, name, kind):
    res = client.get("/static/" + name)
    assert kind in res.content_type
    with open(f"{STATIC_DIR}/{name}", "rb") as f:
        assert res.body == f.read()


@pytest.mark.parametrize("path", ["/static/../app.py", "/static/%2e%2e/app.py", "/static/..%2fapp.py"])
def test_static_cannot_escape_its_folder(client, path):
    res = client.get(path, expect_errors=True)
    assert res.status_int in (403, 404)
    assert res.content_type == "application/json"
    assert "app =" not in res.text


def test_table_survives_a_new_process(db_path):
    from sample_app import storage

    conn = storage.connect(str(db_path))
    storage.add_likes(conn, ["kept"])
    conn.close()
    storage._ready.discard(str(db_path))  # as if the app started again
    conn = storage.connect(str(db_path))
    assert storage.list_likes(conn) == ["kept"]
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_database_folder_is_created(tmp_path):
    from sample_app import storage

    path = tmp_path / "deep" / "er" / "likes.db"
    storage.connect(str(path)).close()
    assert path.exists()


def test_default_database_is_outside_the_source_tree(monkeypatch, tmp_path):
    from sample_app import storage

    monkeypatch.delenv("LIKES_DB", raising=False)
    assert "sample_app" not in storage.resolve_path(None)
    monkeypatch.setenv("LIKES_DB", str(tmp_path / "x.db"))
    assert storage.resolve_path(None) == str(tmp_path / "x.db")
    assert storage.resolve_path("/explicit.db") == "/explicit.db"


def test_logo_is_the_png_the_project_draws():
    with open(f"{STATIC_DIR}/logo.png", "rb") as f:
        data = f.read()
    assert data == make_logo.png_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (64, 64)
    # The pixel data really decompresses to 64 rows of 64 RGBA pixels.
    idat = data[data.index(b"IDAT") + 4:data.index(b"IEND") - 8]
    assert len(zlib.decompress(idat)) == 64 * (1 + 64 * 4)


def _open_and_add(path, barrier, results):
    from sample_app import storage

    barrier.wait()  # every process opens the new file at the same moment, like gunicorn's workers
    try:
        storage.add_likes(storage.connect(path), ["first"])
        results.put("ok")
    except Exception as exc:  # reported to the test, which names it
        results.put(repr(exc))


def test_workers_opening_a_new_database_together_all_succeed(tmp_path):
    """Switching a new file to WAL once raced between workers: "database is locked", a 500."""
    import multiprocessing

    from tests.conftest import count_rows

    spawn = multiprocessing.get_context("fork")
    workers, trials = 8, 20  # the race showed in about one trial in five
    for trial in range(trials):
        path = str(tmp_path / f"trial{trial}.db")
        barrier, results = spawn.Barrier(workers), spawn.Queue()
        procs = [spawn.Process(target=_open_and_add, args=(path, barrier, results)) for _ in range(workers)]
        for proc in procs:
            proc.start()
        outcomes = [results.get(timeout=60) for _ in procs]
        for proc in procs:
            proc.join()
        assert outcomes == ["ok"] * workers, f"trial {trial}: {outcomes}"
        assert count_rows(tmp_path / f"trial{trial}.db") == workers
