"""Step 12's probes of a WSGI app in a file (lab/guest/wsgi.py), on this machine's
python3: the kit's own hello.py passes both, and each way a hand-written app
breaks PEP 3333 is named by the standard library's validator."""

import pytest

from lab.guest.system import Guest
from lab.guest.wsgi import call_wsgi_file, serve_file_and_get
from lab.transports.local import LocalTransport
from provision.facts import HELLO_PORT
from tests.support.localservers import free_port
from tests.support.provision import guestconf

HELLO = guestconf.render("wsgi/hello.py.j2")
BROKEN = {
    "a str body": (HELLO.replace('.encode("utf-8")', ""), "invalid", "non-bytestring"),
    "bytes, not a list of them": (HELLO.replace("return [body]", "return body"), "invalid", "single-item list"),
    "headers in a tuple": (HELLO.replace('start_response("200 OK", [', 'start_response("200 OK", (')
                           .replace("    ])\n", "    ))\n"), "invalid", "must be of type list"),
    "a server started as it is imported": (HELLO.replace('if __name__ == "__main__":', "if True:"), "hung", ""),
    "no application": ("def app(environ, start_response):\n    pass\n", "no_application", "app"),
    "a syntax error": ("def application(:\n", "import", "SyntaxError"),
}


@pytest.fixture
def guest():
    return Guest(LocalTransport())


def test_the_kits_hello_py_answers_as_pep_3333_asks(guest, tmp_path):
    (tmp_path / "hello.py").write_text(HELLO)
    answer = call_wsgi_file(guest, str(tmp_path / "hello.py"), "/lab-check-path")
    assert (answer.error, answer.status) == ("", "200 OK")
    assert answer.header("content-type") == "text/plain; charset=utf-8"
    assert "/lab-check-path" in answer.body


@pytest.mark.parametrize("name", BROKEN)
def test_each_way_of_breaking_it_is_named(guest, tmp_path, name):
    text, error, words = BROKEN[name]
    (tmp_path / "hello.py").write_text(text)
    answer = call_wsgi_file(guest, str(tmp_path / "hello.py"), "/x")
    assert answer.error == error and words in answer.detail, answer


def test_a_missing_file_is_missing(guest, tmp_path):
    assert call_wsgi_file(guest, str(tmp_path / "nothing.py"), "/x").error == "missing"


def test_run_as_a_program_it_serves_itself_with_wsgiref(guest, tmp_path):
    port = free_port()
    (tmp_path / "my hello.py").write_text(HELLO.replace(str(HELLO_PORT), str(port)))
    answer = serve_file_and_get(guest, str(tmp_path / "my hello.py"), f"http://127.0.0.1:{port}/lab-check-run")
    assert answer.status == 200 and answer.headers["server"].startswith("WSGIServer/")
    assert "/lab-check-run" in answer.body
    (tmp_path / "quiet.py").write_text("def application(environ, start_response):\n    return [b'']\n")
    assert serve_file_and_get(guest, str(tmp_path / "quiet.py"), f"http://127.0.0.1:{port}/").status == 0
