"""The checks' reader of `nginx -T` (lab/guest/nginx.py): one tree, with each
include in its place, and the location and file nginx picks for a request."""

import pytest

from lab.guest.nginx import location_for, parse_nginx, served_path, server_blocks

# The shape of Debian's nginx -T: each file once, under its "# configuration
# file" line, in the order nginx read them. The site sets no sendfile: it
# inherits nginx.conf's. Its alias points at a copy deployed in the guest.
NGINX_T = """\
# configuration file /etc/nginx/nginx.conf:
user www-data;
include /etc/nginx/modules-enabled/*.conf;
events { worker_connections 768; }
http {
\tsendfile off;
\tinclude /etc/nginx/mime.types;
\tinclude /etc/nginx/conf.d/*.conf;
\tinclude /etc/nginx/sites-enabled/*;
}

# configuration file /etc/nginx/modules-enabled/50-mod-http-geoip.conf:
load_module modules/ngx_http_geoip_module.so;

# configuration file /etc/nginx/mime.types:
types {
    text/css css;
}

# configuration file /etc/nginx/sites-enabled/likes:
# A comment that mentions a configuration file: not a header.
upstream likes_app { server unix:/run/likes/gunicorn.sock; }
server {
    listen 80 default_server;
    location /static/ {
        alias /opt/likes/sample_app/static/;
    }
    location / { proxy_pass http://likes_app; }
}

"""


def test_nginx_includes_put_the_site_inside_the_http_block():
    config = parse_nginx(NGINX_T)
    assert [d.name for d in config.children] == ["user", "include", "load_module", "events", "http"]
    http = config.children[-1]
    assert [d.name for d in http.children] == ["sendfile", "include", "types", "include", "include", "upstream",
                                               "server"]
    [server] = server_blocks(config)  # not the upstream's `server unix:...` line
    assert server.parent is http and server.source == "/etc/nginx/sites-enabled/likes"
    static = location_for(server, "/static/style.css")
    assert static.args == ["/static/"]
    assert static.effective("sendfile") == ["off"], "inherited from nginx.conf's http block"
    assert served_path(server, "/static/style.css") == "/opt/likes/sample_app/static/style.css"
    assert served_path(server, "/likes") is None  # passed on to the app


def test_nginx_an_include_follows_globs_and_relative_paths():
    text = ("# configuration file /etc/nginx/nginx.conf:\nhttp { include conf.d/*.conf; include mime.types; }\n\n"
            "# configuration file /etc/nginx/conf.d/b.conf:\nb on;\n\n"
            "# configuration file /etc/nginx/conf.d/a.conf:\na on;\n\n"
            "# configuration file /etc/nginx/mime.types:\ntypes { }\n\n")
    http = parse_nginx(text).children[0]
    # glob order (sorted), relative to nginx.conf's folder, as nginx reads them
    assert [d.name for d in http.children] == ["include", "a", "b", "include", "types"]


def test_nginx_words_quotes_escapes_and_variables():
    config = parse_nginx('location ~* "\\.(css|js)$" { add_header X-Empty ""; '
                         'return 301 https://${host}$request_uri; }  # done')
    [location] = config.children
    assert location.args == ["~*", "\\.(css|js)$"]
    assert [(d.name, d.args) for d in location.children] == [
        ("add_header", ["X-Empty", ""]), ("return", ["301", "https://${host}$request_uri"])]


@pytest.mark.parametrize("uri, picked, path", [
    ("/static/style.css", "/static/", "/vagrant/sample_app/static/style.css"),
    ("/static/logo.png", "\\.png$", "/srv/www/static/logo.png"),   # a regular expression beats a plain prefix
    ("/img/a.png", "/img/", "/data/img/a.png"),                    # ^~ stops the regular expressions
    ("/exact", "/exact", "/srv/www/exact"),
    ("/files/a/b.css", "^/files/(.*)$", "/data/files/a/b.css"),
    ("/likes", "/", None),
])
def test_nginx_the_location_and_file_nginx_picks(uri, picked, path):
    config = parse_nginx("""http { root /srv/www; server {
        location / { proxy_pass http://likes_app; }
        location /static/ { alias /vagrant/sample_app/static/; }
        location ~* \\.png$ { expires 1d; }
        location ^~ /img/ { root /data; }
        location = /exact { }
        location ~ ^/files/(.*)$ { alias /data/files/$1; }
    } }""")
    [server] = server_blocks(config)
    assert location_for(server, uri).args[-1] == picked
    assert served_path(server, uri) == path


def test_nginx_a_redirecting_server_serves_no_file():
    [server] = server_blocks(parse_nginx("http { server { listen 80; return 301 https://$host$request_uri; } }"))
    assert served_path(server, "/static/style.css") is None
