"""What a check is given (lab/engine/context.py): waiting for a value to settle."""


def test_wait_for_returns_the_last_value_whether_or_not_it_settled():
    from lab.engine.context import Context

    ctx = Context(guest=None, http=None, settings=None)
    values = iter(["activating", "activating", "active", "never read"])
    assert ctx.wait_for(lambda: next(values), until=lambda s: s == "active", timeout=5, interval=0.01) == "active"
    assert ctx.wait_for(lambda: "failed", until=lambda s: s == "active", timeout=0.05, interval=0.01) == "failed"
    counts = iter(range(10))
    assert ctx.wait_for(lambda: next(counts), timeout=5, interval=0.01) == 1  # the default: the first true value
