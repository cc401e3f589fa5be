"""Every report through the real CLI: a run saved with --json and rendered again with
--from-json is the same report, a damaged file, no password in any report, and a
course that says when Gradescope shows each check."""

import json
import os
import subprocess
import sys

import pytest

from lab.engine.results import ALL_STATUSES
from tests.support.gradescope import a_course, gradescope_of
from tests.support.localservers import free_port
from tests.support.paths import COURSE, REPO

# --- the real CLI: run, save, render again --------------------------------------------------

def lab_check(*args, cwd):
    run = subprocess.run([sys.executable, "-m", "lab.check", *args], cwd=cwd, capture_output=True, timeout=60,
                         env={**os.environ, "PYTHONIOENCODING": "utf-8", "PYTHONPATH": str(REPO), "NO_COLOR": "1"})
    out, err = run.stdout.decode("utf-8"), run.stderr.decode("utf-8")
    assert "Traceback" not in out + err, out + err
    return run.returncode, out, err


def test_run_save_and_render_again_is_the_same_report(tmp_path):
    """Every status (good..stuck against a closed web port): what --from-json renders from the
    saved JSON is byte for byte what the run itself wrote and printed."""
    guest = f"local://?http=http://127.0.0.1:{free_port()}"
    code, saved, err = lab_check("--course", str(COURSE), "good..stuck", "--guest", guest, "--json",
                                 "--html", "run.html", "--junit", "run.xml", "--gradescope", "run-gs.json",
                                 cwd=tmp_path)
    assert code == 2, err
    (tmp_path / "run.json").write_text(saved, encoding="utf-8")
    assert {c["status"] for s in json.loads(saved)["steps"] for c in s["checks"]} == set(ALL_STATUSES)

    code, text, err = lab_check("--from-json", "run.json", "--html", "again.html", "--junit", "again.xml",
                                "--gradescope", "again-gs.json", cwd=tmp_path)
    assert (code, err) == (0, "")
    for ran, again in (("run.html", "again.html"), ("run.xml", "again.xml"), ("run-gs.json", "again-gs.json")):
        assert (tmp_path / again).read_bytes() == (tmp_path / ran).read_bytes(), again

    code, live, err = lab_check("--course", str(COURSE), "good..stuck", "--guest", guest, cwd=tmp_path)
    assert code == 2
    assert text == live, "the text report of the saved run is what the student saw"

    code, out, err = lab_check("--from-json", "run.json", "--json", cwd=tmp_path)
    assert (code, json.loads(out)) == (0, json.loads(saved))


def test_a_damaged_file_through_the_real_cli(tmp_path):
    (tmp_path / "run.json").write_text('{"format": 1', encoding="utf-8")
    code, out, err = lab_check("--from-json", "run.json", "--html", "page.html", cwd=tmp_path)
    assert (code, out) == (2, "")
    assert err == "lab.check: --from-json run.json: not JSON: Expecting ',' delimiter at line 1 column 13\n"


SECRET = "hunter2-not-for-files"


@pytest.mark.parametrize("address", [
    "ssh://student:{secret}@127.0.0.1:{port}?key={key}",  # nobody listens: a fault, before any login
    "ssh://student:{secret}@127.0.0.1:99999",  # a bad port: the fault's message quotes the address
    "local://?http=http://student:{secret}@127.0.0.1:{port}",  # a web address with a password
])
def test_a_password_in_the_guest_address_is_in_no_report(tmp_path, address):
    key = tmp_path / "id_test"
    key.write_text("not a real key\n", encoding="utf-8")
    guest = address.format(secret=SECRET, port=free_port(), key=key)
    code, out, err = lab_check("--course", str(COURSE), "good..stuck", "--guest", guest, "--json",
                               "--html", "r.html", "--junit", "r.xml", "--gradescope", "r-gs.json", cwd=tmp_path)
    assert code == 2, err
    assert SECRET not in out + err
    for name in ("r.html", "r.xml", "r-gs.json"):
        assert SECRET not in (tmp_path / name).read_text(encoding="utf-8"), name
    if guest.startswith("ssh://") and ":99999" not in guest:
        assert json.loads(out)["guest"] == f"student@127.0.0.1:{guest.split(':')[3].split('?')[0]}"


def test_a_course_says_when_gradescope_shows_each_check(tmp_path):
    course = a_course(tmp_path / "course", 'visibility = { settles = "after_due_date", root_exists = "hidden" }')
    code, out, err = lab_check("--course", str(course), "good", "--guest", "local://", "--json",
                               "--gradescope", "gs.json", cwd=tmp_path)
    assert code == 0, err
    tests = gradescope_of(json.loads(out))["tests"]
    assert [(t["name"], t["visibility"]) for t in tests] == [
        ("good: the shell echoes a quoted argument back", "visible"), ("good: the root user exists", "hidden"),
        ("good: a value that settles within the time given is seen", "after_due_date"),
        ("good: a check about a Vagrant VM itself, not applicable on other guests (not applicable)", "visible")]
    assert json.loads((tmp_path / "gs.json").read_text(encoding="utf-8"))["tests"] == tests

    whole = a_course(tmp_path / "whole", 'visibility = "after_published"')
    code, out, err = lab_check("--course", str(whole), "good", "--guest", "local://", "--json", cwd=tmp_path)
    assert {t["visibility"] for t in gradescope_of(json.loads(out))["tests"]} == {"after_published"}
