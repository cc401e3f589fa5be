"""Step 11: HTTPS with a self-signed certificate, and plain HTTP redirected to it."""

from datetime import datetime, timezone
from ipaddress import ip_address
from urllib.parse import urlsplit

from checks.step09_firewall import firewall_active
from lab import Fail, Mismatch, Registry
from provision.facts import APP, GUEST_USER, HTTPS_PORT, NGINX_USER, OUTSIDER, PRIVATE_KEY

check = Registry()
# Who might read the private key and must not: you, nginx's workers, the app, anybody.
KEY_OUTSIDERS = (GUEST_USER, NGINX_USER, APP, OUTSIDER)

def _served_certificate(ctx):
    # cryptography comes with paramiko, which the checker needs anyway.
    from cryptography import x509

    _, der = ctx.http.tls_handshake()
    return x509.load_der_x509_certificate(der)


def _utc(cert, which):
    """The certificate's not_valid_before/after as an aware datetime, on old and new cryptography."""
    value = getattr(cert, f"{which}_utc", None)
    return value if value is not None else getattr(cert, which).replace(tzinfo=timezone.utc)


@check(points=3)
def https_answers(ctx):
    """the site answers over HTTPS, on the guest's port {HTTPS_PORT}"""
    version, _ = ctx.http.tls_handshake()
    ctx.note(f"the handshake used {version}")
    res = ctx.http.get(ctx.http.https_url("/likes"), upgrade=False)
    if res.status != 200 or not res.is_json:
        raise Mismatch("expected HTTP {expected} with the likes as JSON from {url}, got {status_line}",
                       hint="the HTTPS server block needs the same `location` blocks as the old one; "
                            "`sudo tail /var/log/nginx/error.log` says what went wrong",
                       expected=200, actual=res.status, url=res.url, status_line=res.status_line)


@check(points=2, depends=https_answers)
def certificate_fits_the_site(ctx):
    """the certificate is valid today and names the address you browse to"""
    from cryptography import x509

    cert = _served_certificate(ctx)
    now = datetime.now(timezone.utc)
    starts, ends = _utc(cert, "not_valid_before"), _utc(cert, "not_valid_after")
    if now < starts:
        raise Fail(f"the certificate is not valid until {starts:%Y-%m-%d %H:%M} UTC",
                   hint="is the guest's clock right? `timedatectl` in the guest; then make the certificate again")
    if now > ends:
        raise Fail(f"the certificate expired on {ends:%Y-%m-%d}", hint="make a new one (see the exercise)")
    host = urlsplit(ctx.http.https_url()).hostname
    try:
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        names = None
    dns = names.get_values_for_type(x509.DNSName) if names else []
    ips = [str(ip) for ip in names.get_values_for_type(x509.IPAddress)] if names else []
    try:
        named = str(ip_address(host)) in ips
    except ValueError:
        named = host in dns
    if not named:
        found = ", ".join(dns + ips) or "no subjectAltName at all"
        raise Mismatch("expected the certificate's subjectAltName to name {expected}, found {actual}",
                       hint="browsers ignore the CN; make the certificate with "
                            "`-addext \"subjectAltName=DNS:localhost,IP:127.0.0.1\"`",
                       expected=host, actual=found)


@check(points=1, depends=https_answers)
def private_key_secret(ctx):
    """the certificate's private key is readable by root alone"""
    keys = [d.args[0] for d in ctx.guest.nginx_config().find("ssl_certificate_key") if d.args]
    if not keys:
        raise Fail("expected an `ssl_certificate_key` line in nginx's configuration, found none",
                   hint=f"name the key next to the certificate: `ssl_certificate_key {PRIVATE_KEY};`")
    for path in keys:
        key = ctx.guest.file(path).stat()
        if key is None:
            raise Fail(f"nginx's configuration names the key {path}, which does not exist",
                       hint="`sudo nginx -T | grep ssl_` shows the paths nginx uses")
        # Debian's own convention also lets the group ssl-cert read keys.
        group_ok = not key.mode & 0o040 or key.group in ("root", "ssl-cert")
        if key.owner != "root" or key.mode & 0o007 or not group_ok:
            raise Fail(f"expected {path} to be readable by root alone, found mode {key.mode:o} "
                       f"owned by {key.owner}:{key.group}",
                       hint=f"anyone who reads the key can pretend to be your site: "
                            f"`sudo chown root:root {path} && sudo chmod 600 {path}`",
                       expected="600 root:root", actual=f"{key.mode:o} {key.owner}:{key.group}")
        # The mode can look right while an ACL (`setfacl -m u:vagrant:r`) lets someone in: the
        # users who could want the key each try to open it.
        # Each that exists: a course that leaves out step 6 has no user likes.
        readers = [user for user in KEY_OUTSIDERS
                   if ctx.guest.user(user).exists and ctx.guest.file(path).readable_by(user)]
        if readers:
            raise Fail(f"expected {path} to be readable by root alone, but {', '.join(readers)} can read it "
                       f"(its mode is {key.mode:o}: an ACL lets them in, `getfacl {path}` shows it)",
                       hint=f"`sudo setfacl -b {path}` removes the ACL; `sudo chmod 600 {path}` then closes it")


@check(points=2)
def http_redirects_to_https(ctx):
    """plain HTTP sends the browser to the same page over HTTPS"""
    path = f"/likes?from={ctx.nonce()}"
    res = ctx.http.get(path, upgrade=False)
    https_port = urlsplit(ctx.http.https_url()).port or HTTPS_PORT
    fix = f"`return 301 https://$host{'' if https_port == HTTPS_PORT else f':{https_port}'}$request_uri;`"
    if res.status not in (301, 308):
        raise Mismatch("expected {url} to answer {expected} Moved Permanently, got {status_line}",
                       hint=f"make the port 80 server block do nothing but redirect: {fix}",
                       expected=301, actual=res.status, url=res.url, status_line=res.status_line)
    location = res.headers.get("Location", "")
    if not ctx.http.upgrade_target(res):
        wanted = ctx.http.https_url(path)
        raise Fail(f"expected the redirect to go to {wanted}, it goes to {location or 'nowhere'}",
                   hint=f"keep the host, the port your computer uses for HTTPS, and the path: {fix}",
                   expected=wanted, actual=location)


@check(points=1, depends=https_answers)
def app_told_it_was_https(ctx):
    """the app is told that the browser used HTTPS"""
    res = ctx.http.get(ctx.http.https_url("/whoami"), upgrade=False)
    seen = res.expect_json(hint="the HTTPS server block needs the same `location /` block, with its proxy_pass, "
                                "as the old one").get("x_forwarded_proto")
    if seen != "https":
        raise Mismatch("expected the app to see the header X-Forwarded-Proto: {expected}, it saw {actual!r}",
                       hint="in the HTTPS server block, pass it on with `proxy_set_header X-Forwarded-Proto $scheme;`",
                       expected="https", actual=seen)


@check(points=1, depends=firewall_active)
def firewall_lets_https_in(ctx):
    """the firewall lets HTTPS ({HTTPS_PORT}) in"""
    if not ctx.guest.firewall().lets_in(HTTPS_PORT):
        raise Fail(f"expected a ufw rule letting TCP port {HTTPS_PORT} in, found none (or a deny listed before it)",
                   hint=f"`sudo ufw allow {HTTPS_PORT}/tcp`; `sudo ufw status numbered` shows the rules in the "
                        "order ufw tries them")
