"""The lab kit's checker: grades what a student built inside the guest.

Check modules need only what this package exports:

    from lab import Registry, Fail, CouldNotCheck

    check = Registry()

    @check(points=2)
    def nginx_installed(ctx):
        \"\"\"nginx is installed in the guest\"\"\"
        if not ctx.guest.package("nginx").is_installed:
            raise Fail("nginx is not installed", hint="try `sudo apt install nginx`")

Everything heavier (paramiko, requests, jinja2) is imported only when a run
needs it, so `python -m lab.check --list` starts fast.
"""

from .outcomes import CouldNotCheck, Fail
from .registry import Registry

__version__ = "0.1.0"
__all__ = ["CouldNotCheck", "Fail", "Registry"]
