"""The browser tier: Debian's headless Chromium against a real local stack. Every
test under this folder is marked browser."""

from tests.support.tiers import mark_tier


def pytest_collection_modifyitems(items):
    mark_tier(items, "browser")
