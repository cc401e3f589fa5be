"""The server tier: real local servers on 127.0.0.1 (nginx, gunicorn, sshd, ufw in a
network namespace, vagrant and ruby). Every test under this folder is marked server."""

from tests.support.tiers import mark_tier


def pytest_collection_modifyitems(items):
    mark_tier(items, "server")
