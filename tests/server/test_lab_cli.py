"""`python -m lab.check` as a student runs it: the fixture steps through the real
CLI, and every environment fault reproduced for real, each ending in one line
and exit code 2, never a traceback."""

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.support.localservers import REPO, free_port
from tests.support.paths import COURSE
from tests.support.sshd import Sshd


def lab_check(*args, cwd, env=None, timeout=60):
    run = subprocess.run([sys.executable, "-m", "lab.check", *args], cwd=cwd, capture_output=True, text=True,
                         timeout=timeout, env={**os.environ, "PYTHONIOENCODING": "utf-8", **(env or {})})
    assert "Traceback" not in run.stdout + run.stderr
    return run


def closed_guest(port=None):
    return f"local://?http=http://127.0.0.1:{port or free_port()}"


def test_list_shows_steps_and_checks(tmp_path):
    run = lab_check("--list", cwd=tmp_path)
    assert run.returncode == 0
    # 7 points of checks, and a point for each of its 4 concept questions, listed after them
    assert "step1: The virtual machine (11 points)" in run.stdout
    assert "shared_folder" in run.stdout
    assert "  q1                                1  question q1: Which machine does a command run on" in run.stdout


def test_passing_step_exits_0(tmp_path):
    run = lab_check("--course", str(COURSE), "good", "--guest", "local://", cwd=tmp_path)
    assert run.returncode == 0, run.stdout
    assert run.stdout.splitlines() == [
        "good: Everything passes",
        "  ✓ the shell echoes a quoted argument back (2/2)",
        "  ✓ the root user exists (1/1)",
        "  ✓ a value that settles within the time given is seen (3/3)",
        "  ○ a check about a Vagrant VM itself, not applicable on other guests (0/0)",
        "      not applicable: a check of vagrant:// guests only; this guest is local://, so it counts neither way",
        "",
        "good: 6/6",
    ]


def test_failures_skips_and_crashes_read_well(tmp_path):
    run = lab_check("--course", str(COURSE), "mixed", "--guest", "local://", cwd=tmp_path,
                    env={"PYTHONIOENCODING": "utf-8"})
    assert run.returncode == 1
    assert run.stdout.splitlines() == [
        "mixed: A failure, a skip and a crash",
        "  ✗ /etc/lab-fixture-missing exists (0/2)",
        "      expected the file /etc/lab-fixture-missing, found nothing there",
        "      hint: create it with `sudo touch /etc/lab-fixture-missing`",
        "  – the missing file is not empty (0/1)",
        '      can\'t check until "/etc/lab-fixture-missing exists" passes',
        "  ✗ a check with a bug in it (0/2)",
        "      the check itself crashed: KeyError: 'no such key'",
        "      hint: run again with --debug to see where; tell your instructor",
        "  ✓ a check that passes among the failures (1/1)",
        "",
        "mixed: 1/6",
    ]


def test_debug_shows_the_traceback_of_a_crashed_check(tmp_path):
    run = subprocess.run([sys.executable, "-m", "lab.check", "--course", str(COURSE), "--target", "crashes",
                          "--guest", "local://", "--debug"], cwd=tmp_path, capture_output=True, text=True)
    assert run.returncode == 1
    assert "Traceback" in run.stdout and "KeyError" in run.stdout


def test_target_runs_one_check_and_its_needs(tmp_path):
    run = lab_check("--course", str(COURSE), "--target", "missing_file", "--guest", "local://", cwd=tmp_path)
    assert run.returncode == 1
    lines = run.stdout.splitlines()
    assert lines[0] == "good: Everything passes"
    assert "the shell echoes a quoted argument back" in lines[1]
    assert "/etc/lab-fixture-missing exists" in lines[3]
    assert "root user" not in run.stdout and "a check with a bug" not in run.stdout
    assert not (tmp_path / ".lab" / "progress.json").exists(), "a partial run must not count as a step's score"


def test_every_report_format_and_progress(tmp_path):
    run = lab_check("--course", str(COURSE), "good..stuck", "--guest", closed_guest(), "--json",
                    "--junit", "junit.xml", "--gradescope", "results.json", "--html", "report.html", cwd=tmp_path)
    assert run.returncode == 2
    data = json.loads(run.stdout)
    assert [s["id"] for s in data["steps"]] == ["good", "mixed", "stuck"]
    assert (data["score"], data["max_score"]) == (7, 16)
    assert json.loads((tmp_path / "results.json").read_text())["score"] == 7
    assert "<testsuites" in (tmp_path / "junit.xml").read_text()
    assert "Lab check: 7/16 points" in (tmp_path / "report.html").read_text()

    lab_check("--course", str(COURSE), "good", "--guest", "local://", cwd=tmp_path)
    status = lab_check("--course", str(COURSE), "status", cwd=tmp_path)
    assert status.returncode == 0
    rows = {line.split()[0]: line.split() for line in status.stdout.splitlines()[2:]}
    assert rows["good"][-4:-2] == ["6/6", "6/6"]
    assert rows["mixed"][-4:-2] == ["1/6", "1/6"]
    assert rows["stuck"][-4:-2] == ["0/4", "0/4"]
    progress = json.loads((tmp_path / ".lab" / "progress.json").read_text())
    assert progress["steps"]["mixed"] == {**progress["steps"]["mixed"], "last": 1, "best": 1, "max": 6}


def test_no_arguments_prints_the_status_table_and_how_to_check(tmp_path):
    run = lab_check(cwd=tmp_path)
    assert run.returncode == 0
    assert run.stdout.splitlines()[2].split()[:1] == ["step1"]
    assert "never" in run.stdout
    assert "python -m lab.check step1" in run.stdout


@pytest.mark.parametrize("args, message", [
    (["step42"], "lab.check: there is no step 'step42'; the steps are step1"),
    (["--target", "nope"], "lab.check: there is no check 'nope'"),
    (["--course", "/nonexistent", "step1"], "lab.check: the course folder /nonexistent has no steps.toml"),
    (["step1", "--guest", "ftp://x"], "could not check: unknown guest address 'ftp://x': use one of vagrant://, "
                                      "ssh://, local://"),
])
def test_bad_arguments_are_one_line_and_exit_2(tmp_path, args, message):
    run = lab_check(*args, cwd=tmp_path)
    assert run.returncode == 2
    output = (run.stderr + run.stdout).strip()
    assert output.startswith(message)
    assert output.count("\n") == 0


# --- environment faults ------------------------------------------------------------

def fault_line(run):
    """The one line that explains an environment fault."""
    lines = [line for line in run.stdout.splitlines() if "could not check" in line]
    assert lines, run.stdout + run.stderr
    return lines[0].strip()


def test_closed_port(tmp_path):
    port = free_port()
    run = lab_check("--course", str(COURSE), "--target", "web_answers", "--guest", closed_guest(port),
                    cwd=tmp_path)
    assert run.returncode == 2
    assert fault_line(run) == (f"could not check: nothing accepts connections at http://127.0.0.1:{port}: "
                               "is the web server running? try `sudo systemctl status nginx`")


@pytest.fixture
def silent_server():
    """A socket server that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held = []
    stop = threading.Event()

    def accept():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                pass

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def test_server_that_never_answers(tmp_path, silent_server):
    run = lab_check("--course", str(COURSE), "--target", "web_answers", "--guest", closed_guest(silent_server),
                    cwd=tmp_path)
    assert run.returncode == 2
    assert fault_line(run) == (f"could not check: http://127.0.0.1:{silent_server}/likes accepted the connection "
                               "but did not answer within 5 s: a server in the guest is stuck; restart it, "
                               "e.g. `sudo systemctl restart nginx`")


class _Canned(BaseHTTPRequestHandler):
    body = b""
    content_type = "text/html"

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", self.content_type)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        try:
            self.wfile.write(self.body)
        except OSError:  # the checker hung up after its 1 MiB
            pass

    def log_message(self, *args):
        pass


@pytest.fixture
def canned_server():
    servers = []

    def start(body, content_type):
        handler = type("Handler", (_Canned,), {"body": body, "content_type": content_type})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server.server_address[1]

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_html_where_json_was_expected(tmp_path, canned_server):
    port = canned_server(b"<html><body><h1>Welcome to nginx!</h1></body></html>", "text/html")
    run = lab_check("--course", str(COURSE), "--target", "web_answers", "--guest", closed_guest(port), cwd=tmp_path)
    assert run.returncode == 2
    assert fault_line(run) == (f"could not check: expected JSON from http://127.0.0.1:{port}/likes, got an HTML "
                               "page (text/html): is something other than the likes app answering there?")


def test_a_10_mb_body(tmp_path, canned_server):
    port = canned_server(b"x" * (10 * 1024 * 1024), "application/json")
    run = lab_check("--course", str(COURSE), "--target", "web_answers", "--guest", closed_guest(port), cwd=tmp_path)
    assert run.returncode == 2
    assert fault_line(run).startswith(f"could not check: http://127.0.0.1:{port}/likes sent more than 1 MiB")


def test_sshd_stopped_mid_run(tmp_path):
    """The second check stops sshd and drops its own session; the run ends in one clear line."""
    course = tmp_path / "course"
    (course / "midrun_checks").mkdir(parents=True)
    (course / "midrun_checks" / "__init__.py").write_text("")
    (course / "midrun_checks" / "steps.py").write_text('''
from lab import Registry
check = Registry()

@check
def first(ctx):
    """the first check reaches the guest"""
    assert ctx.guest.run("true").ok

@check
def pull_the_plug(ctx):
    """sshd goes away"""
    # Stop the daemon, then end this very session by killing its sshd process.
    ctx.guest.run("kill $(cat %s); kill -9 $PPID", ctx.settings.root / "sshd" / "sshd.pid")

@check
def third(ctx):
    """a check after the connection is gone"""
    ctx.guest.run("true")
''')
    (course / "steps.toml").write_text('''format_version = 1
replace = true
[[steps]]
id = "midrun"
title = "sshd goes away"
exercise = "x.md"
checks = "midrun_checks/steps.py"
solution = "x.sh"
''')
    with Sshd(tmp_path / "sshd") as sshd:
        run = lab_check("--course", str(course), "midrun", "--guest", sshd.url(), cwd=tmp_path)
        assert not sshd.pid_file.exists(), "sshd should have been stopped by the check"
    assert run.returncode == 2
    lines = run.stdout.splitlines()
    assert "✓ the first check reaches the guest (1/1)" in lines[1]
    assert "? sshd goes away (0/1)" in lines[2]
    assert lines[3].startswith("      could not check: lost the SSH connection to ")
    assert lines[3].endswith("is the machine still running? check, then run the checker again")
    assert "? a check after the connection is gone" in lines[4]


def test_ssh_refused_at_start(tmp_path):
    port = free_port()
    run = lab_check("step1", "--guest", f"ssh://root@127.0.0.1:{port}", cwd=tmp_path)
    assert run.returncode == 2
    assert fault_line(run) == f"could not check: SSH at 127.0.0.1:{port} refused the connection: " \
                              "is the machine running?"


@pytest.fixture
def lab_folder(tmp_path):
    """A lab folder: the kit's Vagrantfile (or a stand-in before it exists) and nothing created yet."""
    folder = tmp_path / "lab"
    folder.mkdir()
    source = REPO / "Vagrantfile"
    (folder / "Vagrantfile").write_text(source.read_text() if source.exists() else 'Vagrant.configure("2") { }\n')
    return folder


def test_no_vagrant_on_path(lab_folder, tmp_path):
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    run = lab_check("step1", cwd=lab_folder, env={"PATH": str(empty)})
    assert run.returncode == 2
    assert fault_line(run).startswith("could not check: vagrant is not installed (no `vagrant` command on PATH): "
                                      "install Vagrant")


@pytest.mark.skipif(shutil.which("vagrant") is None, reason="tests/run installs Debian's vagrant")
@pytest.mark.parametrize("with_empty_dot_vagrant", [False, True])
def test_no_vm_created_yet(lab_folder, with_empty_dot_vagrant):
    if with_empty_dot_vagrant:
        (lab_folder / ".vagrant" / "machines" / "default" / "libvirt").mkdir(parents=True)
    run = lab_check("step1", cwd=lab_folder)
    assert run.returncode == 2
    assert fault_line(run) == f"could not check: no VM has been created yet: run `vagrant up` in {lab_folder}"
    assert run.stdout.count("\n") == 1, "the whole answer is that one line"


def test_list_with_json_prints_the_steps_and_checks_as_json(tmp_path):
    run = lab_check("--course", str(COURSE), "--list", "--json", cwd=tmp_path)
    assert (run.returncode, run.stderr) == (0, "")
    steps = {step["id"]: step for step in json.loads(run.stdout)["steps"]}
    assert list(steps) == ["good", "mixed", "stuck"]
    assert (steps["mixed"]["title"], steps["mixed"]["max_score"]) == ("A failure, a skip and a crash", 6)
    by_name = {check["name"]: check for check in steps["mixed"]["checks"]}
    assert by_name["needs_missing_file"] == {
        "name": "needs_missing_file", "step": "mixed", "description": "the missing file is not empty",
        "max_points": 1, "separate": False, "depends": ["mixed.missing_file"], "applies_to": None}
    assert steps["mixed"]["questions_max_score"] == 0  # questions = "count" keeps no score apart
    assert by_name["missing_file"]["depends"] == ["good.echo_works"]
    assert [c["applies_to"] for c in steps["good"]["checks"]][-1] == ["vagrant"]


def test_a_step_beside_target_is_where_the_check_is_looked_for(tmp_path):
    run = lab_check("--course", str(COURSE), "good", "--target", "echo_works", "--guest", "local://",
                    cwd=tmp_path)
    assert run.returncode == 0 and "echoes a quoted argument" in run.stdout, run.stdout + run.stderr
    # Not in that step: it is not found there, rather than run from another step as if no step were given.
    run = lab_check("--course", str(COURSE), "mixed", "--target", "echo_works", "--guest", "local://",
                    cwd=tmp_path)
    assert (run.returncode, run.stdout) == (2, "")
    assert run.stderr == ("lab.check: there is no check 'mixed.echo_works'; `python -m lab.check --list` "
                          "lists them\n")


@pytest.mark.parametrize("steps", [["status"], ["good", "mixed"], ["good..mixed"], ["all"]])
def test_steps_beside_target_that_it_would_ignore_are_refused(tmp_path, steps):
    run = lab_check("--course", str(COURSE), *steps, "--target", "mixed.crashes", "--guest", "local://",
                    cwd=tmp_path)
    assert (run.returncode, run.stdout) == (2, "")
    assert run.stderr == (f"lab.check: --target runs one check and what it needs, so give it one step at most, "
                          f"the check's own: {' '.join(steps)} beside --target mixed.crashes would be ignored; "
                          f"write `--target step.name` alone, here --target mixed.crashes\n")


def test_a_step_beside_target_naming_another_steps_check_is_refused(tmp_path):
    run = lab_check("--course", str(COURSE), "good", "--target", "mixed.crashes", "--guest", "local://",
                    cwd=tmp_path)
    assert run.returncode == 2 and "good beside --target mixed.crashes would be ignored" in run.stderr
