"""The shape of the likes deployment in one run of solve.py, for the reference solutions.

Several steps change the same things: the nginx site, what answers behind it,
gunicorn's settings, the app's code copied to /opt/likes. checks/steps.toml
declares them under [shared], and each step lists in `writes` the ones it
changes. solve.py tells each solution which of them it installs
($LAB_INSTALLS): those whose last writer, among the steps being solved
($LAB_SOLVE_STEPS), is this step. So an early step never undoes a later one,
the step that installs a file also restarts what uses it, and solving to
step 10 twice changes nothing the second time.
"""

import os
import sys

from guestconf import install_template, link, remove, sync_tree

STATIC_ROOT = "/vagrant/sample_app/static"
INSTANCES = ["1", "2", "3"]
SINGLE_SOCKET = "/run/likes/gunicorn.sock"
# Where Debian and Ubuntu keep certificates, and private keys (a folder only root can list).
CERTIFICATE = "/etc/ssl/certs/likes.crt"
PRIVATE_KEY = "/etc/ssl/private/likes.key"


def _listed(variable):
    return os.environ.get(variable, "").split()


def solving(step_id):
    """Whether this run solves the step: the deployment takes the shape of every step being solved."""
    return step_id in _listed("LAB_SOLVE_STEPS")


def installs(thing):
    """Whether this solution is the one that installs `thing` (a [shared] name) in this run."""
    if thing not in _listed("LAB_SHARED"):
        sys.exit(f"installs({thing!r}): {thing!r} is not declared under [shared] in steps.toml "
                 f"(declared: {', '.join(_listed('LAB_SHARED')) or 'nothing; run the solutions through solve.py'})")
    return thing in _listed("LAB_INSTALLS")


# What the deployment looks like once these steps are solved. By step id, not
# position: a course that inserts or omits steps leaves the meaning intact.
def uses_gunicorn():
    return solving("step7")


def uses_instances():
    return solving("step8")


def uses_tls():
    return solving("step11")


def public_https_port():
    """The port on the student's computer forwarded to the guest's 443 (the
    Vagrantfile passes its https_port setting)."""
    return int(os.environ.get("LAB_HTTPS_PORT", "8443"))


def instance_sockets():
    return [f"/run/likes-{i}/gunicorn.sock" for i in INSTANCES]


def app_servers():
    if uses_instances():
        return [f"unix:{s}" for s in instance_sockets()]
    if uses_gunicorn():
        return [f"unix:{SINGLE_SOCKET}"]
    return ["127.0.0.1:8080"]


def install_code():
    """The guest-local copy of the app that the services run."""
    return sync_tree("/vagrant/sample_app", "/opt/likes/sample_app")


def site_values():
    """What the nginx site template is rendered with, for the steps being solved."""
    static = solving("step5")
    tls = {"port": 443, "public_port": public_https_port(), "certificate": CERTIFICATE, "key": PRIVATE_KEY}
    return {"listen_port": 80, "app_servers": app_servers(), "static_root": STATIC_ROOT if static else None,
            "shared_folder": static, "tls": tls if uses_tls() else None}


def install_site():
    """The nginx site as the target step needs it; returns True when something changed."""
    changed = install_template("nginx/likes.conf.j2", "/etc/nginx/sites-available/likes", **site_values())
    changed |= link("/etc/nginx/sites-available/likes", "/etc/nginx/sites-enabled/likes")
    # Debian's welcome site also claims to be the default server on port 80.
    changed |= remove("/etc/nginx/sites-enabled/default")
    return changed


def install_gunicorn_settings():
    unit = "likes@1" if uses_instances() else "likes"
    return install_template("gunicorn/likes.conf.py.j2", "/etc/likes/gunicorn.conf.py", socket=SINGLE_SOCKET,
                            workers=3, unit=unit)


def install_single_service():
    """likes.service, running the dev server (step 6) or gunicorn (step 7)."""
    return install_template("systemd/likes.service.j2", "/etc/systemd/system/likes.service",
                            gunicorn=uses_gunicorn(), workers=3)
