"""The guest-safe core (lab/core/) imports the standard library only.

Inside the guest there is no virtualenv: provision/solve.py and the reference
solutions import lab.core straight from the shared folder with Debian's or
Ubuntu's python3. An import of requests, Jinja2 or even another part of the
`lab` package (which may import them) would work on every maintainer's machine
and fail only in a student's guest, so this walks the source instead of
trusting whatever happens to be installed here.
"""

import ast
import sys
from pathlib import Path

import pytest

from tests.support.localservers import REPO

CORE = REPO / "lab" / "core"
# Importing lab.core runs lab/__init__.py first: it is held to the same rule.
ON_THE_WAY = [REPO / "lab" / "__init__.py"]
# Python 3.10 (Ubuntu 22.04) has no tomllib; its backport comes from python3-tomli,
# which solve.py installs before it reads the manifest.
BACKPORTS = {"tomli"}


def outside_imports(path, package=None):
    """[(line, module)] of the imports in path that are neither the standard library nor lab.core.

    package: the dotted parts of the package path is in, for relative imports
    (default: from its place in the kit)."""
    package = package or path.parent.relative_to(REPO).parts
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: where it lands decides
                base = package[: len(package) - node.level + 1]
                names = [".".join([*base, *([node.module] if node.module else [])])]
            else:
                names = [node.module]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            if top in sys.stdlib_module_names or top in BACKPORTS:
                continue
            if name == "lab.core" or name.startswith("lab.core."):
                continue
            found.append((node.lineno, name))
    return found


def test_the_core_imports_nothing_outside_the_standard_library_and_itself():
    files = sorted(CORE.rglob("*.py")) + ON_THE_WAY
    assert len(files) > 5, f"the core's modules were not found under {CORE}"
    bad = [f"{path.relative_to(REPO)}:{line}: {name}" for path in files for line, name in outside_imports(path)]
    assert bad == [], "the guest has only the standard library:\n" + "\n".join(bad)


@pytest.mark.parametrize("source, found", [
    ("import requests\n", [(1, "requests")]),
    ("from jinja2 import Environment\n", [(1, "jinja2")]),
    ("def f():\n    import paramiko\n", [(2, "paramiko")]),  # deferred imports count too
    ("from lab.engine import results\n", [(1, "lab.engine")]),
    ("from lab import check\n", [(1, "lab")]),
    ("from ..engine import results\n", [(1, "lab.engine")]),
    ("from . import outcomes\nimport json, re\nfrom lab.core.files import write_atomically\n", []),
    ("try:\n    import tomllib\nexcept ModuleNotFoundError:\n    import tomli as tomllib\n", []),
])
def test_the_walk_finds_what_the_guest_could_not_import(tmp_path, source, found):
    module = tmp_path / "probe.py"
    module.write_text(source)
    assert outside_imports(module, package=("lab", "core")) == found


def test_the_solutions_reach_the_core_without_changing_sys_path():
    """solve.py puts the lab folder on each solution's path once, so no solution patches it itself."""
    patched = [path.relative_to(REPO).as_posix() for path in sorted((REPO / "provision").rglob("*.py"))
               if path.name != "solve.py" and "sys.path" in path.read_text(encoding="utf-8")]
    assert patched == []
