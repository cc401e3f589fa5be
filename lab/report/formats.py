"""Machine-readable reports from the results dictionary: JSON, JUnit XML and Gradescope's
results.json; and reading a saved JSON back."""

import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from ..results import COULD_NOT_CHECK, NOT_APPLICABLE, BadResults, check_results
from .statuses import STATUSES, kit_solved_note


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
    lines = [check["rationale"] or ""]
    if check["hint"]:
        lines.append(f"hint: {check['hint']}")
    if check["expected"] is not None or check["actual"] is not None:
        lines.append(f"expected: {check['expected']}")
        lines.append(f"actual: {check['actual']}")
    return "\n".join(line for line in lines if line)


def to_junit(results):
    """JUnit XML: a testsuite per step, a testcase per check."""
    suites = ET.Element("testsuites", name="lab.check",
                        tests=str(sum(len(step["checks"]) for step in results["steps"])))
    for step in results["steps"]:
        checks = step["checks"]
        kinds = [STATUSES[check["status"]].junit for check in checks]
        suite = ET.SubElement(
            suites, "testsuite", name=f"{step['id']}: {step['title']}",
            tests=str(len(checks)),
            failures=str(kinds.count("failure")),
            errors=str(kinds.count("error")),
            skipped=str(kinds.count("skipped")),
            time=f"{sum(check['duration'] for check in checks):.3f}",
        )
        for check, kind in zip(checks, kinds):
            case = ET.SubElement(suite, "testcase", classname=step["id"], name=check["name"],
                                 time=f"{check['duration']:.3f}")
            properties = ET.SubElement(case, "properties")
            ET.SubElement(properties, "property", name="description", value=check["description"])
            ET.SubElement(properties, "property", name="points", value=f"{check['points']}/{check['max_points']}")
            if kind is not None:
                element = ET.SubElement(case, kind, message=check["rationale"] or "")
                if kind == "error":  # JUnit's error type tells a crash from a check that could not run
                    element.set("type", check["status"])
                if kind != "skipped":
                    element.text = _explain(check)
            if check["log"]:
                ET.SubElement(case, "system-out").text = "\n".join(check["log"])
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def to_gradescope(results):
    """Gradescope autograder results.json: a test per check, scored in points."""
    tests = []
    for step in results["steps"]:
        note = kit_solved_note(step)
        for check in step["checks"]:
            # A check that doesn't apply to this guest is worth nothing either way: it shows, passed, at 0/0.
            fine = check["passed"] or check["status"] == NOT_APPLICABLE
            output = _explain(check) if check["passed"] is not True else ""
            tests.append({
                "name": f"{step['id']}: {check['description']}",
                "name_format": "text",
                "number": f"{step['id']}.{len(tests) + 1}",
                "score": check["points"],
                "max_score": check["max_points"],
                "status": "passed" if fine else "failed",
                "output": "\n".join(line for line in (note, output) if line),
                "output_format": "text",
                "tags": [step["id"]],
            })
    gradescope = {"score": results["score"], "tests": tests, "visibility": "visible",
                  "stdout_visibility": "visible"}
    if results["fault"]:
        gradescope["output"] = f"{STATUSES[COULD_NOT_CHECK].label}: {results['fault']}"
    return json.dumps(gradescope, indent=2, ensure_ascii=False)
