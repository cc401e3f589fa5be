"""One table-driven check of a dictionary read from a file: a steps.toml entry, a saved
results dictionary, the settings and answers the kit caches in .lab/.

A table maps each key to a Field: the types its value may have, whether it
must be there, and which values of those types are allowed. problems() lists
what is wrong; each reader words its own messages, since a course author, a
grader and a cache each need different ones.
"""

from dataclasses import dataclass

MISSING, WRONG_TYPE, NOT_ALLOWED, UNKNOWN = "missing", "wrong type", "not allowed", "unknown"


@dataclass(frozen=True)
class Field:
    types: tuple  # e.g. (str,), or (str, type(None)) for text or null; (object,) for anything
    required: bool = True
    # None: every value of those types; else the values allowed (a tuple, a range) or a predicate.
    allowed: object = None
    wanted: str = ""  # what the value must be, in the words of the reader's messages


@dataclass(frozen=True)
class Problem:
    key: str
    kind: str  # MISSING, WRONG_TYPE, NOT_ALLOWED or UNKNOWN
    value: object = None
    field: Field = None


def is_a(value, types):
    """Whether value has one of types; true and false are no numbers, though Python's bools are ints."""
    if isinstance(value, bool) and bool not in types and object not in types:
        return False
    return isinstance(value, types)


def fits(value, field):
    """Whether value is of the field's types and among its allowed values."""
    if not is_a(value, field.types):
        return False
    if field.allowed is None:
        return True
    return field.allowed(value) if callable(field.allowed) else value in field.allowed


def problems(data, table, others_allowed=True):
    """What is wrong with the dictionary data, by table: first each key missing or of the wrong type,
    in the table's order, then each value not allowed, then (unless others_allowed) each key the
    table doesn't know, in data's order."""
    shape, values = [], []
    for key, field in table.items():
        if key not in data:
            shape += [Problem(key, MISSING, field=field)] if field.required else []
        elif not is_a(data[key], field.types):
            shape.append(Problem(key, WRONG_TYPE, data[key], field))
        elif not fits(data[key], field):
            values.append(Problem(key, NOT_ALLOWED, data[key], field))
    unknown = [] if others_allowed else [Problem(key, UNKNOWN, data[key]) for key in data if key not in table]
    return shape + values + unknown


def one_of(choices):
    """'one of "a", "b" or "c"', for a message."""
    quoted = [f'"{choice}"' for choice in choices]
    return f"one of {', '.join(quoted[:-1])} or {quoted[-1]}" if len(quoted) > 1 else quoted[0]
