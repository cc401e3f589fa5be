"""Every report is rendered from the one results dictionary, and every status looks the
same in each: the renderers fed a hand-written dictionary (which pins its format) and a
real run of fixture checks, the status table, a saved run rendered again with
--from-json in process, and saved files that are damaged."""

import json
import re
import xml.etree.ElementTree as ET
from types import SimpleNamespace

import pytest

from lab import check as lab_check_module
from lab.core.manifest import load
from lab.engine.results import ALL_STATUSES, PASSED, RESULTS_FORMAT, Report, Result, StepReport, check_results
from lab.engine.runner import run_checks
from lab.report import formats
from lab.report.html import to_html
from lab.report.statuses import STATUSES, TABLE
from lab.report.terminal import Terminal
from tests.support.engine_fakes import FakeTransport, make_checks, settings
from tests.support.gradescope import a_course, gradescope_of
from tests.support.paths import COURSE as FIXTURE_COURSE
from tests.support.paths import FIXTURES, REPO
from tests.support.wcag import contrast

LAB = REPO / "lab"
TRACEBACK = "Traceback (most recent call last):\n  File \"checks/web.py\", line 9, in crashes\nKeyError: 'x'\n"

# Written out in full, not produced by the code under test: a change to the format shows up here.
RESULTS = {
    "format": 1,
    "checked_at": "2024-03-05T14:07:09",
    "score": 3,
    "max_score": 9,
    "questions_score": 0,
    "questions_max_score": 0,
    "exit_code": 2,
    "guest": "vagrant://default (127.0.0.1:2222)",
    "fault": None,
    "steps": [
        {
            "id": "web",
            "title": "Le café → served",
            "score": 2,
            "max_score": 8,
            "questions_score": 0,
            "questions_max_score": 0,
            "kit_solved": None,
            "kit_policy": "flag",
            "checks": [
                {"name": "installed", "step": "web", "description": "nginx is installed", "status": "passed",
                 "passed": True, "points": 2, "max_points": 2, "separate": False, "rationale": None, "hint": None,
                 "expected": None, "actual": None, "log": ["$ dpkg-query -W nginx  -> rc=0"], "duration": 0.25,
                 "visibility": "visible"},
                {"name": "proxies", "step": "web", "description": "nginx passes / to the app", "status": "failed",
                 "passed": False, "points": 0, "max_points": 3, "separate": False,
                 "rationale": "expected HTTP 200 from http://127.0.0.1:8500/likes, got 502 Bad Gateway",
                 "hint": "is the app running? try `systemctl status likes`", "expected": 200, "actual": 502,
                 "log": [], "duration": 0.5, "visibility": "visible"},
                {"name": "likes_saved", "step": "web", "description": "a like is saved", "status": "skipped",
                 "passed": None, "points": 0, "max_points": 1, "separate": False,
                 "rationale": "can't check until \"nginx passes / to the app\" passes", "hint": None,
                 "expected": None, "actual": None, "log": [], "duration": 0.0, "visibility": "visible"},
                {"name": "crashes", "step": "web", "description": "a check with a bug", "status": "error",
                 "passed": False, "points": 0, "max_points": 1, "separate": False,
                 "rationale": "the check itself crashed: KeyError: 'x'", "hint": None, "expected": None,
                 "actual": None, "log": [TRACEBACK], "duration": 0.125, "visibility": "visible"},
                {"name": "firewall", "step": "web", "description": "ufw allows <ssh>", "status": "could not check",
                 "passed": None, "points": 0, "max_points": 1, "separate": False,
                 "rationale": "sudo asks for a password: let vagrant run sudo without one", "hint": None,
                 "expected": None, "actual": None, "log": [], "duration": 1.0, "visibility": "visible"},
            ],
        },
        {
            "id": "vm",
            "title": "The virtual machine",
            "score": 1,
            "max_score": 1,
            "questions_score": 0,
            "questions_max_score": 0,
            "kit_solved": None,
            "kit_policy": "flag",
            "checks": [
                {"name": "up", "step": "vm", "description": "the VM is up", "status": "passed", "passed": True,
                 "points": 1, "max_points": 1, "separate": False, "rationale": None, "hint": None, "expected": None, "actual": None,
                 "log": [], "duration": 0.0, "visibility": "visible"},
            ],
        },
    ],
}

FAULT = {**RESULTS, "score": 0, "max_score": 0, "steps": [],
         "fault": "vagrant is not installed: install it from https://www.vagrantup.com"}


class Stream:
    """A console: a tty or not, in an encoding."""

    def __init__(self, encoding="utf-8", tty=False):
        self.encoding, self.tty, self.text = encoding, tty, ""

    def isatty(self):
        return self.tty

    def write(self, s):
        self.text += s

    def flush(self):
        pass


# --- every renderer, from the hand-written dictionary ---------------------------------------

def test_terminal_renders_a_whole_run(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    stream = Stream()
    Terminal(stream).render(RESULTS)
    assert stream.text.splitlines() == [
        "web: Le café → served",
        "  ✓ nginx is installed (2/2)",
        "  ✗ nginx passes / to the app (0/3)",
        "      expected HTTP 200 from http://127.0.0.1:8500/likes, got 502 Bad Gateway",
        "      expected: 200",
        "      actual: 502",
        "      hint: is the app running? try `systemctl status likes`",
        "  – a like is saved (0/1)",
        "      can't check until \"nginx passes / to the app\" passes",
        "  ✗ a check with a bug (0/1)",
        "      the check itself crashed: KeyError: 'x'",
        *TRACEBACK.splitlines(),
        "  ? ufw allows <ssh> (0/1)",
        "      could not check: sudo asks for a password: let vagrant run sudo without one",
        "vm: The virtual machine",
        "  ✓ the VM is up (1/1)",
        "",
        "web: 2/8",
        "vm: 1/1",
        "total: 3/9 points",
    ]


def test_terminal_on_a_console_without_the_marks(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    stream = Stream("cp1252")
    Terminal(stream).render(RESULTS)
    marks = [m.group(1) for m in re.finditer(r"^  (\S) ", stream.text, re.M)]
    assert marks == ["+", "x", "-", "x", "?", "+"]
    assert stream.text.splitlines()[0] == "web: Le café ? served"  # cp1252 has é, not →


def test_terminal_colours_each_mark_as_the_table_says(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    stream = Stream(tty=True)
    Terminal(stream).render(RESULTS)
    for check in RESULTS["steps"][0]["checks"]:
        status = STATUSES[check["status"]]
        assert f"  \033[{status.ansi}m{status.mark}\033[0m {check['description']} " in stream.text


def test_terminal_says_the_fault():
    stream = Stream()
    Terminal(stream).render(FAULT)
    assert stream.text == "could not check: vagrant is not installed: install it from https://www.vagrantup.com\n"


def test_json_is_the_dictionary_itself():
    assert json.loads(formats.to_json(RESULTS)) == RESULTS
    escaped = formats.to_json(RESULTS, ascii_only=True)
    assert escaped.isascii() and "caf\\u00e9" in escaped
    assert json.loads(escaped) == RESULTS


def test_junit():
    root = ET.fromstring(formats.to_junit(RESULTS).encode("utf-8"))
    assert root.tag == "testsuites"
    assert {k: root.get(k) for k in ("tests", "failures", "errors", "time")} == {
        "tests": "6", "failures": "1", "errors": "2", "time": "1.875"}
    web, vm = root.findall("testsuite")
    assert {k: web.get(k) for k in ("name", "tests", "failures", "errors", "skipped", "time")} == {
        "name": "web: Le café → served", "tests": "5", "failures": "1", "errors": "2", "skipped": "1",
        "time": "1.875"}
    assert (vm.get("tests"), vm.get("failures"), vm.get("errors")) == ("1", "0", "0")
    cases = {case.get("name"): case for case in web.findall("testcase")}
    assert list(cases) == ["installed", "proxies", "likes_saved", "crashes", "firewall"]
    assert [c.get("classname") for c in cases.values()] == ["web"] * 5
    assert [(c.tag, c.get("type")) for case in cases.values() for c in case if c.tag != "system-out"] == [
        ("failure", None), ("skipped", None), ("error", "error"), ("error", "could not check")]
    properties = {p.get("name"): p.get("value") for p in web.find("properties")}
    assert properties["proxies.description"] == "nginx passes / to the app"
    assert properties["proxies.points"] == "0/3"
    assert "kit_solved" not in properties
    failure = cases["proxies"].find("failure")
    assert failure.get("message") == "expected HTTP 200 from http://127.0.0.1:8500/likes, got 502 Bad Gateway"
    assert failure.text == ("expected HTTP 200 from http://127.0.0.1:8500/likes, got 502 Bad Gateway\n"
                            "expected: 200\nactual: 502\nhint: is the app running? try `systemctl status likes`")
    assert cases["firewall"].find("error").get("message") == (
        "could not check: sudo asks for a password: let vagrant run sudo without one")
    assert cases["likes_saved"].find("skipped").text is None
    assert cases["installed"].find("system-out").text == "$ dpkg-query -W nginx  -> rc=0"
    assert cases["installed"].get("time") == "0.250"


JUNIT_XSD = FIXTURES / "junit-10.xsd"


def valid_junit(text):
    """The JUnit file parsed by lxml, after the Jenkins xunit plugin's schema has accepted it."""
    from lxml import etree

    schema = etree.XMLSchema(etree.parse(str(JUNIT_XSD)))
    document = etree.fromstring(text.encode("utf-8"))
    assert schema.validate(document), str(schema.error_log)
    return document


def with_first_check(**changes):
    web = RESULTS["steps"][0]
    return {**RESULTS, "steps": [{**web, "checks": [{**web["checks"][1], **changes}, *web["checks"][2:]]},
                                 *RESULTS["steps"][1:]]}


@pytest.mark.parametrize("status", ALL_STATUSES)
def test_junit_of_every_status_is_valid_against_the_xunit_schema(status):
    valid_junit(formats.to_junit(with_first_check(status=status)))


def test_junit_of_guest_output_with_control_characters_is_well_formed_and_shows_them(tmp_path):
    from junitparser import JUnitXml

    answer = "\x1b[31mred\x1b[0m \x01\x0c\ufffe tab\tok"
    text = formats.to_junit(with_first_check(actual=answer, rationale=f"the app answered {answer}",
                                             log=[f"$ curl -> {answer}"]))
    document = valid_junit(text)
    failure = document.find("testsuite/testcase/failure")
    assert failure.get("message") == "the app answered \\x1b[31mred\\x1b[0m \\x01\\x0c\\ufffe tab\tok"
    assert "actual: \\x1b[31mred\\x1b[0m \\x01\\x0c\\ufffe tab\tok" in failure.text
    ET.fromstring(text.encode("utf-8"))  # the standard library's parser reads it too
    path = tmp_path / "junit.xml"
    path.write_text(text, encoding="utf-8")
    cases = [case for suite in JUnitXml.fromfile(str(path)) for case in suite]
    assert cases[0].name == "proxies" and "\\x1b[31mred" in cases[0].result[0].message


def test_junit_of_an_unreachable_guest_is_an_error_not_an_empty_green_run():
    document = valid_junit(formats.to_junit(FAULT))
    assert (document.get("tests"), document.get("errors"), document.get("failures")) == ("1", "1", "0")
    error = document.find("testsuite/testcase/error")
    assert error.get("type") == "could not check"
    assert error.get("message") == f"could not check: {FAULT['fault']}"


def test_junit_carries_the_kit_solved_note():
    web = {**RESULTS["steps"][0], "kit_solved": "2026-11-21T08:30:00Z", "kit_policy": "zero"}
    document = valid_junit(formats.to_junit({**RESULTS, "steps": [web]}))
    note = "solved by the kit's reference solution (2026-11-21T08:30:00Z): its points don't count"
    properties = {p.get("name"): p.get("value") for p in document.find("testsuite/properties")}
    assert properties["kit_solved"] == note
    assert all(case.find("system-out").text.startswith(note) for case in document.iter("testcase"))


def test_gradescope():
    data = gradescope_of(RESULTS)
    assert data["score"] == 3 and data["visibility"] == data["stdout_visibility"] == "visible"
    assert "output" not in data
    assert [{k: t[k] for k in ("name", "number", "score", "max_score", "status", "output", "tags", "visibility")}
            for t in data["tests"]] == [
        {"name": "web: nginx is installed", "number": "1.1", "score": 2, "max_score": 2, "status": "passed",
         "output": "", "tags": ["web"], "visibility": "visible"},
        {"name": "web: nginx passes / to the app", "number": "1.2", "score": 0, "max_score": 3,
         "status": "failed", "output": "expected HTTP 200 from http://127.0.0.1:8500/likes, got 502 Bad Gateway\n"
                                       "expected: 200\nactual: 502\n"
                                       "hint: is the app running? try `systemctl status likes`",
         "tags": ["web"], "visibility": "visible"},
        {"name": "web: a like is saved (skipped)", "number": "1.3", "score": 0, "max_score": 1,
         "status": "failed", "output": "skipped: can't check until \"nginx passes / to the app\" passes",
         "tags": ["web"], "visibility": "visible"},
        {"name": "web: a check with a bug", "number": "1.4", "score": 0, "max_score": 1, "status": "failed",
         "output": "the check itself crashed: KeyError: 'x'", "tags": ["web"], "visibility": "visible"},
        {"name": "web: ufw allows <ssh> (could not check)", "number": "1.5", "score": 0, "max_score": 1,
         "status": "failed", "output": "could not check: sudo asks for a password: let vagrant run sudo without one",
         "tags": ["web"], "visibility": "visible"},
        {"name": "vm: the VM is up", "number": "2.1", "score": 1, "max_score": 1, "status": "passed",
         "output": "", "tags": ["vm"], "visibility": "visible"},
    ]
    fault = gradescope_of(FAULT)
    assert (fault["output"], fault["output_format"]) == (f"could not check: {FAULT['fault']}", "text")


def test_gradescope_numbers_sort_naturally_within_each_step():
    many = [{**RESULTS["steps"][0]["checks"][0], "name": f"c{i}"} for i in range(12)]
    steps = [{**RESULTS["steps"][1], "id": f"step{n}", "checks": many} for n in range(1, 12)]
    numbers = [t["number"] for t in gradescope_of({**RESULTS, "steps": steps})["tests"]]
    assert numbers[:3] == ["1.1", "1.2", "1.3"] and numbers[12] == "2.1" and numbers[-1] == "11.12"
    natural = sorted(numbers, key=lambda n: tuple(int(part) for part in n.split(".")))
    assert natural == numbers


def test_gradescope_carries_each_checks_visibility():
    data = gradescope_of(with_first_check(visibility="after_due_date"))
    assert [t["visibility"] for t in data["tests"][:2]] == ["after_due_date", "visible"]


def test_html():
    page = to_html(RESULTS)
    assert "<title>Lab check: 3/9</title>" in page
    assert "vagrant://default (127.0.0.1:2222) &middot; 2024-03-05 14:07" in page  # the time of the run
    assert "<span>web: Le café → served</span><span>2/8</span>" in page
    assert 'style="width: 25.0%"' in page and 'style="width: 100.0%"' in page
    items = re.findall(r'<li class="([a-z-]+)">\s*<div class="line">\s*<span class="mark">(.)</span>\s*'
                       r'<span class="what">(.*?)</span>\s*<span class="points">(\d+/\d+) &middot; ([a-z ]+)</span>',
                       page)
    assert items == [
        ("passed", "✓", "nginx is installed", "2/2", "passed"),
        ("failed", "✗", "nginx passes / to the app", "0/3", "failed"),
        ("skipped", "–", "a like is saved", "0/1", "skipped"),
        ("error", "✗", "a check with a bug", "0/1", "error"),
        ("could-not-check", "?", "ufw allows &lt;ssh&gt;", "0/1", "could not check"),
        ("passed", "✓", "the VM is up", "1/1", "passed"),
    ]
    assert '<div class="hint">hint: is the app running? try `systemctl status likes`</div>' in page
    assert re.findall(r"<dt>(\w+)</dt><dd><code>(.*?)</code></dd>", page) == [("expected", "200"), ("actual", "502")]
    assert "<summary>what the checker ran</summary><pre>$ dpkg-query -W nginx  -&gt; rc=0</pre>" in page
    assert 'class="fault"' not in page
    fault_page = to_html(FAULT)
    assert f'<p class="fault">Could not check: {FAULT["fault"]}</p>' in fault_page


def test_every_mark_and_the_score_bar_reach_wcag_aa_on_the_page():
    """Read from the page's own stylesheet: each mark is text on the white card (4.5:1), and the
    bar's fill a graphic against its track and the card (3:1)."""
    page = to_html(RESULTS)
    card = re.search(r"\.card \{ background: (#[0-9a-f]{3,6});", page).group(1)
    card = "#ffffff" if card == "#fff" else card
    marks = dict(re.findall(r"\.([a-z-]+) \.mark \{ color: (#[0-9a-f]{6}); \}", page))
    assert set(marks) == {row.css_class for row in TABLE}
    low = {name: round(contrast(colour, card), 2) for name, colour in marks.items() if contrast(colour, card) < 4.5}
    assert low == {}
    track = re.search(r"\.bar \{[^}]*background: (#[0-9a-f]{6});", page).group(1)
    fill = re.search(r"\.bar span \{[^}]*background: (#[0-9a-f]{6});", page).group(1)
    assert contrast(fill, track) >= 3 and contrast(fill, card) >= 3


def test_terminal_shows_expected_and_actual_with_control_characters_escaped(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    page = "\n".join(f"line {n}" for n in range(20))
    check = {**RESULTS["steps"][0]["checks"][1], "expected": {"likes": []}, "actual": f"\x1b[2J\x1b[31m{page}",
             "rationale": "the app answered \x1b[31mred\x1b[0m", "hint": None}
    stream = Stream()
    Terminal(stream).result(check)
    assert "\x1b" not in stream.text
    assert stream.text.splitlines() == [
        "  ✗ nginx passes / to the app (0/3)",
        "      the app answered \\x1b[31mred\\x1b[0m",
        '      expected: {"likes": []}',
        "      actual: \\x1b[2J\\x1b[31mline 0",
        *(f"        line {n}" for n in range(1, 8)),
        "        (12 more lines in --json and the HTML report)",
    ]


# --- the one table of statuses --------------------------------------------------------------

def test_every_status_has_one_row():
    assert [row.name for row in TABLE] == list(ALL_STATUSES)
    assert set(STATUSES) == set(ALL_STATUSES)


@pytest.mark.parametrize("row", TABLE, ids=lambda row: row.name)
def test_each_row_is_usable_everywhere(row):
    assert len(row.mark) == 1 and len(row.ascii_mark) == 1 and row.ascii_mark.isascii()
    assert row.label and re.fullmatch(r"[a-z-]+", row.css_class)
    assert re.fullmatch(r"\d+(;\d+)*", row.ansi)
    assert re.fullmatch(r"#[0-9a-f]{6}", row.css)  # the page appends an alpha for the fault's tint
    assert row.junit in (None, "failure", "error", "skipped")
    assert (row.junit is None) == (row.name == PASSED)  # JUnit counts anything else as not passed


@pytest.mark.parametrize("status", ALL_STATUSES)
def test_every_renderer_shows_every_status(status):
    check = {**RESULTS["steps"][0]["checks"][1], "status": status}
    results = {**RESULTS, "steps": [{**RESULTS["steps"][0], "checks": [check]}]}
    row = STATUSES[status]
    stream = Stream()
    Terminal(stream).result(check)
    assert stream.text.startswith(f"  {row.mark} nginx passes / to the app (0/3)\n")
    mark = f'<li class="{row.css_class}">\\s*<div class="line">\\s*<span class="mark">{re.escape(row.mark)}</span>'
    assert re.search(mark, to_html(results))
    assert f".{row.css_class} .mark {{ color: {row.css}; }}" in to_html(results)
    case = ET.fromstring(formats.to_junit(results)).find("testsuite/testcase")
    assert [c.tag for c in case if c.tag != "properties"] == ([row.junit] if row.junit else [])
    assert json.loads(formats.to_gradescope(results))["tests"][0]["name"] == "web: nginx passes / to the app"


def test_a_result_with_an_unknown_status_is_refused():
    with pytest.raises(ValueError, match="unknown status 'pased'"):
        Result(SimpleNamespace(name="x", step="s", description="x", points=1), "pased")


def test_no_mark_or_colour_is_defined_outside_the_table():
    wanted = {row.mark for row in TABLE if not row.mark.isascii()} | {row.css for row in TABLE}
    for path in sorted(LAB.rglob("*")):
        if path.suffix in (".py", ".j2") and path.name != "statuses.py":
            text = path.read_text(encoding="utf-8")
            assert not [w for w in wanted if w in text], f"{path.relative_to(REPO)} defines a mark or colour"


# --- a saved run, rendered again ------------------------------------------------------------

def a_report():
    """A report of Result objects, as the runner makes them, in every status."""
    step = SimpleNamespace(id="mixed", title="Étape → café")
    checks = [SimpleNamespace(name=f"c{i}", step="mixed", description=f"check «{i}»", points=i + 1)
              for i in range(len(ALL_STATUSES))]
    results = [Result(c, status, rationale=None if status == PASSED else f"why {c.name}",
                      hint="try <this>" if status != PASSED else None, log=[f"$ probe {c.name}"], duration=0.1234)
               for c, status in zip(checks, ALL_STATUSES)]
    return Report([StepReport(step, results)], guest="local://", checked_at="2024-03-05T14:07:09")


def test_a_saved_run_renders_again_exactly(tmp_path, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    direct = a_report().as_dict()
    saved = tmp_path / "run.json"
    saved.write_text(formats.to_json(direct), encoding="utf-8")
    again = formats.read_json(saved)
    assert again["format"] == RESULTS_FORMAT
    for render in (to_html, formats.to_junit, formats.to_gradescope, formats.to_json):
        assert render(again) == render(direct), render.__name__
    first, second = Stream(), Stream()
    Terminal(first).render(direct)
    Terminal(second).render(again)
    assert first.text == second.text


def test_the_hand_written_dictionary_is_what_as_dict_writes():
    """The keys pinned above are those a real report has, at every level."""
    real = a_report().as_dict()
    assert set(real) == set(RESULTS)
    assert set(real["steps"][0]) == set(RESULTS["steps"][0])
    assert set(real["steps"][0]["checks"][0]) == set(RESULTS["steps"][0]["checks"][0])
    assert check_results(RESULTS) is RESULTS


def from_json(tmp_path, capsys, content, *more):
    """python -m lab.check --from-json FILE, in process: (exit code, stdout, stderr)."""
    path = tmp_path / "saved.json"
    if content is not None:
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    code = lab_check_module.main(["--from-json", str(path), *more])
    out, err = capsys.readouterr()
    return code, out, err


def test_from_json_prints_the_report_and_exits_0(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    code, out, err = from_json(tmp_path, capsys, json.dumps(RESULTS), "--html", str(tmp_path / "page.html"),
                               "--junit", str(tmp_path / "junit.xml"), "--gradescope", str(tmp_path / "gs.json"))
    assert (code, err) == (0, "")
    stream = Stream()
    Terminal(stream).render(RESULTS)
    assert out == stream.text
    assert (tmp_path / "page.html").read_text(encoding="utf-8") == to_html(RESULTS)
    assert (tmp_path / "junit.xml").read_text(encoding="utf-8") == formats.to_junit(RESULTS)
    assert (tmp_path / "gs.json").read_text(encoding="utf-8") == formats.to_gradescope(RESULTS)


def test_from_json_with_json_prints_the_dictionary(tmp_path, capsys):
    code, out, err = from_json(tmp_path, capsys, json.dumps(RESULTS), "--json")
    assert (code, err) == (0, "")
    assert json.loads(out) == RESULTS


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-16-le"])
def test_from_json_reads_what_windows_shells_write(tmp_path, capsys, encoding):
    """Windows PowerShell 5's `>` writes UTF-16 with a BOM; Notepad may add a UTF-8 BOM."""
    code, out, err = from_json(tmp_path, capsys, json.dumps(RESULTS, ensure_ascii=False).encode(encoding), "--json")
    assert (code, err) == (0, "")
    assert json.loads(out) == RESULTS


def without(key, where=lambda d: d):
    data = json.loads(json.dumps(RESULTS))
    del where(data)[key]
    return json.dumps(data)


def changed(key, value, where=lambda d: d):
    data = json.loads(json.dumps(RESULTS))
    where(data)[key] = value
    return json.dumps(data)


def first_check(data):
    return data["steps"][0]["checks"][0]


@pytest.mark.parametrize("content, says", [
    ("", "the file is empty; give the file that `python -m lab.check --json` wrote"),
    ("  \n", "the file is empty; give the file that `python -m lab.check --json` wrote"),
    ('{"format": 1, "score": ', "not JSON: Expecting value at line 1 column 24"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe", "not JSON: it is not text in UTF-8 or UTF-16"),
    ("[" * 100000 + "]" * 100000, "not JSON this checker wrote: it is nested too deeply"),
    ("[1, 2]", "not a results dictionary: the JSON is a list, not an object"),
    ('"text"', "not a results dictionary: the JSON is text, not an object"),
    ('{"score": 7, "tests": []}', 'not a results dictionary: it has no "format"; '
                                  "give the file that `python -m lab.check --json` wrote"),
    (changed("format", 2), "it is in format 2, and this checker reads format 1; "
                           "render it with the version of the checker that wrote it"),
    (changed("format", "1"), '"format" is "1", not a format version'),
    (changed("format", True), '"format" is true, not a format version'),
    (without("steps"), 'no "steps"'),
    (changed("score", "3"), "score: expected a number, found text"),
    (changed("fault", 0), "fault: expected text or null, found a whole number"),
    (changed("steps", {}), "steps: expected a list, found an object"),
    (changed("steps", [[]]), "steps[0]: is a list, not an object"),
    (without("title", lambda d: d["steps"][1]), 'steps[1]: no "title"'),
    (without("status", first_check), 'steps[0].checks[0]: no "status"'),
    (changed("points", True, first_check), "steps[0].checks[0].points: expected a number, found true or false"),
    (changed("status", "pased", first_check), 'steps[0].checks[0].status: "pased" is not a status; '
                                              "the statuses are passed, failed, error, skipped, could not check, not applicable"),
    (changed("log", ["ok", 3], first_check), "steps[0].checks[0].log: every line of the log must be text"),
    (changed("visibility", "secret", first_check), 'steps[0].checks[0].visibility: "secret" is not a visibility; '
                                                   "the visibilities are visible, after_due_date, after_published, "
                                                   "hidden"),
], ids=lambda v: v[:40] if isinstance(v, str) else None)
def test_a_damaged_or_foreign_file_is_one_line_and_exit_2(tmp_path, capsys, content, says):
    code, out, err = from_json(tmp_path, capsys, content, "--html", str(tmp_path / "page.html"))
    assert (code, out) == (2, "")
    assert err == f"lab.check: --from-json {tmp_path / 'saved.json'}: {says}\n"
    assert not (tmp_path / "page.html").exists(), "nothing is written from a file that was refused"


def test_a_file_that_cannot_be_read(tmp_path, capsys):
    code, out, err = from_json(tmp_path, capsys, None)
    assert (code, out) == (2, "")
    assert err == f"lab.check: --from-json {tmp_path / 'saved.json'}: cannot read it: No such file or directory\n"
    code = lab_check_module.main(["--from-json", str(tmp_path)])
    out, err = capsys.readouterr()
    assert code == 2 and err.startswith(f"lab.check: --from-json {tmp_path}: cannot read it: ")
    assert err.count("\n") == 1


def test_from_json_runs_no_steps(tmp_path, capsys):
    code, out, err = from_json(tmp_path, capsys, json.dumps(RESULTS), "step1")
    assert (code, out) == (2, "")
    assert err == "lab.check: --from-json renders a saved run: give it no steps, --target or --list\n"


def test_from_json_says_which_report_could_not_be_written(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    code, out, err = from_json(tmp_path, capsys, json.dumps(RESULTS), "--html", str(tmp_path / "no" / "page.html"))
    assert code == 2
    assert out.splitlines()[-1] == "total: 3/9 points", "the report is still shown"
    assert err == f"lab.check: cannot write {tmp_path / 'no' / 'page.html'}: No such file or directory: " \
                  "choose another file name\n"


@pytest.mark.parametrize("guest, shown", [
    ("ssh://ann:s3cret@203.0.113.10:2222?key=~/keys/class&http=http://203.0.113.10:8080", "ann@203.0.113.10:2222"),
    ("ssh://ann@203.0.113.10", "ann@203.0.113.10:22"),
    ("ssh://ann:p%40ss@[2001:db8::1]:22", "ann@[2001:db8::1]:22"),
    ("ssh://ann:s3cret@[::1:22", "ssh://ann@[::1:22"),  # unreadable: as written, without the password
    ("local://?http=http://ann:s3cret@127.0.0.1:8080", "local://?http=http://ann@127.0.0.1:8080"),
    ("root@127.0.0.1:2201", "root@127.0.0.1:2201"),  # what a graded run's transport said
])
def test_the_results_show_a_guest_without_its_secrets(guest, shown):
    report = Report([], guest=guest, fault=f"the guest address {guest!r} is wrong")
    results = report.as_dict()
    assert results["guest"] == shown
    assert "s3cret" not in results["fault"] and "p%40ss" not in results["fault"]


def test_checked_at_has_a_time_zone_and_a_file_without_one_still_renders():
    import datetime

    when = datetime.datetime.fromisoformat(Report([]).as_dict()["checked_at"])
    assert when.utcoffset() is not None
    assert abs((datetime.datetime.now(datetime.timezone.utc) - when).total_seconds()) < 60
    aware = to_html({**RESULTS, "checked_at": "2024-03-05T14:07:09+01:00"})
    assert "&middot; 2024-03-05 14:07 +01:00</p>" in aware
    assert "&middot; 2024-03-05 14:07</p>" in to_html(RESULTS)  # saved before checked_at had its offset
    assert check_results(RESULTS) is RESULTS


@pytest.mark.parametrize("line, says", [
    ('visibility = "later"', 'step #1: visibility must be one of "visible", "after_due_date", "after_published", '
                             '"hidden" for every check of the step, or a table of check names'),
    ("visibility = true", "found true"),
    ('visibility = { settles = "soon" }', 'step #1: visibility.settles must be one of "visible", '
                                          '"after_due_date", "after_published", "hidden", found the string \'soon\''),
    ('visibility = { setles = "hidden" }', "step good: visibility names 'setles', which is not a check of the step; "
                                           "its checks are echo_works, root_exists, settles, only_on_vagrant"),
])
def test_a_bad_visibility_is_one_line_naming_the_step(tmp_path, line, says):
    from lab.core import manifest

    course = a_course(tmp_path / "course", line)
    with pytest.raises(manifest.ManifestError) as raised:
        manifest.load(course=str(course))
    assert says in str(raised.value) and "\n" not in str(raised.value)
    assert str(course / "steps.toml") in str(raised.value)


# --- a run of checks with every outcome, in each report ----------------------------------

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


def FakeStream(tty, encoding="utf-8"):
    """A console as the engine's report tests name one: a tty or not first."""
    return Stream(encoding, tty)


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
