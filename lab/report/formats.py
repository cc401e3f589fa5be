"""Machine-readable reports from the results dictionary: JSON, JUnit XML and Gradescope's
results.json; and reading a saved JSON back."""

import json
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from lab.engine.results import COULD_NOT_CHECK, NOT_APPLICABLE, BadResults, check_results
from lab.report.statuses import STATUSES, kit_solved_note


def to_json(results, ascii_only=False):
    """The results dictionary as JSON; ascii_only escapes non-ASCII (\\u00e9) for a console that cannot show it."""
    return json.dumps(results, indent=2, ensure_ascii=ascii_only)


def read_json(path):
    """The results dictionary in a file that --json wrote ("-" for standard input).

    Raises BadResults with one line saying what is wrong: a file that cannot be read,
    is not JSON, or is not a results dictionary of this checker's format.
    """
    try:
        raw = sys.stdin.buffer.read() if str(path) == "-" else Path(path).read_bytes()
    except OSError as exc:
        raise BadResults(f"cannot read it: {exc.strerror or exc}") from None
    if not raw.strip():
        raise BadResults("the file is empty; give the file that `python -m lab.check --json` wrote")
    try:
        # From bytes, json detects UTF-8, UTF-16 and UTF-32 with or without a BOM, so the
        # UTF-16 file that Windows PowerShell 5's `>` writes is read as well.
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise BadResults(f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except UnicodeDecodeError:
        raise BadResults("not JSON: it is not text in UTF-8 or UTF-16") from None
    except RecursionError:
        raise BadResults("not JSON this checker wrote: it is nested too deeply") from None
    return check_results(data)


def _explain(check):
    lines = [check["rationale"] or "", *expected_and_actual(check)]
    if check["hint"]:
        lines.append(f"hint: {check['hint']}")
    return "\n".join(line for line in lines if line)


def expected_and_actual(check):
    """The lines "expected: ..." and "actual: ..." of a check that has them, as every report shows them."""
    if check["expected"] is None and check["actual"] is None:
        return []
    return [f"expected: {shown_value(check['expected'])}", f"actual: {shown_value(check['actual'])}"]


def shown_value(value):
    """An expected or actual value as text: a string as it is, nothing as "(nothing)", anything else as JSON."""
    if value is None:
        return "(nothing)"
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


# What XML 1.0 cannot hold at all, not even as &#...; (https://www.w3.org/TR/xml/#charsets):
# the C0 controls but tab, newline and carriage return, surrogates, U+FFFE and U+FFFF.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(text):
    """text with what XML 1.0 forbids written as a visible escape (ESC as \\x1b), so that a guest's
    colour codes or stray control bytes never make the file unreadable."""
    return _NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100
                        else f"\\u{ord(m.group()):04x}", text)


def to_junit(results):
    """JUnit XML as the Jenkins xunit plugin's junit-10.xsd has it: a testsuite per step, a testcase
    per check, and totals on the root. A run that could not reach the guest is one error testcase."""
    suites = ET.Element("testsuites", name="lab.check")
    for step in results["steps"]:
        checks = step["checks"]
        kinds = [STATUSES[check["status"]].junit for check in checks]
        suite = ET.SubElement(
            suites, "testsuite", name=f"{step['id']}: {step['title']}",
            tests=str(len(checks)),
            failures=str(kinds.count("failure")),
            errors=str(kinds.count("error")),
            skipped=str(kinds.count("skipped")),
            time=_seconds(sum(check["duration"] for check in checks)),
        )
        # The schema has properties per suite, not per testcase: each check's are named after it.
        properties = ET.SubElement(suite, "properties")
        note = kit_solved_note(step)
        if note:
            ET.SubElement(properties, "property", name="kit_solved", value=note)
        for check in checks:
            ET.SubElement(properties, "property", name=f"{check['name']}.description", value=check["description"])
            ET.SubElement(properties, "property", name=f"{check['name']}.points",
                          value=f"{check['points']}/{check['max_points']}")
        for check, kind in zip(checks, kinds):
            case = ET.SubElement(suite, "testcase", classname=step["id"], name=check["name"],
                                 time=_seconds(check["duration"]))
            if kind is not None:
                label = STATUSES[check["status"]].label
                # A check that could not run, or did not apply, says so in words, never as a plain error.
                said = f"{label}: " if check["status"] in (COULD_NOT_CHECK, NOT_APPLICABLE) else ""
                element = ET.SubElement(case, kind, message=said + (check["rationale"] or ""))
                if kind == "error":  # JUnit's error type tells a crash from a check that could not run
                    element.set("type", check["status"])
                if kind != "skipped":
                    element.text = _explain(check)
            out = [note] if note else []
            out += check["log"]
            if out:
                ET.SubElement(case, "system-out").text = "\n".join(out)
    if results["fault"]:
        # The guest was never reached: CI must see a red run, as lab.check's exit code 2 says.
        suite = ET.SubElement(suites, "testsuite", name="lab.check: the guest", tests="1", failures="0",
                              errors="1", skipped="0", time=_seconds(0))
        case = ET.SubElement(suite, "testcase", classname="lab.check", name="the guest can be checked",
                             time=_seconds(0))
        label = STATUSES[COULD_NOT_CHECK].label
        ET.SubElement(case, "error", type=COULD_NOT_CHECK, message=f"{label}: {results['fault']}").text = \
            f"{label}: {results['fault']}"
    every = suites.findall("testsuite")
    for total in ("tests", "failures", "errors"):
        suites.set(total, str(sum(int(suite.get(total)) for suite in every)))
    suites.set("time", _seconds(sum(float(suite.get("time")) for suite in every)))
    for element in suites.iter():
        element.text = xml_text(element.text) if element.text else element.text
        for name, value in element.attrib.items():
            element.set(name, xml_text(value))
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def _seconds(duration):
    return f"{duration:.3f}"


def to_gradescope(results):
    """Gradescope autograder results.json: a test per check, scored in points, numbered
    step.check (1.1, 1.2, 2.1) so that Gradescope lists them in order."""
    tests = []
    for n, step in enumerate(results["steps"], 1):
        note = kit_solved_note(step)
        for m, check in enumerate(step["checks"], 1):
            status = check["status"]
            # A check that doesn't apply to this guest is worth nothing either way: it shows, passed, at 0/0.
            fine = check["passed"] or status == NOT_APPLICABLE
            # Gradescope knows only passed and failed: a check that did not get to judge says so in
            # its name and output, as the text report does, so it never reads as the student's mistake.
            said = STATUSES[status].label if check["passed"] is None else None
            output = _explain(check) if check["passed"] is not True else ""
            tests.append({
                "name": f"{step['id']}: {check['description']}" + (f" ({said})" if said else ""),
                "name_format": "text",
                "number": f"{n}.{m}",
                "score": check["points"],
                "max_score": check["max_points"],
                "status": "passed" if fine else "failed",
                "output": "\n".join(line for line in (note, f"{said}: {output}" if said else output) if line),
                "output_format": "text",
                # A question whose points are the questions' own score says so, for Gradescope's filters.
                "tags": [step["id"]] + (["questions"] if check.get("separate") else []),
                # A results dictionary saved before the course could hide checks has no visibility.
                "visibility": check.get("visibility", "visible"),
            })
    # Gradescope has one total. Where the course keeps the questions' score apart, their tests carry their
    # points as every test does, and the total is the sum of the tests, both scores, as Gradescope's own would be.
    gradescope = {"score": results["score"] + results.get("questions_score", 0), "tests": tests,
                  "visibility": "visible", "stdout_visibility": "visible"}
    if results["fault"]:
        gradescope["output"] = f"{STATUSES[COULD_NOT_CHECK].label}: {results['fault']}"
        gradescope["output_format"] = "text"
    return json.dumps(gradescope, indent=2, ensure_ascii=False)
