"""Gradescope's results.json checked against its specification, and a one-step course
whose manifest says when Gradescope shows each check."""

import json

from lab.report import formats
from tests.support.paths import COURSE

# What Gradescope's results.json may hold, from its autograder specification
# (https://gradescope-autograders.readthedocs.io/en/latest/specs/, "Output format").
GRADESCOPE_TOP = {"score", "execution_time", "output", "output_format", "test_output_format", "test_name_format",
                  "visibility", "stdout_visibility", "extra_data", "tests", "leaderboard"}
GRADESCOPE_TEST = {"score", "max_score", "status", "name", "name_format", "number", "output", "output_format",
                   "tags", "visibility", "extra_data"}
GRADESCOPE_FORMATS = {"text", "html", "simple_format", "md", "ansi"}
GRADESCOPE_VISIBILITIES = {"hidden", "after_due_date", "after_published", "visible"}


def gradescope_of(results):
    """Gradescope's results.json, after checking every key and value against its specification."""
    data = json.loads(formats.to_gradescope(results))
    assert set(data) <= GRADESCOPE_TOP
    assert data["visibility"] in GRADESCOPE_VISIBILITIES and data["stdout_visibility"] in GRADESCOPE_VISIBILITIES
    if "output" in data:
        assert data["output_format"] in GRADESCOPE_FORMATS
    for test in data["tests"]:
        assert set(test) <= GRADESCOPE_TEST
        assert test["status"] in ("passed", "failed")
        assert test["output_format"] in GRADESCOPE_FORMATS and test["name_format"] in GRADESCOPE_FORMATS
        assert test["visibility"] in GRADESCOPE_VISIBILITIES
        assert isinstance(test["number"], str) and 0 <= test["score"] <= test["max_score"]
    return data


# --- when Gradescope shows each check: the course's manifest ---------------------------------

GOOD_CHECKS = COURSE / "fixture_checks" / "good.py"


def a_course(folder, visibility):
    """A course of one step, the fixture's good checks, with this visibility line."""
    folder.mkdir(exist_ok=True)
    (folder / "steps.toml").write_text(
        f'format_version = 1\nreplace = true\n\n[[steps]]\nid = "good"\ntitle = "Everything passes"\n'
        f'exercise = "{COURSE / "exercises" / "good.md"}"\nchecks = "{GOOD_CHECKS}"\n'
        f'solution = "{COURSE / "solutions" / "good.sh"}"\n{visibility}\n', encoding="utf-8")
    return folder
