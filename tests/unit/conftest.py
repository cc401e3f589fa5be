"""The unit tier: pure in-process tests, no servers (seconds). Every test under this
folder is marked unit. Its app tests also run under Debian's python3 with
python3-bottle 0.12 (tests/run), so this stays import-light."""

from tests.support.tiers import mark_tier


def pytest_collection_modifyitems(items):
    mark_tier(items, "unit")
