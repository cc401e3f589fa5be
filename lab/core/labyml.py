"""The lab VM's settings files, lab.default.yml and the student's lab.yml, as Python reads them.

The Vagrantfile reads them as YAML (lab/vagrantfile/settings.rb). Python needs
only a few of their top-level `name: value` lines, and neither the checker nor
the guest has a YAML library, so this reads such a line and nothing more.
"""

import re
from pathlib import Path

DEFAULTS_FILE = "lab.default.yml"  # the kit's, which no student edits
KIT = Path(__file__).resolve().parents[2]  # lab/core/labyml.py: the kit is two folders up
OWN_FILE = "lab.yml"  # the student's copy, which wins over it


def read_value(text, name):
    """The value of the top-level line `name: value` in text, as text, or None when there is none.

    A trailing comment and the quotes around a value are left out, as YAML
    leaves them out: settings.rb then reads `http_port: "8501"` as 8501.
    """
    line = re.search(rf"^{re.escape(name)}:[ \t]*(\"[^\"\n]*\"|'[^'\n]*'|[^#\n]*?)[ \t]*(#.*)?$", text, re.M)
    if line is None:
        return None
    value = line.group(1)
    return value[1:-1] if value[:1] in ("'", '"') else value


def values(root, name):
    """The values the lab's settings files in root give name, the winning file's first; unreadable files
    and files that don't set it are left out."""
    found = []
    for file in (OWN_FILE, DEFAULTS_FILE):
        try:
            text = (Path(root) / file).read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        value = read_value(text, name)
        if value is not None:
            found.append(value)
    return found
