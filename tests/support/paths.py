"""Where the kit and the tests' fixtures are, for the tests of every tier folder."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"
COURSE = FIXTURES / "course"
