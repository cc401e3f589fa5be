"""What a check is given (lab/engine/context.py): waiting for a value to settle."""


def test_wait_for_returns_the_last_value_whether_or_not_it_settled():
    from lab.engine.context import Context

    ctx = Context(guest=None, http=None, settings=None)
    values = iter(["activating", "activating", "active", "never read"])
    assert ctx.wait_for(lambda: next(values), until=lambda s: s == "active", timeout=5, interval=0.01) == "active"
    assert ctx.wait_for(lambda: "failed", until=lambda s: s == "active", timeout=0.05, interval=0.01) == "failed"
    counts = iter(range(10))
    assert ctx.wait_for(lambda: next(counts), timeout=5, interval=0.01) == 1  # the default: the first true value


def test_wait_until_serving_returns_the_units_still_not_serving():
    """The wait steps 6 and 8 share after a restart, the engine's now rather than step 6's."""
    from types import SimpleNamespace

    from lab.engine.context import Context

    asked = {"likes@1": 0, "likes@2": 0}

    def service(unit):
        asked[unit] += 1
        return SimpleNamespace(is_serving=unit == "likes@1" and asked[unit] >= 2)  # likes@2 never comes back

    ctx = Context(guest=SimpleNamespace(service=service), http=None, settings=None)
    assert ctx.wait_until_serving(["likes@1"], timeout=5) == []
    assert ctx.wait_until_serving(["likes@1", "likes@2"], timeout=0) == ["likes@2"]
