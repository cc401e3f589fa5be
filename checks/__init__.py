"""The curriculum's checks: one module per step, listed in order by steps.toml."""
