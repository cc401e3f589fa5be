"""The shape of the likes deployment at a given step, for the reference solutions.

Several steps change the same files: the nginx site (steps 4, 5, 7, 8, 11), the
app's single service (6, 7, and 8, which turns it off), gunicorn's settings (7, 8), the app's code
copied to /opt/likes (6, 7, 8). In one run of solve.py
each of them is installed by one step only: the last step, up to the one being
solved to ($LAB_SOLVE_TARGET), that changes it. So an early step never undoes
a later one, the step that installs a file also restarts what uses it, and
solving to step 10 twice changes nothing the second time.
"""

import json
import os

from facts import (APP, APP_SOURCE, CERTIFICATE, CODE_DIR, CONFIG_DIR, DEV_HOST, DEV_PORT, HTTP_PORT, HTTPS_PORT,
                   INSTANCE_SERVICE, LAB_FOLDER, PRIVATE_KEY, SERVICE, SINGLE_SOCKET, SITE, SITE_LINK, STATIC_DIR, WORKERS,
                   instance_names, instance_socket, instance_unit)
from guestconf import install_template, link, remove, sync_tree


# The steps that change each shared file, in order.
WRITERS = {"site": [4, 5, 7, 8, 11], "single_service": [6, 7, 8], "gunicorn_settings": [7, 8], "code": [6, 7, 8]}


def target():
    """The number of the last step being solved."""
    return int(os.environ.get("LAB_SOLVE_TARGET", "99"))


def writes(thing, step):
    """Whether this step is the one that installs `thing` in this run."""
    writers = [s for s in WRITERS[thing] if s <= target()]
    return bool(writers) and writers[-1] == step


def runs_dev_server():
    return 3 <= target() < 6


def uses_gunicorn():
    return target() >= 7


def uses_instances():
    return target() >= 8


def uses_tls():
    return target() >= 11


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
        return [f"unix:{s}" for s in instance_sockets()]
    if uses_gunicorn():
        return [f"unix:{SINGLE_SOCKET}"]
    return [f"{DEV_HOST}:{DEV_PORT}"]


def install_code():
    """The guest-local copy of the app that the services run."""
    return sync_tree(APP_SOURCE, f"{CODE_DIR}/sample_app")


def site_values():
    """What the nginx site template is rendered with at the target step."""
    static = target() >= 5
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


def install_instance_service():
    """likes@.service, the template of step 8's app servers."""
    return install_template("systemd/likes@.service.j2", f"/etc/systemd/system/{INSTANCE_SERVICE}")
