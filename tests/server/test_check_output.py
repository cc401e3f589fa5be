"""What `python -m lab.check` prints and writes, whatever the console and flags:
consoles that cannot encode the report, --root and report files that cannot be
written, and what a check's own processes print."""

import json
import os
import subprocess
import sys
import time

import pytest

from tests.support.localservers import REPO

NON_ASCII_CHECKS = '''
from lab import Fail, Registry

check = Registry()


@check
def plain(ctx):
    """une vérification qui passe ✓"""


@check(points=2)
def accents(ctx):
    """le fichier café → servi"""
    raise Fail("expected “café”, found ‘cafe’ – nothing else", hint="écrivez-le… puis réessayez",
               expected="café", actual="cafe")
'''


@pytest.fixture
def course(tmp_path):
    """A course whose step title, labels, rationale and hint are all non-ASCII."""
    folder = tmp_path / "course"
    (folder / "accent_checks").mkdir(parents=True)
    (folder / "accent_checks" / "__init__.py").write_text("")
    (folder / "accent_checks" / "accents.py").write_text(NON_ASCII_CHECKS, encoding="utf-8")
    (folder / "steps.toml").write_text('''format_version = 1
replace = true
[[steps]]
id = "accents"
title = "Étape → café"
exercise = "x.md"
checks = "accent_checks/accents.py"
solution = "x.sh"
''', encoding="utf-8")
    return folder


def lab_check(*args, cwd, encoding="utf-8", env=None):
    """The real CLI with stdout and stderr in `encoding`, read back as bytes."""
    run = subprocess.run([sys.executable, "-m", "lab.check", *args], cwd=cwd, capture_output=True, timeout=60,
                         # PYTHONPATH: this checkout's lab package, whatever the venv has installed.
                         env={**os.environ, "PYTHONIOENCODING": encoding, "PYTHONPATH": str(REPO),
                              **(env or {})})
    out, err = run.stdout.decode(encoding.split(":")[0]), run.stderr.decode(encoding.split(":")[0])
    assert "Traceback" not in out + err and "UnicodeEncodeError" not in out + err, out + err
    return run.returncode, out, err


# --- 7: consoles that cannot encode the report ----------------------------------------

@pytest.mark.parametrize("encoding", ["ascii", "cp1252", "ascii:strict"])
def test_the_whole_report_prints_on_a_console_that_cannot_encode_it(tmp_path, course, encoding):
    code, out, err = lab_check("--course", str(course), "accents", "--guest", "local://", cwd=tmp_path,
                               encoding=encoding)
    assert code == 1, out + err
    lines = out.splitlines()
    shown = "vérification" if encoding == "cp1252" else "v?rification"  # cp1252 has é, not ✓
    assert lines[1] == f"  + une {shown} qui passe ? (1/1)"
    assert lines[2].startswith("  x le fichier caf") and lines[2].endswith(" servi (0/2)")
    assert "nothing else" in lines[3] and "puis r" in lines[6]  # under expected: and actual:
    assert lines[4].startswith("      expected: caf") and lines[5].startswith("      actual: caf")
    assert lines[-1] == "accents: 1/3", "the report stopped partway"


@pytest.mark.parametrize("encoding", ["ascii", "cp1252"])
def test_json_stays_whole_and_exact_on_such_a_console(tmp_path, course, encoding):
    code, out, err = lab_check("--course", str(course), "accents", "--guest", "local://", "--json", cwd=tmp_path,
                               encoding=encoding)
    assert code == 1, out + err
    check = json.loads(out)["steps"][0]["checks"][1]
    assert check["rationale"] == "expected “café”, found ‘cafe’ – nothing else"  # escaped, not replaced
    assert check["description"] == "le fichier café → servi"


def test_list_status_and_errors_print_on_such_a_console(tmp_path, course):
    code, out, _ = lab_check("--course", str(course), "--list", cwd=tmp_path, encoding="ascii:strict")
    assert code == 0 and "accents: ?tape ? caf? (3 points)" in out
    code, out, _ = lab_check("--course", str(course), "status", cwd=tmp_path, encoding="ascii:strict")
    assert code == 0 and out.splitlines()[2].startswith("accents  ?tape ? caf?")
    code, out, err = lab_check("--course", str(course), "étape", cwd=tmp_path, encoding="ascii:strict")
    assert code == 2 and err == "lab.check: there is no step '?tape'; the steps are accents\n"


@pytest.mark.parametrize("kind", ["missing", "a file"])
def test_root_must_be_an_existing_folder(tmp_path, course, kind):
    root = tmp_path / "no" / "such" / "lab"
    if kind == "a file":
        root = tmp_path / "Vagrantfile"
        root.write_text("")
    code, out, err = lab_check("--course", str(course), "accents", "--guest", "local://", "--root", str(root),
                               cwd=tmp_path)
    assert code == 2
    assert out == ""
    assert err == f"lab.check: --root {root}: {'there is no such folder' if kind == 'missing' else 'not a folder'}" \
                  f"; give the lab folder, the one with the Vagrantfile\n"
    assert not (tmp_path / "no").exists(), "a mistyped --root must not be created"


@pytest.mark.parametrize("where", ["missing-folder/junit.xml", "."])
def test_json_prints_even_when_junit_cannot_be_written(tmp_path, course, where):
    code, out, err = lab_check("--course", str(course), "accents", "--guest", "local://", "--json",
                               "--junit", where, "--gradescope", "results.json", cwd=tmp_path)
    assert json.loads(out)["score"] == 1, "the JSON must still be printed, whole"
    assert json.loads((tmp_path / "results.json").read_text())["score"] == 1, "other reports are still written"
    assert code == 2
    assert err.count("\n") == 1 and err.startswith(f"lab.check: cannot write {where}: ")
    assert err.endswith(": choose another file name\n")


def test_text_report_prints_before_the_write_error(tmp_path, course):
    code, out, err = lab_check("--course", str(course), "accents", "--guest", "local://", "--html",
                               "missing-folder/report.html", cwd=tmp_path)
    assert code == 2
    assert out.splitlines()[-1] == "accents: 1/3"
    assert err == "lab.check: cannot write missing-folder/report.html: No such file or directory: " \
                  "choose another file name\n"


# --- what a check's own processes on this computer print -------------------------------------

HOST_PROCESS_CHECKS = '''
import os
import subprocess
import sys

from lab import Registry

check = Registry()


@check
def runs_children(ctx):
    """a check whose processes print on this computer"""
    subprocess.run(["echo", "a child on stdout"], check=True)
    subprocess.run("echo a child on stderr >&2", shell=True, check=True)
    os.system("printf 'no newline at the end'")
    # Left running, in this process group and in a session of its own: both must be ended.
    here = subprocess.Popen(["sh", "-c", "sleep 20; echo printed after the checker exited"])
    alone = subprocess.Popen(["sh", "-c", "sleep 20 & sleep 20; echo printed after the checker exited"],
                             start_new_session=True)
    with open(os.environ["LAB_TEST_PIDS"], "w") as f:
        f.write(f"{here.pid} {alone.pid}")


@check(depends=runs_children)
def after(ctx):
    """the next check"""
    subprocess.run(["echo", "the next check's child"], check=True)
'''


@pytest.fixture
def host_process_course(tmp_path):
    folder = tmp_path / "hostcourse"
    (folder / "host_checks").mkdir(parents=True)
    (folder / "host_checks" / "__init__.py").write_text("")
    (folder / "host_checks" / "children.py").write_text(HOST_PROCESS_CHECKS)
    (folder / "steps.toml").write_text('format_version = 1\nreplace = true\n[[steps]]\nid = "children"\n'
                                       'title = "Children"\nexercise = "x.md"\nchecks = "host_checks/children.py"\n'
                                       'solution = "x.sh"\n')
    return folder


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie has ended; only its parent, long gone, could have reaped it.
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="finds leftover processes through /proc")
def test_what_a_checks_processes_print_goes_to_its_log_not_over_the_json(tmp_path, host_process_course):
    pids = tmp_path / "pids"
    started = time.monotonic()
    code, out, err = lab_check("--course", str(host_process_course), "children", "--guest", "local://", "--json",
                               "--root", str(tmp_path), cwd=tmp_path, env={"LAB_TEST_PIDS": str(pids)})
    # capture_output reads to the end: a process left holding stdout would have kept it open 20 s.
    assert time.monotonic() - started < 15, "what the check left running was not ended"
    assert (code, err) == (0, ""), err
    results = json.loads(out)  # the whole of stdout is the JSON document, and nothing else
    first, second = results["steps"][0]["checks"]
    assert first["log"] == ["a child on stdout", "a child on stderr", "no newline at the end"]
    assert second["log"] == ["the next check's child"]
    assert "printed after" not in out + err
    assert not any(alive(int(pid)) for pid in pids.read_text().split())
