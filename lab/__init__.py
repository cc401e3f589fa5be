"""The lab kit's checker: grades what a student built inside the guest.

Check modules need only what this package exports:

    from lab import Registry, Fail, CouldNotCheck

    check = Registry()

    @check(points=2)
    def nginx_installed(ctx):
        \"\"\"nginx is installed in the guest\"\"\"
        if not ctx.guest.package("nginx").is_installed:
            raise Fail("nginx is not installed", hint="try `sudo apt install nginx`")

A value that is not the one expected is a Mismatch, whose rationale is made
from the two values (see lab.core.outcomes):

    raise Mismatch("expected nginx to be {expected}, found it {actual}",
                   hint="try `sudo systemctl start nginx`", expected="active", actual=state)

Everything heavier (paramiko, requests, jinja2) is imported only when a run
needs it, so `python -m lab.check --list` starts fast.
"""

import importlib.util
import os
import sys

# The libraries pyproject.toml's dependencies install, by the name each is imported as
# (tests/unit/test_missing_libraries.py holds the two lists equal).
LIBRARIES = ["jinja2", "requests", "bottle", "paramiko", "tomli_w"] + (["tomli"] if sys.version_info < (3, 11) else [])


def missing_libraries():
    return [name for name in LIBRARIES if importlib.util.find_spec(name) is None]


def exit_if_libraries_are_missing():
    """Stop with one line naming the missing libraries and how to get them, exit code 2."""
    missing = missing_libraries()
    if not missing:
        return
    # sys.orig_argv is [python, -m, lab.check, ...]: the tool the student ran, named as lab.check names itself.
    argv = getattr(sys, "orig_argv", [])
    tool = argv[argv.index("-m") + 1] if "-m" in argv[:-1] else "lab"
    quoted = [repr(name) for name in missing]
    names = quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]
    what = f"the library {names} is" if len(missing) == 1 else f"the libraries {names} are"
    install = "`python -m pip install -e .` in the lab's folder"
    if sys.prefix != sys.base_prefix:  # a venv is active, but not one the checker was installed in
        remedy = f"install the checker into this venv with {install}"
    else:
        activate = r".venv\Scripts\activate" if os.name == "nt" else "source .venv/bin/activate"
        remedy = f"activate the lab's venv (`{activate}`), or install the checker with {install}"
    print(f"{tool}: {what} missing: {remedy}", file=sys.stderr)
    raise SystemExit(2)


# `python -m lab.check` (or lab, lab.selftest, ...) imports this package first, while
# sys.argv[0] is still "-m": check here, before any entry point imports a library,
# so that a venv that isn't activated gets one line instead of ModuleNotFoundError.
# A plain `import lab` (a check module, a test) is left alone.
if sys.argv[:1] == ["-m"]:
    exit_if_libraries_are_missing()

from lab.core.outcomes import CouldNotCheck, Fail, Mismatch, NotApplicable  # noqa: E402  (after the check above, which needs nothing)
from lab.core.registry import Registry  # noqa: E402

__version__ = "0.1.0"
__all__ = ["CouldNotCheck", "Fail", "Mismatch", "NotApplicable", "Registry"]
