"""Values written into the SQL a check runs with `ctx.guest.sqlite(db, sql)`.

A module of its own, with no imports, so that a step's checks can import it
without loading the guest's probes when `--list` only reads the steps."""


def sql_text(value):
    """A value as an SQL string literal, quotes doubled."""
    return "'" + str(value).replace("'", "''") + "'"
