"""Reference solution of step 11: nginx answers HTTPS with a self-signed
certificate, and plain HTTP sends the browser there."""

import os
from pathlib import Path

from deployment import install_site, installs
from facts import CERTIFICATE, PRIVATE_KEY
from guestconf import apt_install, record, reload_nginx, run

apt_install("openssl")

# A new certificate only when there is none, or it runs out within 30 days:
# a new one on every run would make browsers ask to trust it all over again.
certificate, key = Path(CERTIFICATE), Path(PRIVATE_KEY)
valid = certificate.exists() and key.exists() and run(
    "openssl", "x509", "-checkend", str(30 * 24 * 3600), "-noout", "-in", str(certificate),
    check=False, capture_output=True).returncode == 0
made = False
if not valid:
    key.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    old_umask = os.umask(0o077)  # the key is created readable by root alone
    try:
        # -noenc: the key is stored without a passphrase (OpenSSL 3.0's name for the old -nodes).
        run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-sha256", "-noenc", "-days", "365",
            "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout", str(key), "-out", str(certificate), capture_output=True)
    finally:
        os.umask(old_umask)
    certificate.chmod(0o644)  # a certificate is public: browsers get it anyway
    record(f"made a self-signed certificate {certificate} with its key {key}")
    made = True

if (installs("site") and install_site()) or made:
    reload_nginx()
