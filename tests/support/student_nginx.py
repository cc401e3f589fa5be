"""A student's nginx site on Debian's nginx at 127.0.0.1, and the checker aimed at it.

Checks run in process, one at a time (without the checks they depend on,
which look for systemd services a test machine doesn't have), through the
checker's own local transport. Only `nginx -T` is pointed at the test's
nginx, the way the guest's prints the guest's configuration.
"""

import subprocess

import pytest

from lab.engine.context import Settings
from lab.engine.runner import run_one
from lab.transports.base import quote_command
from lab.transports.local import LocalTransport
from tests.support.localservers import NGINX, REPO, Nginx


class StudentNginx(Nginx):
    """Debian's nginx serving a site the test writes, included in the http block
    of the test's nginx.conf as Debian's nginx.conf includes sites-enabled/*.
    `http` adds lines to that http block; `user` sets the workers' user."""

    def __init__(self, workdir, site, http="", user=None):
        super().__init__(workdir, app_servers=["127.0.0.1:9"])  # the template's site is replaced below
        self.site = site.replace("LISTEN", f"127.0.0.1:{self.port}")
        self.http, self.user = http, user

    def main_config(self):
        text = super().main_config()
        if self.user:
            text = f"user {self.user};\n" + text.replace("user root root;", "")
        return text.replace("http {\n", f"http {{\n    {self.http}\n", 1)


class ThisMachine(LocalTransport):
    """The checker's local transport, with `nginx -T` showing the test's nginx."""

    def __init__(self, nginx):
        super().__init__(http_base=nginx.url)
        self.guests_nginx_t = quote_command("sudo -n sh -c %s", "nginx -T")
        self.tests_nginx_t = quote_command("sudo -n sh -c %s", quote_command(
            "%s -T -p %s -c %s", NGINX, nginx.prefix, nginx.prefix / "conf" / "nginx.conf"))

    def run_command(self, command, timeout):
        return super().run_command(self.tests_nginx_t if command == self.guests_nginx_t else command, timeout)


def grade(check, nginx):
    """Run one check alone against this nginx; returns its Result."""
    return run_one(check, ThisMachine(nginx), Settings(root=REPO, guest_url="local://"))


def site(static="", app="server 127.0.0.1:9;", extra=""):
    """A site like the lab's: `static` is the body of its /static/ location (none when empty),
    `app` the body of its upstream, `extra` more lines for its server block."""
    static_location = f"location /static/ {{ {static} }}" if static else ""
    return f"""
upstream likes_app {{ {app} }}
server {{
    listen LISTEN;
    {extra}
    {static_location}
    location / {{
        proxy_pass http://likes_app;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Real-IP $remote_addr;
    }}
}}
"""


def skip_without_sudo():
    """The checks run `sudo -n nginx -T` and read files as www-data with sudo."""
    if subprocess.run(["sudo", "-n", "true"], capture_output=True).returncode != 0:
        pytest.skip("the checks need sudo without a password, as in the guest")
