"""The checker engine without servers: manifest, registry, runner, command strings, reports."""

import json
import time
from pathlib import Path

import pytest

from lab import CouldNotCheck, Fail, Registry
from lab.engine.context import Settings
from lab.guest.system import Guest
from lab.core.manifest import ManifestError, load, order_checks
from lab.core.outcomes import GuestUnreachable
from lab.report import formats
from lab.report.html import to_html
from lab.report.terminal import Terminal
from lab.engine.results import Report, StepReport
from lab.engine.runner import run_checks
from lab.transports.base import CommandResult, Transport, quote_command

pytestmark = pytest.mark.unit

FIXTURE_COURSE = Path(__file__).parent / "fixtures" / "course"


class FakeTransport(Transport):
    """Answers commands from a table and records what was asked."""

    scheme = "fake"

    def __init__(self, answers=None):
        self.answers = answers or {}
        self.commands = []

    def run_command(self, command, timeout):
        self.commands.append(command)
        rc, out = self.answers.get(command, (0, ""))
        return CommandResult(command, rc, out, "")


def settings(tmp_path):
    return Settings(root=tmp_path)


# --- command strings ---------------------------------------------------------

def test_arguments_are_shell_quoted():
    assert quote_command("systemctl is-active %s", "nginx") == "systemctl is-active nginx"
    assert quote_command("cat %s", "/tmp/a b; rm -rf /") == "cat '/tmp/a b; rm -rf /'"
    assert quote_command("echo %s", "$(id)") == "echo '$(id)'"
    assert quote_command("uptime") == "uptime"


@pytest.mark.parametrize("call, command", [
    (lambda g: g.service("nginx").is_active, "systemctl is-active nginx"),
    (lambda g: g.service("likes@1").is_enabled, "systemctl is-enabled likes@1"),
    (lambda g: g.service("likes").show("Restart"), "systemctl show --value -p Restart likes"),
    (lambda g: g.package("nginx").is_installed, "dpkg-query -W -f='${Status}' nginx"),
    (lambda g: g.user("www-data").exists, "getent passwd www-data"),
    (lambda g: g.group("vboxsf").members, "getent group vboxsf"),
    (lambda g: g.file("/etc/my file").content, "sudo -n sh -c 'cat '\"'\"'/etc/my file'\"'\"''"),
    (lambda g: g.file("/x").mode, "sudo -n sh -c 'stat -L -c '\"'\"'%F|%a|%U|%G|%s'\"'\"' /x'"),
    (lambda g: g.socket("tcp://127.0.0.1:8080").is_listening, "sudo -n sh -c 'ss -Hltnp'"),
    (lambda g: g.socket("unix:///run/likes/gunicorn.sock").is_listening, "sudo -n sh -c 'ss -Hlxp'"),
])
def test_helpers_build_quoted_commands(call, command):
    transport = FakeTransport()
    call(Guest(transport))
    assert transport.commands == [command]


def test_helpers_read_answers():
    stat = "sudo -n sh -c 'stat -L -c '\"'\"'%F|%a|%U|%G|%s'\"'\"' /etc/nginx/nginx.conf'"
    guest = Guest(FakeTransport({
        "systemctl is-active nginx": (3, "inactive\n"),
        "dpkg-query -W -f='${Status}' nginx": (0, "install ok installed"),
        stat: (0, "regular file|644|root|root|1447\n"),
        "sudo -n sh -c 'ss -Hltnp'": (0, "LISTEN 0 511 127.0.0.1:8080 0.0.0.0:* users:((\"python3\",pid=812,fd=3))\n"
                                         "LISTEN 0 511 [::]:80 [::]:* users:((\"nginx\",pid=90,fd=7),"
                                         "(\"nginx\",pid=91,fd=7))\n"),
        "sudo -n sh -c 'ss -Hlxp'": (0, "u_str LISTEN 0 2048 /run/likes-1/gunicorn.sock 31337 * 0 "
                                        "users:((\"gunicorn\",pid=700,fd=5),(\"gunicorn\",pid=701,fd=5))\n"),
        "cat /etc/os-release": (0, 'ID=ubuntu\nPRETTY_NAME="Ubuntu 24.04 LTS"\n'),
    }))
    assert guest.service("nginx").state == "inactive"
    assert not guest.service("nginx").is_active
    assert guest.package("nginx").is_installed
    nginx_conf = guest.file("/etc/nginx/nginx.conf")
    assert (nginx_conf.mode, nginx_conf.owner, nginx_conf.is_file) == (0o644, "root", True)
    before = len(guest.transport.commands)
    st = nginx_conf.stat()
    assert (st.kind, st.mode, st.owner, st.group, st.size) == ("regular file", 0o644, "root", "root", 1447)
    assert len(guest.transport.commands) == before + 1  # every fact from one probe
    assert guest.file("/no/such/file").stat() is None
    assert guest.socket("tcp://127.0.0.1:8080").is_listening
    assert not guest.socket("tcp://0.0.0.0:8080").is_listening
    assert guest.socket("tcp://80").is_listening
    assert guest.socket("unix:///run/likes-1/gunicorn.sock").is_listening
    assert not guest.socket("unix:///run/likes/gunicorn.sock").is_listening
    assert guest.listeners() == [("tcp", "127.0.0.1:8080", {812}), ("tcp", "[::]:80", {90, 91}),
                                 ("unix", "/run/likes-1/gunicorn.sock", {700, 701})]
    assert guest.os_release()["PRETTY_NAME"] == "Ubuntu 24.04 LTS"


# --- registry ------------------------------------------------------------------

def test_registry_keeps_checks_in_order_with_their_docstrings():
    check = Registry()

    @check(points=3, timeout=7)
    def first(ctx):
        """the first
        thing, on two lines

        More detail that is not part of the label."""

    @check(depends=first)
    def second(ctx):
        """the second thing"""

    assert [c.name for c in check] == ["first", "second"]
    assert first.description == "the first thing, on two lines"
    assert (first.points, first.timeout, second.points, second.depends) == (3, 7, 1, (first,))


@pytest.mark.parametrize("kwargs, message", [
    ({"points": 0}, "points must be a positive whole number"),
    ({"points": 1.5}, "points must be a positive whole number"),
    ({"timeout": 0}, "timeout must be a positive number"),
    ({"depends": ["nginx_running"]}, "depends must name checks"),
])
def test_registry_refuses_bad_settings(kwargs, message):
    check = Registry()
    with pytest.raises(TypeError, match=message):
        @check(**kwargs)
        def c(ctx):
            """label"""


def test_registry_refuses_a_check_without_docstring():
    check = Registry()
    with pytest.raises(TypeError, match="has no docstring"):
        @check
        def undocumented(ctx):
            pass


# --- manifest --------------------------------------------------------------------

def write_manifest(folder, body, name="steps.toml"):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(body)
    return folder / name


def step_entry(step_id, module, title="a step", extra=""):
    return f"""
[[steps]]
id = "{step_id}"
title = "{title}"
exercise = "ex/{step_id}.md"
checks = "{module}"
solution = "sol/{step_id}.sh"
{extra}
"""


def test_the_kits_manifest_loads():
    manifest = load()
    assert manifest.ids()[0] == "step1"
    assert all(step.checks for step in manifest.steps)


def test_fixture_course_replaces_the_kits_steps():
    manifest = load(course=FIXTURE_COURSE)
    assert manifest.ids() == ["good", "mixed", "stuck"]
    mixed = manifest.step("mixed")
    echo = manifest.find_check("echo_works")
    assert manifest.find_check("missing_file").depends == (echo,)  # imported, not copied
    assert mixed.max_points == 6


@pytest.mark.parametrize("body, message", [
    ("format_version = 2\n", "format_version 2"),
    ("steps = []\n", "format_version None"),
    ("format_version = 1\ncolour = 'red'\n", "unknown top-level key"),
    ("format_version = 1\n[[steps]]\nid = 'a'\n", "missing title, exercise, checks, solution"),
    ("format_version = 1\n" + step_entry("Step One", "x.py"), "must be lower case"),
    ("format_version = 1\n" + step_entry("a", "x.py", extra="hint = 'x'"), "unknown key(s) hint"),
    ("format_version = 1\n" + step_entry("a", "x.py") + step_entry("a", "y.py"), "used twice"),
    ("format_version = 1\n[[steps]\n", "not valid TOML"),
])
def test_manifest_errors_say_what_is_wrong(tmp_path, body, message):
    with pytest.raises(ManifestError) as err:
        load(write_manifest(tmp_path, body))
    assert message in str(err.value)


def test_course_adds_replaces_and_inserts(tmp_path):
    checks_src = 'from lab import Registry\ncheck = Registry()\n@check\ndef ok(ctx):\n    """fine"""\n'
    base = tmp_path / "base"
    for name in ("b1", "b2", "b3"):
        (base / "basechecks").mkdir(parents=True, exist_ok=True)
        (base / "basechecks" / f"{name}.py").write_text(checks_src)
    (base / "basechecks" / "__init__.py").write_text("")
    base_file = write_manifest(base, "format_version = 1\n" + "".join(
        step_entry(n, f"basechecks/{n}.py") for n in ("b1", "b2", "b3")))
    course = tmp_path / "course"
    (course / "coursechecks").mkdir(parents=True)
    (course / "coursechecks" / "__init__.py").write_text("")
    for name in ("b2", "extra", "last"):
        (course / "coursechecks" / f"{name}.py").write_text(checks_src)
    write_manifest(course, "format_version = 1\n"
                   + step_entry("b2", "coursechecks/b2.py", title="replaced")
                   + step_entry("extra", "coursechecks/extra.py", extra='after = "b1"')
                   + step_entry("last", "coursechecks/last.py"))
    manifest = load(base_file, course=course)
    assert manifest.ids() == ["b1", "extra", "b2", "b3", "last"]
    assert manifest.step("b2").title == "replaced"
    assert manifest.select(["b1..b2"]) == [manifest.step(i) for i in ("b1", "extra", "b2")]


def test_course_omits_the_kits_extension_step(tmp_path):
    course = tmp_path / "course"
    write_manifest(course, 'format_version = 1\nomit = ["step11"]\n')
    manifest = load(course=course)
    assert manifest.ids() == [f"step{n}" for n in range(1, 11)]
    write_manifest(course, 'format_version = 1\nomit = ["step12"]\n')
    with pytest.raises(ManifestError, match="the course omits 'step12', which is not a step of the kit"):
        load(course=course)
    write_manifest(course, 'format_version = 1\nomit = "step11"\n')
    with pytest.raises(ManifestError, match="omit must be a list of step ids"):
        load(course=course)


def test_course_with_a_missing_after_is_an_error(tmp_path):
    course = tmp_path / "course"
    write_manifest(course, "format_version = 1\n" + step_entry("x", "x.py", extra='after = "nope"'))
    with pytest.raises(ManifestError, match="after 'nope', which is not a step"):
        load(course=course)


def test_broken_check_module_names_its_file(tmp_path):
    (tmp_path / "brokenchecks").mkdir()
    (tmp_path / "brokenchecks" / "__init__.py").write_text("")
    (tmp_path / "brokenchecks" / "bad.py").write_text("def oops(:\n")
    with pytest.raises(ManifestError, match=r"cannot import .*bad.py: SyntaxError"):
        load(write_manifest(tmp_path, "format_version = 1\n" + step_entry("a", "brokenchecks/bad.py")))


def test_selectors():
    manifest = load(course=FIXTURE_COURSE)
    assert [s.id for s in manifest.select(["all"])] == ["good", "mixed", "stuck"]
    assert [s.id for s in manifest.select(["stuck", "good"])] == ["good", "stuck"]
    assert [s.id for s in manifest.select(["good..mixed"])] == ["good", "mixed"]
    with pytest.raises(ManifestError, match="runs backwards"):
        manifest.select(["stuck..good"])
    with pytest.raises(ManifestError, match="there is no step 'step9'; the steps are good, mixed, stuck"):
        manifest.select(["9"])
    with pytest.raises(ManifestError, match="there is no check"):
        manifest.find_check("nope")


def test_dependency_cycles_are_refused():
    check = Registry()

    @check
    def a(ctx):
        """a"""

    @check(depends=a)
    def b(ctx):
        """b"""

    a.depends = (b,)
    with pytest.raises(ManifestError, match="in a circle"):
        order_checks([a, b])


# --- runner ---------------------------------------------------------------------

def make_checks():
    check = Registry()

    @check(points=2)
    def passes(ctx):
        """passes"""
        ctx.guest.run("true")

    @check(depends=passes)
    def fails(ctx):
        """fails"""
        raise Fail("expected x, got y", hint="try z", expected="x", actual="y")

    @check(depends=fails)
    def skipped(ctx):
        """skipped"""

    @check
    def crashes(ctx):
        """crashes"""
        raise ZeroDivisionError("division by zero")

    @check(timeout=0.2)
    def hangs(ctx):
        """hangs"""
        time.sleep(5)

    @check
    def env(ctx):
        """environment"""
        raise CouldNotCheck("the port is closed", "run vagrant reload")

    @check(depends=env)
    def after_env(ctx):
        """after env"""

    @check
    def asserts(ctx):
        """asserts"""
        assert 1 == 2, "one is not two"

    for c in check:
        c.step = "s"
    return {c.name: c for c in check}


def test_runner_outcomes(tmp_path):
    checks = make_checks()
    started = time.monotonic()
    results = run_checks(list(checks.values()), FakeTransport(), settings(tmp_path))
    assert time.monotonic() - started < 3, "the hung check was not abandoned at its timeout"
    status = {c.name: r.status for c, r in results.items()}
    assert status == {"passes": "passed", "fails": "failed", "skipped": "skipped", "crashes": "error",
                      "hangs": "could not check", "env": "could not check", "after_env": "skipped",
                      "asserts": "failed"}
    by_name = {c.name: r for c, r in results.items()}
    assert by_name["passes"].log == ["$ true  -> rc=0"]
    assert by_name["fails"].hint == "try z"
    assert by_name["skipped"].rationale == 'can\'t check until "fails" passes'
    assert by_name["after_env"].rationale == 'can\'t check until "environment" could not be checked'
    assert by_name["crashes"].rationale == "the check itself crashed: ZeroDivisionError: division by zero"
    assert "did not finish within 0.2 s" in by_name["hangs"].rationale
    assert by_name["env"].rationale == "the port is closed: run vagrant reload"
    assert by_name["asserts"].rationale == "one is not two"


def test_debug_keeps_the_traceback(tmp_path):
    crashes = make_checks()["crashes"]
    results = run_checks([crashes], FakeTransport(), Settings(root=tmp_path, debug=True))
    assert "Traceback" in results[crashes].log[-1]
    assert results[crashes].hint is None


def test_losing_the_guest_stops_the_run(tmp_path):
    check = Registry()

    @check
    def first(ctx):
        """first"""
        raise GuestUnreachable("lost the SSH connection", "is the VM running?")

    @check
    def second(ctx):
        """second"""
        raise AssertionError("must not run")

    transport = FakeTransport()
    results = run_checks([first, second], transport, settings(tmp_path))
    assert [r.status for r in results.values()] == ["could not check"] * 2
    assert results[second].rationale == "lost the SSH connection: is the VM running?"


def test_target_runs_what_it_needs_only(tmp_path):
    checks = make_checks()
    results = run_checks([checks["skipped"]], FakeTransport(), settings(tmp_path))
    assert [c.name for c in results] == ["passes", "fails", "skipped"]


# --- reports -----------------------------------------------------------------------

@pytest.fixture
def report(tmp_path):
    manifest = load(course=FIXTURE_COURSE)
    checks = make_checks()
    results = run_checks(list(checks.values()), FakeTransport(), settings(tmp_path))
    step = manifest.step("mixed")
    return Report([StepReport(step, list(results.values()))], guest="fake guest")


def test_json_report(report):
    data = json.loads(formats.to_json(report.as_dict()))
    assert (data["score"], data["max_score"], data["exit_code"]) == (2, 9, 2)
    first = data["steps"][0]["checks"][1]
    assert {k: first[k] for k in ("name", "description", "passed", "points", "rationale", "hint", "expected",
                                  "actual")} == {"name": "fails", "description": "fails", "passed": False,
                                                 "points": 0, "rationale": "expected x, got y",
                                                 "hint": "try z", "expected": "x", "actual": "y"}
    assert [c["passed"] for c in data["steps"][0]["checks"]] == [True, False, None, False, None, None, None,
                                                                   False]
    assert data["steps"][0]["checks"][0]["log"] == ["$ true  -> rc=0"]


def test_junit_report_parses_back(report, tmp_path):
    from junitparser import Error, Failure, JUnitXml, Skipped

    path = tmp_path / "junit.xml"
    path.write_text(formats.to_junit(report.as_dict()))
    xml = JUnitXml.fromfile(str(path))
    suite = next(iter(xml))
    assert suite.name == "mixed: A failure, a skip and a crash"
    assert (suite.tests, suite.failures, suite.errors, suite.skipped) == (8, 2, 3, 2)
    cases = {case.name: case for case in suite}
    assert cases["passes"].is_passed
    failure = cases["fails"].result[0]
    assert isinstance(failure, Failure) and failure.message == "expected x, got y"
    assert "hint: try z" in failure.text
    assert isinstance(cases["crashes"].result[0], Error)
    assert isinstance(cases["skipped"].result[0], Skipped)


def test_gradescope_shape(report):
    data = json.loads(formats.to_gradescope(report.as_dict()))
    assert data["score"] == 2
    assert len(data["tests"]) == 8
    for test in data["tests"]:
        assert set(test) >= {"name", "score", "max_score", "status", "output"}
        assert test["status"] in ("passed", "failed")
        assert isinstance(test["score"], (int, float)) and 0 <= test["score"] <= test["max_score"]
    assert sum(t["max_score"] for t in data["tests"]) == 9
    failed = next(t for t in data["tests"] if t["name"] == "mixed: fails")
    assert failed["status"] == "failed" and "hint: try z" in failed["output"]


def test_html_report_is_self_contained_and_escaped(report):
    report.steps[0].results[1].rationale = "<script>alert(1)</script>"
    page = to_html(report.as_dict())
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page
    assert "http" not in page.replace("http-equiv", "")  # no external stylesheet, script or font
    assert 'style="width: 22.2%"' in page


class FakeStream:
    def __init__(self, tty, encoding="utf-8"):
        self.tty, self.encoding, self.text = tty, encoding, ""

    def isatty(self):
        return self.tty

    def write(self, s):
        self.text += s

    def flush(self):
        pass


def test_terminal_colour_only_on_a_tty_without_no_color(report, monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    for tty, expect_colour in ((True, True), (False, False)):
        stream = FakeStream(tty)
        Terminal(stream).result(report.steps[0].results[1].as_dict())
        assert ("\033[" in stream.text) is expect_colour
    monkeypatch.setenv("NO_COLOR", "1")
    stream = FakeStream(True)
    Terminal(stream).result(report.steps[0].results[1].as_dict())
    assert "\033[" not in stream.text
    assert stream.text.splitlines() == ["  ✗ fails (0/1)", "      expected x, got y", "      expected: x",
                                        "      actual: y", "      hint: try z"]


def test_terminal_falls_back_to_ascii_marks(report):
    stream = FakeStream(False, encoding="cp1252")
    Terminal(stream).result(report.steps[0].results[0].as_dict())
    assert stream.text == "  + passes (2/2)\n"


# --- HTTP: which redirects the checks follow to HTTPS ---------------------------

@pytest.mark.parametrize("status, location, followed", [
    (301, "https://127.0.0.1:8443/likes?x=1", True),
    (308, "https://localhost:8443/likes?x=1", True),       # another name for the same machine
    (301, "https://127.0.0.1/likes?x=1", False),           # port 443, not the one forwarded here
    (301, "https://127.0.0.1:8443/", False),               # a different page
    (301, "https://127.0.0.1:8443/likes", False),          # the query was dropped
    (301, "http://127.0.0.1:8500/elsewhere", False),       # not an upgrade
    (200, "https://127.0.0.1:8443/likes?x=1", False),      # not a redirect
])
def test_checks_follow_only_the_sites_own_upgrade_to_https(status, location, followed):
    from lab.guest.http import Http, HttpResponse

    http = Http("http://127.0.0.1:8500", https_base="https://127.0.0.1:8443")
    asked = "http://127.0.0.1:8500/likes?x=1"
    response = HttpResponse(asked, status, "", {"Location": location}, b"")
    assert http.upgrade_target(response) == (location if followed else None)
    # Without a forwarded HTTPS port there is nowhere to follow to.
    assert Http("http://127.0.0.1:8500").upgrade_target(response) is None


def test_no_forwarded_https_port_is_could_not_check():
    from lab.guest.http import Http

    with pytest.raises(CouldNotCheck, match="no port on this machine is forwarded to the guest's port 443"):
        Http("http://127.0.0.1:8500").https_url("/likes")


def test_vagrant_transport_reads_the_ports_as_the_vagrantfile_does(tmp_path, monkeypatch):
    from lab.transports.vagrant import configured_port

    monkeypatch.delenv("LAB_HTTP_PORT", raising=False)
    monkeypatch.delenv("LAB_HTTPS_PORT", raising=False)
    assert (configured_port(tmp_path, "http_port"), configured_port(tmp_path, "https_port")) == (8500, 8443)
    (tmp_path / "lab.default.yml").write_text("http_port: 8500\nhttps_port: 8443\n")
    (tmp_path / "lab.yml").write_text("https_port: 9443  # mine\n")
    assert configured_port(tmp_path, "https_port") == 9443
    assert configured_port(tmp_path, "http_port") == 8500
    monkeypatch.setenv("LAB_HTTPS_PORT", "10443")
    assert configured_port(tmp_path, "https_port") == 10443


def test_wait_for_returns_the_last_value_whether_or_not_it_settled():
    from lab.engine.context import Context

    ctx = Context(guest=None, http=None, settings=None)
    values = iter(["activating", "activating", "active", "never read"])
    assert ctx.wait_for(lambda: next(values), until=lambda s: s == "active", timeout=5, interval=0.01) == "active"
    assert ctx.wait_for(lambda: "failed", until=lambda s: s == "active", timeout=0.05, interval=0.01) == "failed"
    counts = iter(range(10))
    assert ctx.wait_for(lambda: next(counts), timeout=5, interval=0.01) == 1  # the default: the first true value


def test_wait_until_serving_returns_the_units_still_not_serving():
    """The wait steps 6 and 8 share after a restart, the engine's now rather than step 6's."""
    from types import SimpleNamespace

    from lab.engine.context import Context

    asked = {"likes@1": 0, "likes@2": 0}

    def service(unit):
        asked[unit] += 1
        return SimpleNamespace(is_serving=unit == "likes@1" and asked[unit] >= 2)  # likes@2 never comes back

    ctx = Context(guest=SimpleNamespace(service=service), http=None, settings=None)
    assert ctx.wait_until_serving(["likes@1"], timeout=5) == []
    assert ctx.wait_until_serving(["likes@1", "likes@2"], timeout=0) == ["likes@2"]


# -- an answer that should be the app's JSON (HttpResponse.expect_json) -----------------

def answer(status, reason, body, content_type):
    from lab.guest.http import HttpResponse

    return HttpResponse("http://127.0.0.1:8500/whoami", status, reason, {"Content-Type": content_type}, body)


def test_expect_json_gives_the_apps_json():
    assert answer(200, "OK", b'{"pid": 7}', "application/json").expect_json(hint="x") == {"pid": 7}


def test_expect_json_fails_on_a_bad_gateway():
    page = b"<html><head><title>502 Bad Gateway</title></head><body></body></html>"
    with pytest.raises(Fail) as failure:
        answer(502, "Bad Gateway", page, "text/html").expect_json(hint="is gunicorn running?")
    assert failure.value.rationale == "GET http://127.0.0.1:8500/whoami answered 502 Bad Gateway"
    assert failure.value.hint == "is gunicorn running?"


def test_expect_json_fails_on_an_html_page_that_says_200():
    with pytest.raises(Fail) as failure:
        answer(200, "OK", b"<!DOCTYPE html><html><body>Welcome</body></html>", "text/html").expect_json()
    assert failure.value.rationale == ("GET http://127.0.0.1:8500/whoami answered 200 OK with an HTML page "
                                       "(text/html), not JSON")
    assert failure.value.hint  # a default hint when the check gives none


def test_expect_json_fails_on_json_nested_too_deeply_to_read():
    deep = b"[" * 100_000 + b"]" * 100_000
    with pytest.raises(Fail) as failure:
        answer(200, "OK", deep, "application/json").expect_json(hint="is the likes app answering?")
    assert failure.value.rationale == ("GET http://127.0.0.1:8500/whoami answered 200 OK with JSON nested too "
                                       "deeply to read")
