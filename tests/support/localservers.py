"""Start real servers on 127.0.0.1 for the tests and the benchmarks.

Each server is a context manager that starts the real program, waits until its
port answers, and stops it (and checks nothing is left behind) on exit.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.support.paths import REPO

STATIC_DIR = REPO / "sample_app" / "static"

# Debian's gunicorn runs under Debian's python3 with Debian's python3-bottle
# (0.12), the same combination students install with apt in the guest.
GUNICORN = "/usr/bin/gunicorn"
NGINX = "/usr/sbin/nginx"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, proc=None, timeout=20.0, host="127.0.0.1"):
    """Block until something accepts connections on host:port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode} before listening on {port}")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout}s")


def render_template(name, **values):
    """Render one of the project's own templates with provisioning's own renderer."""
    if str(REPO / "provision") not in sys.path:
        sys.path.insert(0, str(REPO / "provision"))
    import guestconf

    return guestconf.render(name, **values)


def render_nginx_site(**values):
    defaults = {"listen_port": 80, "static_root": str(STATIC_DIR), "shared_folder": False, "tls": None}
    return render_template("nginx/likes.conf.j2", **{**defaults, **values})


def self_signed_certificate(folder, names="DNS:localhost,IP:127.0.0.1", days=30):
    """A certificate and key made with Debian's openssl, as the HTTPS step's exercise makes them."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    cert, key = folder / "likes.crt", folder / "likes.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-sha256", "-nodes", "-days", str(days),
                    "-subj", "/CN=localhost", "-addext", f"subjectAltName={names}",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


def tls_settings(cert, key, port=None):
    """The site template's tls value for a test: HTTPS on a free port, which is also
    the port its redirect names (no forwarding between them here)."""
    port = port or free_port()
    return {"port": port, "public_port": port, "certificate": str(cert), "key": str(key)}


class _Process:
    """A child process that must be stopped cleanly when the block ends."""

    proc = None
    stop_signal = signal.SIGTERM

    def start(self):
        raise NotImplementedError

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(self.stop_signal)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class DevServer(_Process):
    """`python -m sample_app`: Bottle's development server, logging to a file."""

    def __init__(self, workdir, db, port=None, python=sys.executable):
        self.workdir = Path(workdir)
        self.db = db
        self.port = port or free_port()
        self.python = python
        self.log = self.workdir / "devserver.log"

    def start(self):
        self.workdir.mkdir(parents=True, exist_ok=True)
        out = open(self.log, "ab")
        self.proc = subprocess.Popen(
            [self.python, "-m", "sample_app", "--host", "127.0.0.1", "--port", str(self.port), "--db", str(self.db)],
            cwd=REPO, stdout=out, stderr=subprocess.STDOUT,
        )
        out.close()
        wait_for_port(self.port, self.proc)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"


class Gunicorn(_Process):
    """Debian's gunicorn serving sample_app.wsgi:application."""

    def __init__(self, workdir, db, workers=3, port=None, bind=None):
        self.workdir = Path(workdir)
        self.db = db
        self.workers = workers
        self.port = port or free_port()
        self.bind = bind or f"127.0.0.1:{self.port}"
        self.access_log = self.workdir / "gunicorn-access.log"
        self.error_log = self.workdir / "gunicorn-error.log"

    def start(self):
        self.workdir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "LIKES_DB": str(self.db)}
        # Don't let the test runner's virtualenv leak into Debian's python3.
        env.pop("PYTHONPATH", None)
        env.pop("VIRTUAL_ENV", None)
        self.proc = subprocess.Popen(
            [GUNICORN, "--workers", str(self.workers), "--bind", self.bind, "--chdir", str(REPO),
             "--access-logfile", str(self.access_log), "--error-logfile", str(self.error_log),
             "--pid", str(self.workdir / "gunicorn.pid"), "sample_app.wsgi:application"],
            cwd=REPO, env=env, stdin=subprocess.DEVNULL,
        )
        if self.bind.startswith("unix:"):
            deadline = time.monotonic() + 20
            while not os.path.exists(self.bind[5:]):
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"gunicorn did not create {self.bind}; see {self.error_log}")
                time.sleep(0.05)
        else:
            wait_for_port(self.port, self.proc)
        self.wait_for_workers()

    def worker_pids(self):
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.proc.pid)],
                             capture_output=True, text=True).stdout
        return [int(p) for p in out.split()]

    def wait_for_workers(self, timeout=20):
        deadline = time.monotonic() + timeout
        while len(self.worker_pids()) < self.workers:
            if time.monotonic() > deadline:
                raise TimeoutError(f"gunicorn started {len(self.worker_pids())} of {self.workers} workers")
            time.sleep(0.05)

    def access_log_text(self):
        return self.access_log.read_text() if self.access_log.exists() else ""

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"


class Nginx(_Process):
    """Debian's nginx as its own master, with a throw-away prefix and main config.

    The main config is the test's; the site inside it is the project's own
    template, rendered with Jinja2 as provisioning renders it.
    """

    stop_signal = signal.SIGQUIT  # graceful: finish answering, then exit

    def __init__(self, workdir, app_servers, port=None, **site_values):
        self.prefix = Path(workdir)
        self.port = port or free_port()
        self.tls = site_values.get("tls")
        self.site = render_nginx_site(listen_port=self.port, app_servers=app_servers, **site_values)
        self.hardening = render_template("nginx/hardening.conf.j2")
        self.access_log = self.prefix / "logs" / "access.log"
        self.error_log = self.prefix / "logs" / "error.log"

    def main_config(self):
        p = self.prefix
        # As root, nginx would run its workers as "nobody", which can't enter
        # the test's private temporary folders; run them as the current user.
        user = "user root root;" if os.geteuid() == 0 else ""
        return f"""
{user}
worker_processes 2;
pid {p}/nginx.pid;
error_log {p}/logs/error.log warn;
events {{ worker_connections 512; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log {p}/logs/access.log;
    client_body_temp_path {p}/tmp/body;
    proxy_temp_path {p}/tmp/proxy;
    fastcgi_temp_path {p}/tmp/fastcgi;
    uwsgi_temp_path {p}/tmp/uwsgi;
    scgi_temp_path {p}/tmp/scgi;
    include {p}/conf/hardening.conf;
    include {p}/conf/likes.conf;
}}
"""

    def start(self):
        for sub in ("conf", "logs", "tmp"):
            (self.prefix / sub).mkdir(parents=True, exist_ok=True)
        (self.prefix / "conf" / "likes.conf").write_text(self.site)
        (self.prefix / "conf" / "hardening.conf").write_text(self.hardening)
        conf = self.prefix / "conf" / "nginx.conf"
        conf.write_text(self.main_config())
        check = subprocess.run([NGINX, "-t", "-p", str(self.prefix), "-c", str(conf)],
                               capture_output=True, text=True)
        if check.returncode != 0:
            raise RuntimeError(f"nginx -t rejected the config:\n{check.stderr}")
        self.proc = subprocess.Popen(
            [NGINX, "-p", str(self.prefix), "-c", str(conf), "-g", "daemon off;"],
            stdin=subprocess.DEVNULL,
        )
        wait_for_port(self.port, self.proc)
        if self.tls:
            wait_for_port(self.tls["port"], self.proc)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def https_url(self):
        return f"https://127.0.0.1:{self.tls['port']}"

