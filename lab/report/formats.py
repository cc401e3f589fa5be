"""Machine-readable reports: JSON, JUnit XML and Gradescope's results.json."""

import json
import xml.etree.ElementTree as ET

from ..results import COULD_NOT_CHECK, ERROR, FAILED, SKIPPED


def to_json(report, ascii_only=False):
    """The report as JSON; ascii_only escapes non-ASCII (\\u00e9) for a console that cannot show it."""
    return json.dumps(report.as_dict(), indent=2, ensure_ascii=ascii_only)


def _explain(result):
    lines = [result.rationale or ""]
    if result.hint:
        lines.append(f"hint: {result.hint}")
    if result.expected is not None or result.actual is not None:
        lines.append(f"expected: {result.expected}")
        lines.append(f"actual: {result.actual}")
    return "\n".join(line for line in lines if line)


def to_junit(report):
    """JUnit XML: a testsuite per step, a testcase per check."""
    suites = ET.Element("testsuites", name="lab.check", tests=str(len(report.results)))
    for step_report in report.steps:
        results = step_report.results
        suite = ET.SubElement(
            suites, "testsuite", name=f"{step_report.step.id}: {step_report.step.title}",
            tests=str(len(results)),
            failures=str(sum(r.status == FAILED for r in results)),
            errors=str(sum(r.status in (ERROR, COULD_NOT_CHECK) for r in results)),
            skipped=str(sum(r.status == SKIPPED for r in results)),
            time=f"{sum(r.duration for r in results):.3f}",
        )
        for result in results:
            case = ET.SubElement(suite, "testcase", classname=step_report.step.id, name=result.check.name,
                                 time=f"{result.duration:.3f}")
            ET.SubElement(case, "properties")
            ET.SubElement(case.find("properties"), "property", name="description", value=result.check.description)
            ET.SubElement(case.find("properties"), "property", name="points",
                          value=f"{result.score}/{result.check.points}")
            if result.status == FAILED:
                ET.SubElement(case, "failure", message=result.rationale or "").text = _explain(result)
            elif result.status in (ERROR, COULD_NOT_CHECK):
                ET.SubElement(case, "error", message=result.rationale or "", type=result.status).text = \
                    _explain(result)
            elif result.status == SKIPPED:
                ET.SubElement(case, "skipped", message=result.rationale or "")
            if result.log:
                ET.SubElement(case, "system-out").text = "\n".join(result.log)
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def to_gradescope(report):
    """Gradescope autograder results.json: a test per check, scored in points."""
    tests = []
    for step_report in report.steps:
        for result in step_report.results:
            tests.append({
                "name": f"{step_report.step.id}: {result.check.description}",
                "name_format": "text",
                "number": f"{step_report.step.id}.{len(tests) + 1}",
                "score": result.score,
                "max_score": result.check.points,
                "status": "passed" if result.passed else "failed",
                "output": _explain(result) if result.passed is not True else "",
                "output_format": "text",
                "tags": [step_report.step.id],
            })
    results = {"score": report.score, "tests": tests, "visibility": "visible", "stdout_visibility": "visible"}
    if report.fault:
        results["output"] = f"could not check: {report.fault}"
    return json.dumps(results, indent=2, ensure_ascii=False)
