"""Bad values in steps.toml and the guest address, in process: one line that names the
file or argument, the field and what is wrong, never `internal error`."""

import pytest

from lab.check import main
from lab.core.manifest import ManifestError, load
from lab.core.outcomes import CouldNotCheck
from lab.engine.context import Settings
from lab.transports.ssh import SshTransport
from tests.support.localservers import free_port

STEP = '[[steps]]\nid = "a"\ntitle = "A"\nexercise = "a.md"\nchecks = "a.py"\nsolution = "a.sh"\n'


def manifest_with(tmp_path, body):
    path = tmp_path / "steps.toml"
    path.write_bytes(body if isinstance(body, bytes) else body.encode())
    return path


# --- steps.toml -----------------------------------------------------------------------

@pytest.mark.parametrize("body, message", [
    (STEP.replace('id = "a"', "id = 5"), "step #1: id must be a quoted string, found the number 5"),
    (STEP.replace('checks = "a.py"', "checks = 5"), "step #1: checks must be a quoted string, found the number 5"),
    (STEP.replace('title = "A"', 'title = ["A"]'), "step #1: title must be a quoted string, found a list"),
    (STEP.replace('title = "A"', "title = true"), "step #1: title must be a quoted string, found true"),
    (STEP + 'after = 3\n', "step #1: after must be a quoted string, found the number 3"),
    (STEP + 'reboot = "yes"\n', "step #1: reboot must be true or false, found the string 'yes'"),
    ("steps = [1, 2]\n", "step #1 must be a [[steps]] table, found the number 1"),
    ('steps = ["a"]\n', "step #1 must be a [[steps]] table, found the string 'a'"),
    ('replace = "yes"\n', "replace must be true or false, found the string 'yes'"),
], ids=["id = 5", "checks = 5", "title list", "title true", "after = 3", "reboot text", "steps = [1, 2]",
        "steps of strings", "replace text"])
def test_wrong_types_in_the_manifest_name_the_field(tmp_path, body, message):
    path = manifest_with(tmp_path, "format_version = 1\n" + body)
    with pytest.raises(ManifestError) as err:
        load(path, import_checks=False)
    assert str(err.value) == f"{path}{', ' if message.startswith('step #1:') else ': '}{message}"


def test_a_manifest_that_is_not_utf8_names_its_line(tmp_path):
    path = manifest_with(tmp_path, b"format_version = 1\n" + STEP.replace('"A"', '"caf\xe9"').encode("latin-1"))
    with pytest.raises(ManifestError) as err:
        load(path, import_checks=False)
    assert str(err.value) == f"{path}, line 4: this is not UTF-8 text; save the file as UTF-8"


def test_a_manifest_that_cannot_be_read(tmp_path):
    (tmp_path / "steps.toml").mkdir()
    with pytest.raises(ManifestError) as err:
        load(tmp_path / "steps.toml", import_checks=False)
    assert str(err.value) == f"cannot read {tmp_path / 'steps.toml'}: Is a directory"


def test_a_bad_course_manifest_is_one_line_from_the_cli(tmp_path, capsys):
    manifest_with(tmp_path, "format_version = 1\nreplace = true\n" + STEP.replace('id = "a"', "id = 5"))
    assert main(["--course", str(tmp_path), "--list"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == f"lab.check: {tmp_path / 'steps.toml'}, step #1: id must be a quoted string, found the number 5\n"


# --- ssh:// addresses -------------------------------------------------------------------

def open_ssh(url, tmp_path):
    with pytest.raises(CouldNotCheck) as err:
        SshTransport.from_url(url, Settings(root=tmp_path))
    return err.value.one_line()


@pytest.mark.parametrize("port", ["99999", "0", "65536", "abc", "-1", "22x"])
def test_a_port_out_of_range_or_not_a_number(tmp_path, port):
    url = f"ssh://root@127.0.0.1:{port}"
    assert open_ssh(url, tmp_path) == (f"the guest address {url!r}: the port {port!r} is not a number from 1 to "
                                       f"65535: write it as ssh://user@host:22?key=PATH")


@pytest.mark.parametrize("query, message", [
    ("http=127.0.0.1:8080", "http=127.0.0.1:8080 is not an http:// address: write http=http://127.0.0.1:8080"),
    ("http=localhost:8080", "http=localhost:8080 is not an http:// address: write http=http://localhost:8080"),
    ("https=localhost:8443", "https=localhost:8443 is not an https:// address: write https=https://localhost:8443"),
    ("http=ftp://host:21", "http=ftp://host:21 is not an http:// address: write http=http://host:port"),
])
def test_a_web_address_without_its_scheme(tmp_path, query, message):
    url = f"ssh://root@127.0.0.1:{free_port()}?{query}"
    assert open_ssh(url, tmp_path) == f"the guest address {url!r}: {message}"


def test_a_key_under_home_is_found_with_a_tilde(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    url = f"ssh://root@127.0.0.1:{free_port()}?key=~/no_such_key"
    assert open_ssh(url, tmp_path).startswith(f"cannot read the key file {tmp_path / 'no_such_key'}: ")
