"""The registry of checks (lab/core/registry.py): order, docstrings and settings."""

import pytest

from lab import Registry


def test_registry_keeps_checks_in_order_with_their_docstrings():
    check = Registry()

    @check(points=3, timeout=7)
    def first(ctx):
        """the first
        thing, on two lines

        More detail that is not part of the label."""

    @check(depends=first)
    def second(ctx):
        """the second thing"""

    assert [c.name for c in check] == ["first", "second"]
    assert first.description == "the first thing, on two lines"
    assert (first.points, first.timeout, second.points, second.depends) == (3, 7, 1, (first,))


@pytest.mark.parametrize("kwargs, message", [
    ({"points": 0}, "points must be a positive whole number"),
    ({"points": 1.5}, "points must be a positive whole number"),
    ({"timeout": 0}, "timeout must be a positive number"),
    ({"depends": ["nginx_running"]}, "depends must name checks"),
])
def test_registry_refuses_bad_settings(kwargs, message):
    check = Registry()
    with pytest.raises(TypeError, match=message):
        @check(**kwargs)
        def c(ctx):
            """label"""


def test_registry_refuses_a_check_without_docstring():
    check = Registry()
    with pytest.raises(TypeError, match="has no docstring"):
        @check
        def undocumented(ctx):
            pass
