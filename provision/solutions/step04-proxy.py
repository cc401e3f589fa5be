"""Reference solution of step 4: nginx passes every request to the app on 127.0.0.1:8080."""

from guestconf import install_template, link, reload_nginx, remove

changed = install_template("nginx/likes.conf.j2", "/etc/nginx/sites-available/likes", listen_port=80,
                           app_servers=["127.0.0.1:8080"], static_root=None, shared_folder=False)
changed |= link("/etc/nginx/sites-available/likes", "/etc/nginx/sites-enabled/likes")
# Debian's welcome site also claims to be the default server on port 80.
changed |= remove("/etc/nginx/sites-enabled/default")
if changed:
    reload_nginx()
