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

import json
import os
import sys

from facts import (
    APP,
    APP_SOURCE,
    CERTIFICATE,
    CHEROOT_SERVICE,
    CHEROOT_SOCKET,
    CODE_DIR,
    CONFIG_DIR,
    DEV_HOST,
    DEV_PORT,
    GUEST_USER,
    HELLO_FILE,
    HTTP_PORT,
    HTTPS_PORT,
    INSTANCE_SERVICE,
    LAB_FOLDER,
    PRIVATE_KEY,
    SERVICE,
    SINGLE_SOCKET,
    SITE,
    SITE_LINK,
    STATIC_DIR,
    WORKERS,
    instance_names,
    instance_socket,
    instance_unit,
)
from guestconf import install_file, install_template, link, remove, render, sync_tree


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


def uses_cheroot():
    return solving("step12")


def public_https_port():
    """The port on the student's computer forwarded to the guest's 443.

    The solution provisioner passes the port Vagrant forwards; run by hand in
    the guest, solve.py finds the lab's resolved settings in the lab folder,
    which the Vagrantfile writes."""
    if os.environ.get("LAB_HTTPS_PORT", "").isdigit():
        return int(os.environ["LAB_HTTPS_PORT"])
    try:
        with open(f"{LAB_FOLDER}/.lab/settings.json", encoding="utf-8") as f:
            return int(json.load(f)["https_port"])
    except (OSError, ValueError, KeyError, TypeError):
        return HTTPS_PORT


def instance_sockets():
    return [instance_socket(name) for name in instance_names()]


def app_servers():
    if uses_instances():
        # Step 12's second WSGI server joins the instances in the upstream.
        return [f"unix:{s}" for s in instance_sockets()] + ([f"unix:{CHEROOT_SOCKET}"] if uses_cheroot() else [])
    if uses_gunicorn():
        return [f"unix:{SINGLE_SOCKET}"]
    return [f"{DEV_HOST}:{DEV_PORT}"]


def install_code():
    """The guest-local copy of the app that the services run."""
    return sync_tree(APP_SOURCE, f"{CODE_DIR}/sample_app")


def site_values():
    """What the nginx site template is rendered with, for the steps being solved."""
    static = solving("step5")
    tls = {"port": HTTPS_PORT, "public_port": public_https_port(), "certificate": CERTIFICATE, "key": PRIVATE_KEY}
    return {"listen_port": HTTP_PORT, "app_servers": app_servers(), "static_root": STATIC_DIR if static else None,
            "shared_folder": static, "tls": tls if uses_tls() else None}


def install_site():
    """The nginx site as the target step needs it; returns True when something changed."""
    changed = install_template("nginx/likes.conf.j2", SITE, **site_values())
    changed |= link(SITE, SITE_LINK)
    # Debian's welcome site also claims to be the default server on port 80.
    changed |= remove("/etc/nginx/sites-enabled/default")
    return changed


def install_gunicorn_settings():
    unit = instance_unit(instance_names()[0]) if uses_instances() else APP
    return install_template("gunicorn/likes.conf.py.j2", f"{CONFIG_DIR}/gunicorn.conf.py", socket=SINGLE_SOCKET,
                            workers=WORKERS, unit=unit)


def install_single_service():
    """likes.service, running the dev server (step 6) or gunicorn (step 7)."""
    return install_template("systemd/likes.service.j2", f"/etc/systemd/system/{SERVICE}",
                            gunicorn=uses_gunicorn(), workers=WORKERS)


def install_hello():
    """The student's own WSGI app, as step 12's exercise writes it, in their home folder and theirs."""
    # Owned by the student, as the file they write with nano would be; written once, and again
    # only when it differs, so that solving twice changes nothing the second time.
    return install_file(HELLO_FILE, render("wsgi/hello.py.j2"), mode=0o644, owner=GUEST_USER, group=GUEST_USER)


def install_cheroot_service():
    """likes-cheroot.service, the app on step 12's second WSGI server."""
    return install_template("systemd/likes-cheroot.service.j2", f"/etc/systemd/system/{CHEROOT_SERVICE}")


def install_instance_service():
    """likes@.service, the template of step 8's app servers."""
    return install_template("systemd/likes@.service.j2", f"/etc/systemd/system/{INSTANCE_SERVICE}")
