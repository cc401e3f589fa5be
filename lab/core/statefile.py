"""Reading the JSON files the kit keeps for itself (.lab/progress.json, .lab/vagrant.json,
.lab/settings.json, the guest's record of kit-solved steps).

Such a file can hold anything a crash, an editor or a prank left in it; whatever
stops it from reading as JSON is a ValueError here, so that each reader's one
path for a damaged file covers it.
"""

import json


class DamagedJSON(ValueError):
    """The bytes are not JSON this kit can read; the message says why, in a few words."""


def parse_json(data):
    """The document in data (bytes or text), or DamagedJSON.

    Nesting deeper than Python's recursion limit (a file of "[[[[...") makes the
    json module raise RecursionError, which is no ValueError: without this a
    damaged file would be an internal error instead of a damaged file."""
    try:
        return json.loads(data)
    except RecursionError:
        raise DamagedJSON("it is nested too deeply to read") from None
    except ValueError as exc:  # UnicodeDecodeError included
        raise DamagedJSON(f"it is not JSON: {exc}") from None
