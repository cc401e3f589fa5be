"""The provisioning code on the host: the idempotent installers, the deployment's
shape per step, and every rendered config (nginx's checked by real `nginx -t`)."""

import os
import pwd
import sys

import pytest

from tests.support.localservers import REPO, Nginx, self_signed_certificate, tls_settings

sys.path.insert(0, str(REPO / "provision"))

import deployment  # noqa: E402
import guestconf  # noqa: E402

ME = pwd.getpwuid(os.getuid()).pw_name
GROUP = __import__("grp").getgrgid(os.getgid()).gr_name


@pytest.mark.unit
def test_install_file_writes_once_and_reports(tmp_path, capsys):
    target = tmp_path / "etc" / "site.conf"
    assert guestconf.install_file(target, "a = 1\n", mode=0o640, owner=ME, group=GROUP)
    assert target.read_text() == "a = 1\n" and (target.stat().st_mode & 0o777) == 0o640
    assert not guestconf.install_file(target, "a = 1\n", mode=0o640, owner=ME, group=GROUP)
    target.chmod(0o666)
    assert guestconf.install_file(target, "a = 1\n", mode=0o640, owner=ME, group=GROUP)
    assert capsys.readouterr().out.splitlines() == [f"  changed: wrote {target}"] * 2


@pytest.mark.unit
def test_solve_installs_what_it_reads_the_manifest_with_before_reading_it(monkeypatch, capsys):
    """As on Ubuntu 22.04: Python 3.10, no tomllib, and tomli missing until apt installs python3-tomli."""
    import tomllib

    import solve

    installed = []

    def apt_install(*packages):
        installed.extend(packages)
        monkeypatch.setitem(sys.modules, "tomli", tomllib)  # what `apt install python3-tomli` brings
    monkeypatch.setattr(sys, "version_info", (3, 10, 12, "final", 0))
    monkeypatch.setitem(sys.modules, "tomllib", None)  # None in sys.modules: the import fails
    monkeypatch.setitem(sys.modules, "tomli", None)
    monkeypatch.setattr(guestconf, "apt_install", apt_install)
    monkeypatch.setattr(solve.os, "geteuid", lambda: 0)
    monkeypatch.setattr(solve, "run_solution", lambda script, env: (0, 0))
    solve.main(["step2"])
    assert installed == ["python3-jinja2", "python3-tomli"]
    assert "solve: steps step1..step2 are solved (nothing changed)" in capsys.readouterr().out


@pytest.mark.unit
def test_solve_counts_the_changes_a_solution_reports(tmp_path, capfd):
    import solve

    script = tmp_path / "solution.py"
    script.write_text("from guestconf import record\nrecord('wrote /etc/a')\nrecord('restarted b')\n")
    env = {**os.environ, "PYTHONPATH": str(REPO / "provision")}
    assert solve.run_solution(script, env) == (2, 0)
    assert capfd.readouterr().out == "  changed: wrote /etc/a\n  changed: restarted b\n"
    script.write_text("print('checked /etc/a: already right')\n")
    assert solve.run_solution(script, env) == (0, 0)
    script.write_text("import sys\nprint('  changed: half done')\nsys.exit(3)\n")
    assert solve.run_solution(script, env) == (1, 3)
    shell = tmp_path / "solution.sh"
    shell.write_text("echo '  changed: installed tree'\n")
    assert solve.run_solution(shell, env) == (1, 0)


@pytest.mark.unit
def test_sync_tree_copies_changes_and_removes_extras(tmp_path):
    source, target = tmp_path / "src", tmp_path / "opt" / "app"
    (source / "pkg").mkdir(parents=True)
    (source / "pkg" / "a.py").write_text("A")
    (source / "__pycache__").mkdir()
    (source / "__pycache__" / "x.pyc").write_text("cache")
    assert guestconf.sync_tree(source, target)
    assert (target / "pkg" / "a.py").read_text() == "A" and not (target / "__pycache__").exists()
    assert not guestconf.sync_tree(source, target)
    (target / "stale.py").write_text("old")
    (source / "pkg" / "a.py").write_text("B")
    assert guestconf.sync_tree(source, target)
    assert (target / "pkg" / "a.py").read_text() == "B" and not (target / "stale.py").exists()


@pytest.mark.unit
@pytest.mark.parametrize("target", range(1, 12))
def test_each_shared_file_has_one_writer_per_run(monkeypatch, target):
    monkeypatch.setenv("LAB_SOLVE_TARGET", str(target))
    for thing, steps in deployment.WRITERS.items():
        writers = [s for s in range(1, 12) if deployment.writes(thing, s)]
        assert writers == ([max(s for s in steps if s <= target)] if min(steps) <= target else [])


@pytest.mark.unit
def test_gunicorn_settings_are_valid_python(tmp_path):
    text = guestconf.render("gunicorn/likes.conf.py.j2", socket="/run/likes/gunicorn.sock", workers=3, unit="likes")
    settings = {}
    exec(compile(text, "gunicorn.conf.py", "exec"), settings)
    assert (settings["bind"], settings["workers"], settings["umask"]) == ("unix:/run/likes/gunicorn.sock", 3, 0o007)
    assert text.count("\n#") >= 5


@pytest.mark.unit
@pytest.mark.parametrize("template, values", [
    ("systemd/likes.service.j2", {"gunicorn": False}),
    ("systemd/likes.service.j2", {"gunicorn": True, "workers": 3}),
    ("systemd/likes@.service.j2", {}),
])
def test_units_are_complete_and_explained(template, values):
    text = guestconf.render(template, **values)
    for key in ("User=likes", "WorkingDirectory=/opt/likes", "Restart=on-failure", "WantedBy=multi-user.target",
                "/var/lib/likes"):
        assert key in text
    settings = [line for line in text.splitlines() if "=" in line and not line.startswith("#")]
    comments = [line for line in text.splitlines() if line.startswith("#")]
    assert len(comments) >= len(settings) // 2, "students read these units: explain the settings"


@pytest.mark.server
@pytest.mark.parametrize("target", range(4, 12))
def test_the_site_of_every_step_passes_nginx_t(monkeypatch, tmp_path, target):
    """The site exactly as the solutions render it at each step, loaded by real nginx."""
    monkeypatch.setenv("LAB_SOLVE_TARGET", str(target))
    values = deployment.site_values()
    del values["listen_port"]  # a free port here instead of 80
    if values["tls"]:
        # The same settings, with a real certificate of the test's own on a free port.
        made = tls_settings(*self_signed_certificate(tmp_path / "tls"))
        values["tls"] = {**values["tls"], **made, "public_port": 8443}
    with Nginx(tmp_path / "nginx", **values) as nginx:
        site = (nginx.prefix / "conf" / "likes.conf").read_text()
    static = target >= 5
    assert ("location /static/" in site) is static
    assert ("sendfile off;" in site) is static
    assert site.count("    server unix:") == (3 if target >= 8 else 1 if target == 7 else 0)
    assert ("return 301 https://$host:8443$request_uri;" in site) is (target >= 11)
    assert site.count(" ssl default_server;") == (2 if target >= 11 else 0)
