"""The test tiers, one folder each: tests/unit, tests/server, tests/browser and
tests/guest. A tier's conftest.py gives every test under its folder the tier's
marker, so `-m unit` and the rest select by folder, and a test that carries
another tier's marker stops the collection: a misplaced test can't hide."""

from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
TIERS = ("unit", "server", "browser", "guest")


def _path(item):
    """The test's file: item.path from pytest 7, item.fspath before (Ubuntu 22.04's python3-pytest is 6.2)."""
    return Path(str(getattr(item, "path", None) or item.fspath)).resolve()


def mark_tier(items, tier):
    """Mark every test under tests/<tier>/ with `tier`; refuse one marked with another tier."""
    folder = TESTS / tier
    for item in items:
        if folder not in _path(item).parents:
            continue
        others = sorted({mark.name for mark in item.iter_markers() if mark.name in TIERS} - {tier})
        if others:
            raise pytest.UsageError(
                f"{item.nodeid} is in tests/{tier}/ but marked {' and '.join(others)}: a test's tier is the folder "
                f"it is in, so move it to tests/{others[0]}/ and drop the marker")
        item.add_marker(tier)


def refuse_outside_tiers(items):
    """A test directly in tests/ (or any folder but a tier's) would run under no -m: refuse it."""
    for item in items:
        parents = _path(item).parents
        if TESTS in parents and not any(TESTS / tier in parents for tier in TIERS):
            raise pytest.UsageError(
                f"{item.nodeid} is in no tier folder: move it to tests/unit/, tests/server/, tests/browser/ or "
                f"tests/guest/ (see tests/support/tiers.py)")
