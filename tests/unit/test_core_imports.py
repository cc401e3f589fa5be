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

import pytest

from tests.support.localservers import REPO

CORE = REPO / "lab" / "core"
# Importing lab.core runs lab/__init__.py first, and the registry reads the
# deployment's facts from provision/facts.py (by name, when a docstring names
# one): both are held to the same rule.
ON_THE_WAY = [REPO / "lab" / "__init__.py", REPO / "provision" / "facts.py"]
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
    """guestconf, which every solution imports, puts the lab folder on the path once (and solve.py
    for itself), so no solution patches it."""
    patched = [path.relative_to(REPO).as_posix() for path in sorted((REPO / "provision").rglob("*.py"))
               if path.name not in ("solve.py", "guestconf.py") and "sys.path" in path.read_text(encoding="utf-8")]
    assert patched == []


# The package's folders, lowest first: a module may import from its own folder
# and from the ones below it, never from above. The entry points (lab/check.py,
# lab/grade.py, lab/selftest.py, lab/__main__.py) stand above them all.
LAYERS = ["core", "transports", "guest", "engine", "report", "tools"]
ENTRY_POINTS = {"check", "grade", "selftest", "__main__"}


def layer_of(module):
    """The layer of a dotted lab module name: its folder's index, len(LAYERS) for an entry point."""
    parts = module.split(".")
    if len(parts) == 1:  # `lab` itself: what check modules import, the core's names only
        return 0
    if parts[1] in ENTRY_POINTS:
        return len(LAYERS)
    return LAYERS.index(parts[1])


def upward_imports(path, module=None):
    """[(line, module)] of the imports in path (a file of lab/) that point to a higher layer.

    module: the dotted name path is read as (default: from its place in the kit)."""
    if module is None:
        relative = path.relative_to(REPO).with_suffix("").parts
        module = ".".join(relative[:-1] if relative[-1] == "__init__" else relative)
    own = layer_of(module)
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and node.module.split(".")[0] == "lab":
            # `from lab import check` names a module; `from lab import Fail`, one of the core's names.
            names = [f"{node.module}.{alias.name}" for alias in node.names] if node.module == "lab" else [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names if alias.name.split(".")[0] == "lab"]
        else:
            continue
        found += [(node.lineno, name) for name in names if _known(name) and layer_of(name) > own]
    return sorted(found)


def _known(name):
    """A module of a layer or an entry point; `lab.Fail` and the like are the core's names."""
    parts = name.split(".")
    return len(parts) == 1 or parts[1] in LAYERS or parts[1] in ENTRY_POINTS


def test_imports_inside_lab_point_down_only():
    """A transport never learns of student progress, the guest's facts never of reports, and so on."""
    files = sorted((REPO / "lab").rglob("*.py"))
    bad = [f"{path.relative_to(REPO)}:{line}: imports {name}" for path in files for line, name in upward_imports(path)]
    assert bad == [], f"layers, lowest first: {', '.join(LAYERS)}, then the entry points:\n" + "\n".join(bad)


def test_an_import_from_above_is_found(tmp_path):
    module = tmp_path / "probe.py"
    module.write_text("from lab.core.outcomes import CouldNotCheck\nfrom lab import Fail\n"
                      "def later():\n    from lab.engine.progress import record\n"
                      "from lab import check\nimport lab.tools.replay\nfrom lab.transports import base\n")
    assert upward_imports(module, "lab.transports.probe") == [
        (4, "lab.engine.progress"), (5, "lab.check"), (6, "lab.tools.replay")]
    assert upward_imports(module, "lab.tools.probe") == [(5, "lab.check")]
    assert upward_imports(module, "lab.check") == []


def test_a_students_file_in_the_lab_folder_never_stands_in_for_the_standard_library(tmp_path):
    """The solutions find lab/core/ in the shared folder, after the standard library: a secrets.py
    a student leaves there is not the one Python imports."""
    import shutil
    import subprocess

    kit = tmp_path / "lab folder"
    for folder in ("lab", "provision"):
        shutil.copytree(REPO / folder, kit / folder, ignore=shutil.ignore_patterns("__pycache__"))
    (kit / "secrets.py").write_text("raise SystemExit('the student\\'s secrets.py was imported')\n")
    probe = "import guestconf, secrets, lab.core.files; print(lab.core.files.__file__); print(secrets.token_hex(2) != '')"
    run = subprocess.run([sys.executable, "-c", probe], cwd="/", capture_output=True, text=True, timeout=60,
                         env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(kit / "provision")})
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == [str(kit / "lab" / "core" / "files.py"), "True"]
