"""Facts of the likes deployment, each defined once.

The checks grade against these, the reference solutions install them, and
the templates are rendered with them. To change the deployment (four app
servers instead of three, the database somewhere else), change it here: the
selftest then proves that the solutions and the checks still agree. The
exercises say the same things in prose, for students; `python -m lab replay`
proves that prose against the checks.

The checker imports this module on the student's computer (as
provision.facts) and the solutions import it in the guest (as facts, from the
shared folder), so it needs the standard library only.
"""

import os
import re

# -- the lab folder ------------------------------------------------------------
# The lab folder as the guest sees it: the folder Vagrant shares (or copies) in.
# A course whose students clone the lab on a server of their own sets it in its
# steps.toml ([course] lab_folder), which lab.core.manifest passes on as $LAB_FOLDER.
LAB_FOLDER = os.environ.get("LAB_FOLDER") or "/vagrant"
# The app's code in the lab folder, and its static files (CSS, JavaScript, logo).
APP_SOURCE = f"{LAB_FOLDER}/sample_app"
STATIC_DIR = f"{APP_SOURCE}/static"

# -- the guest's user --------------------------------------------------------------
# The user students log in as (`vagrant ssh`), who starts the development server.
GUEST_USER = "vagrant"
# A user in none of the deployment's groups, on every Debian and Ubuntu: "others",
# whom the app's socket and the private key must refuse.
OUTSIDER = "nobody"

# -- the app ---------------------------------------------------------------------
# "likes" names the app's system user and group, its systemd units, its nginx
# site and its folders.
APP = "likes"
# The development server's address (steps 3 to 6), and its log, in the home
# folder of the user who starts it.
DEV_HOST, DEV_PORT = "127.0.0.1", 8080
DEV_LOG = f"{APP}.log"
# Processes that are the app, by their command line: the development server
# (python3 -m sample_app) and gunicorn's masters and workers.
APP_PROCESS = re.compile(r"sample_app|gunicorn")
# The SQLite database, on the guest's own disk: never in the shared folder,
# where file locking breaks.
DB_DIR = f"/var/lib/{APP}"
DB_PATH = f"{DB_DIR}/{APP}.db"
# The copy of the app the services run from (step 6 on), so that editing the
# lab folder doesn't change the running app behind its back.
CODE_DIR = f"/opt/{APP}"
# The app's settings for gunicorn.
CONFIG_DIR = f"/etc/{APP}"

# How long browsers may keep the static files (step 5's `expires 1h`), and the
# Cache-Control max-age nginx sends for it.
STATIC_EXPIRES_HOURS = 1
STATIC_MAX_AGE = STATIC_EXPIRES_HOURS * 3600

# -- the services ------------------------------------------------------------------
# The app's single service (steps 6 and 7) and its templated instances (step 8).
SERVICE = f"{APP}.service"
INSTANCE_SERVICE = f"{APP}@.service"
# What systemd calls the running instances, as a pattern; and all the app's units.
INSTANCE_UNITS = f"{APP}@*.service"
APP_UNITS = (SERVICE, INSTANCE_UNITS)
# How many app servers step 8 runs behind nginx's upstream.
INSTANCES = 3
# gunicorn's workers per server (step 7 on).
WORKERS = 3
# How many requests the checks send, six at a time, to see them spread over
# gunicorn's workers (step 7) or the upstream's servers (step 8): enough that
# each of three gets several, however nginx and gunicorn share them out.
SPREAD_REQUESTS = 30
# How long a restarted or killed app may take to serve again (steps 6 and 8; the
# exercise says so). gunicorn is up in a second on a laptop; a guest whose page
# cache is cold after a boot, emulated without hardware help, has been seen to
# take 16 s from the kill to listening.
BACK_WITHIN = 30
# The unix socket gunicorn binds: the single service's, and each instance's.
SINGLE_SOCKET = f"/run/{APP}/gunicorn.sock"


def instance_names():
    """The instances of the templated unit: "1", "2", ... as in likes@1."""
    return [str(n) for n in range(1, INSTANCES + 1)]


def instance_unit(name):
    return f"{APP}@{name}"


def instance_socket(name):
    return f"/run/{APP}-{name}/gunicorn.sock"


# -- a WSGI callable by hand, and a second WSGI server (step 12) --------------------
# The student's own WSGI app, in their home folder, and the port it answers on when
# run under the standard library's wsgiref.
HELLO_FILE = f"/home/{GUEST_USER}/hello.py"
HELLO_PORT = 8001
# CherryPy's WSGI server, from Debian's and Ubuntu's python3-cheroot, as a fourth
# member of the upstream: one process, a pool of threads.
CHEROOT_SERVICE = f"{APP}-cheroot.service"
CHEROOT_SOCKET = f"/run/{APP}-cheroot/cheroot.sock"
CHEROOT_THREADS = 4

# -- nginx ---------------------------------------------------------------------
# The name of the upstream block that lists the app servers (proxy_pass http://likes_app).
UPSTREAM = f"{APP}_app"
# nginx's main configuration. Its http block has `server_tokens off;`
# commented out on Ubuntu 22.04/24.04 and Debian 12, and turned on already on
# Debian 13 (and newer Ubuntu releases may follow it): step 10 uncomments it.
NGINX_CONF = "/etc/nginx/nginx.conf"
# Where the solution puts server_tokens off when nginx.conf has no such line at all.
HARDENING_CONF = "/etc/nginx/conf.d/hardening.conf"
# The user nginx's workers run as, in Debian's and Ubuntu's nginx.conf.
NGINX_USER = "www-data"
# The site students write (sites-enabled/ holds a link to it).
SITE = f"/etc/nginx/sites-available/{APP}"
SITE_LINK = f"/etc/nginx/sites-enabled/{APP}"
# The guest's web ports, which Vagrant forwards to the student's computer.
HTTP_PORT, HTTPS_PORT = 80, 443
# The self-signed certificate of step 11, where Debian and Ubuntu keep
# certificates, and its key (a folder only root can list).
CERTIFICATE = f"/etc/ssl/certs/{APP}.crt"
PRIVATE_KEY = f"/etc/ssl/private/{APP}.key"

# -- the firewall --------------------------------------------------------------
# The TCP ports step 9's firewall lets in: SSH (Vagrant's way in), HTTP and HTTPS.
SSH_PORT = 22
FIREWALL_PORTS = (SSH_PORT, HTTP_PORT, HTTPS_PORT)
# ufw's own settings: its ENABLED= line says whether the firewall comes up at boot.
UFW_CONF = "/etc/ufw/ufw.conf"

# -- the guest's packages --------------------------------------------------------
# Another apt process may hold apt's lock for minutes (an install the student
# started in another window, or unattended-upgrades on a box that has it):
# every apt run waits this long for it instead of failing.
APT_LOCK_TIMEOUT = 600
# How dpkg says a package is installed: `dpkg-query -W -f='${Status}' NAME`
# prints this, and something else (or fails) when it isn't.
PACKAGE_STATUS_FORMAT = "${Status}"
PACKAGE_INSTALLED = "install ok installed"
