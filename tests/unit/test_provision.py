"""The provisioning code on the host: the idempotent installers, the deployment's shape
per step, a course's steps solved through solve.py, and the rendered configs."""

import json
import os
import pwd
import sys

import pytest

from lab.core.manifest import load
from tests.support.localservers import REPO
from tests.support.provision import deployment, guestconf, solving_env

ME = pwd.getpwuid(os.getuid()).pw_name
GROUP = __import__("grp").getgrgid(os.getgid()).gr_name


def test_install_file_writes_once_and_reports(tmp_path, capsys):
    target = tmp_path / "etc" / "site.conf"
    assert guestconf.install_file(target, "a = 1\n", mode=0o640, owner=ME, group=GROUP)
    assert target.read_text() == "a = 1\n" and (target.stat().st_mode & 0o777) == 0o640
    assert not guestconf.install_file(target, "a = 1\n", mode=0o640, owner=ME, group=GROUP)
    target.chmod(0o666)
    assert guestconf.install_file(target, "a = 1\n", mode=0o640, owner=ME, group=GROUP)
    assert capsys.readouterr().out.splitlines() == [f"  changed: wrote {target}"] * 2


def test_solve_installs_what_it_reads_the_manifest_with_before_reading_it(monkeypatch, capsys):
    """As on Ubuntu 22.04: Python 3.10, no tomllib, and tomli missing until apt installs python3-tomli."""
    import solve
    import tomllib

    import lab.core

    installed = []

    def apt_install(*packages):
        assert "lab.core.manifest" not in sys.modules, "the manifest's reader was imported before its tomli was there"
        installed.extend(packages)
        monkeypatch.setitem(sys.modules, "tomli", tomllib)  # what `apt install python3-tomli` brings
    monkeypatch.setattr(sys, "version_info", (3, 10, 12, "final", 0))
    monkeypatch.setitem(sys.modules, "tomllib", None)  # None in sys.modules: the import fails
    monkeypatch.setitem(sys.modules, "tomli", None)
    # Read the manifest afresh, as the guest does: its reader imports tomli when it is imported.
    monkeypatch.delitem(sys.modules, "lab.core.manifest")
    monkeypatch.delattr(lab.core, "manifest")
    monkeypatch.setattr(guestconf, "apt_install", apt_install)
    monkeypatch.setattr(solve.os, "geteuid", lambda: 0)
    monkeypatch.setattr(solve, "run_solution", lambda script, env: (0, 0))
    solve.main(["step2"])
    assert installed == ["python3-jinja2", "python3-tomli"]
    assert sys.modules["lab.core.manifest"].tomllib is tomllib  # read with the tomli just installed
    assert "solve: steps step1..step2 are solved (nothing changed)" in capsys.readouterr().out


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


# The kit's deployment, step by step: which steps change each shared thing.
# steps.toml says it with `writes`; this pins it, so that a slip there shows.
KIT_WRITERS = {"site": [4, 5, 7, 8, 11], "app_server": [3, 6, 7, 8], "gunicorn_settings": [7, 8], "code": [6, 7, 8]}


def kit_plan(target, course=None):
    import solve

    return solve.plan(load(course=course, import_checks=False), target)


@pytest.mark.parametrize("target", range(1, 12))
def test_each_shared_thing_has_one_installer_per_run(target):
    planned = kit_plan(str(target))
    assert [step.id for step, _ in planned] == [f"step{n}" for n in range(1, target + 1)]
    installers = [(thing, step.id) for step, things in planned for thing in things]
    expected = {thing: f"step{max(s for s in steps if s <= target)}" for thing, steps in KIT_WRITERS.items()
                if min(steps) <= target}
    assert sorted(installers) == sorted(expected.items())


@pytest.mark.parametrize("target", range(1, 12))
def test_the_deployment_takes_the_shape_of_the_steps_solved(monkeypatch, target):
    """The same shape as when it was told by step number: 3 <= N < 6 runs the dev server, and so on."""
    if target >= 3:
        solving_env(monkeypatch, str(target), "step3")
        assert deployment.installs("app_server") is (3 <= target < 6)  # step 3 starts the dev server
    solving_env(monkeypatch, str(target), f"step{target}")
    assert (deployment.uses_gunicorn(), deployment.uses_instances(), deployment.uses_tls()) == (
        target >= 7, target >= 8, target >= 11)
    assert (deployment.site_values()["static_root"] is not None) is (target >= 5)


def test_a_solution_that_names_an_undeclared_thing_stops(monkeypatch):
    solving_env(monkeypatch, "4", "step4")
    with pytest.raises(SystemExit, match=r"installs\('sit'\): 'sit' is not declared under \[shared\]"):
        deployment.installs("sit")


def test_a_courses_step_takes_over_what_it_writes_by_id(tmp_path):
    """A step inserted after step4 that writes the site installs it when solved last, and
    step5 after it takes the site back; the kit's step numbers shifting changes nothing."""
    course = tmp_path / "course"
    course.mkdir()
    (course / "steps.toml").write_text('format_version = 1\nomit = ["step11"]\n\n[[steps]]\nid = "basic_auth"\n'
                                       'title = "A password"\nexercise = "x.md"\nchecks = "x.py"\n'
                                       'solution = "x.sh"\nafter = "step4"\nwrites = ["site"]\n')
    installers = {thing: step.id for step, things in kit_plan("basic_auth", course) for thing in things}
    assert installers == {"app_server": "step3", "site": "basic_auth"}
    installers = {thing: step.id for step, things in kit_plan("all", course) for thing in things}
    assert installers["site"] == "step12"  # step11 is left out: step 12, the last that writes it, installs it
    assert [step.id for step, _ in kit_plan("step5", course)][-3:] == ["step4", "basic_auth", "step5"]


def test_gunicorn_settings_are_valid_python(tmp_path):
    text = guestconf.render("gunicorn/likes.conf.py.j2", socket="/run/likes/gunicorn.sock", workers=3, unit="likes")
    settings = {}
    exec(compile(text, "gunicorn.conf.py", "exec"), settings)
    assert (settings["bind"], settings["workers"], settings["umask"]) == ("unix:/run/likes/gunicorn.sock", 3, 0o007)
    assert text.count("\n#") >= 5


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


# -- a course's own steps, solved through the same solve.py ----------------------------

FIXTURE_COURSE = REPO / "tests" / "fixtures" / "course"


def test_solve_plans_a_courses_steps_in_its_order():
    import solve

    manifest = solve.read_manifest("tests/fixtures/course")  # as $LAB_COURSE names it: from the lab folder
    assert [(step.id, things) for step, things in solve.plan(manifest, "mixed")] == [("good", []), ("mixed", [])]
    assert [step.solution for step, _ in solve.plan(manifest, "all")] == [
        FIXTURE_COURSE / "solutions" / f"{name}.sh" for name in ("good", "mixed", "stuck")]
    with pytest.raises(Exception, match="no steps.toml under .*relative to the lab folder"):
        solve.read_manifest("/home/jane/courses/mine")


def test_solve_runs_a_courses_solution_found_from_anywhere(monkeypatch, capfd, kit_solved_record):
    """The fixture's `good` solution is harmless (it echoes), so it runs for real."""
    import solve

    monkeypatch.setattr(solve.os, "geteuid", lambda: 0)
    monkeypatch.setattr(solve, "ensure_python_packages", lambda: None)
    monkeypatch.chdir("/")  # the provisioner's shell starts in no particular folder
    monkeypatch.setenv("LAB_COURSE", "tests/fixtures/course")
    solve.main(["good"])
    assert capfd.readouterr().out == ("solve: good: Everything passes\nnothing to do\n  nothing to change\n"
                                      "solve: steps good..good are solved (nothing changed)\n")
    # The guest's record that the kit, not the student, solved it (here the test's own file).
    assert list(json.loads(kit_solved_record.read_text())) == ["good"]
    with pytest.raises(SystemExit, match="solve: there is no step 'step4'; the steps are good, mixed, stuck"):
        solve.main(["4"])


FAKE_VAGRANT = """#!{python}
# Stands in for `vagrant provision --provision-with solution`: what the
# Vagrantfile's solution provisioner does, on this machine instead of a guest.
import os, sys
with open({log!r}, "a") as log:
    log.write(" ".join(sys.argv[1:]) + " LAB_SOLVE_TO=" + os.environ["LAB_SOLVE_TO"]
              + " LAB_COURSE=" + os.environ["LAB_COURSE"] + "\\n")
    sys.stdout = log
    os.chdir("/")
    sys.path.insert(0, {provision!r})
    import solve
    solve.os.geteuid = lambda: 0  # the provisioner runs as root
    solve.ensure_python_packages = lambda: None  # Jinja2 and a TOML reader are here already
    solve.main([os.environ["LAB_SOLVE_TO"]])
"""


def test_the_selftest_solves_a_courses_step_through_solve_py(tmp_path, monkeypatch):
    from lab.engine.context import Settings
    from lab.selftest import VagrantMachine

    log = tmp_path / "vagrant.log"
    vagrant = tmp_path / "bin" / "vagrant"
    vagrant.parent.mkdir()
    vagrant.write_text(FAKE_VAGRANT.format(python=sys.executable, log=str(log), provision=str(REPO / "provision")))
    vagrant.chmod(0o755)
    monkeypatch.setenv("PATH", f"{vagrant.parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.delenv("LAB_COURSE", raising=False)
    manifest = load(course=FIXTURE_COURSE, import_checks=False)
    # The course as a student names it, by its full path on the host.
    VagrantMachine(Settings(root=REPO, course=str(FIXTURE_COURSE))).solve(manifest.step("good"))
    lines = log.read_text().splitlines()
    assert lines[0] == "provision --provision-with solution LAB_SOLVE_TO=good LAB_COURSE=tests/fixtures/course"
    assert lines[1:] == ["solve: good: Everything passes", "nothing to do", "  nothing to change",
                         "solve: steps good..good are solved (nothing changed)"]


def test_the_selftest_refuses_a_course_the_guest_cannot_see(tmp_path, capsys):
    from lab import selftest
    from lab.engine.context import Settings

    assert selftest.course_in_guest(Settings(root=REPO)) == ""
    outside = tmp_path / "course"
    outside.mkdir()
    (outside / "steps.toml").write_text('format_version = 1\nomit = ["step11"]\n')
    assert selftest.main(["--course", str(outside), "--root", str(REPO)]) == 2
    assert capsys.readouterr().out == (f"selftest: the course folder {outside} is outside the lab folder {REPO}, so "
                                       "the guest cannot see it; move it into the lab folder\n")


def _base_sh_in(tmp_path):
    """provision/base.sh with its needrestart folder under tmp_path, and a dpkg-query that finds every
    package installed: what it does on an Ubuntu guest whose packages are in, without touching this machine."""
    conf_d = tmp_path / "etc" / "needrestart" / "conf.d"
    conf_d.mkdir(parents=True)
    script = tmp_path / "base.sh"
    script.write_text((REPO / "provision" / "base.sh").read_text().replace("/etc/needrestart", str(conf_d.parent)))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "dpkg-query").write_text("#!/bin/sh\nprintf 'install ok installed'\n")
    (bin_dir / "dpkg-query").chmod(0o755)
    return script, conf_d / "lab.conf", {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}


def test_base_sh_sets_needrestart_to_restart_services_without_a_dialog_once(tmp_path):
    import shutil
    import subprocess

    script, conf, env = _base_sh_in(tmp_path)
    first = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True, timeout=30)
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines() == [f"base: changed: wrote {conf}"]
    text = conf.read_text()
    # every directive comes with a comment, for the students who read it
    directives = [line for line in text.splitlines() if line.startswith("$nrconf")]
    assert directives == ["$nrconf{restart} = 'a';", "$nrconf{kernelhints} = -1;"]
    assert all(text.splitlines()[text.splitlines().index(d) - 1].startswith("#") for d in directives)
    if shutil.which("perl"):  # needrestart reads its conf.d as Perl
        read = subprocess.run(["perl", "-e", 'our %nrconf; do $ARGV[0] or die "$@$!"; '
                               'print "$nrconf{restart} $nrconf{kernelhints}"', str(conf)],
                              capture_output=True, text=True, timeout=30)
        assert read.stdout == "a -1", read.stderr

    again = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True, timeout=30)
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("base: nothing to change") and "base: changed" not in again.stdout
    assert conf.read_text() == text


# The two shapes of the server_tokens line in Debian's and Ubuntu's nginx.conf:
# commented out (Debian 12, Ubuntu 22.04/24.04) and on already (Debian 13).
NGINX_CONF_SHAPES = {
    "commented": "http {\n\tsendfile on;\n\t# server_tokens off;\n\tinclude /etc/nginx/conf.d/*.conf;\n}\n",
    "on already": "http {\n\tsendfile on;\n\tserver_tokens off; # Recommended practice is to turn this off\n"
                  "\tinclude /etc/nginx/conf.d/*.conf;\n}\n",
    "absent": "http {\n\tsendfile on;\n\tinclude /etc/nginx/conf.d/*.conf;\n}\n",
}


def solve_step10(monkeypatch, tmp_path, nginx_conf, leftover_hardening):
    """Run the real step 10 solution against an nginx.conf of the given shape, the
    services it enables and the nginx it reloads stood in for; what it wrote and did."""
    import runpy

    import facts

    main, hardening = tmp_path / "nginx.conf", tmp_path / "conf.d" / "hardening.conf"
    main.write_text(nginx_conf)
    if leftover_hardening:
        hardening.parent.mkdir()
        hardening.write_text("server_tokens off;\n")
    monkeypatch.setattr(facts, "NGINX_CONF", str(main))
    monkeypatch.setattr(facts, "HARDENING_CONF", str(hardening))
    done = []
    monkeypatch.setattr(guestconf, "reload_nginx", lambda: done.append("reload"))
    monkeypatch.setattr(guestconf, "enable_now", lambda unit, restart=False: None)
    # The files are the test's own: root's ownership is not for them.
    monkeypatch.setattr(guestconf, "set_owner_and_mode", lambda *args: False)
    runpy.run_path(str(REPO / "provision" / "solutions" / "step10-reboot.py"))
    return main.read_text(), hardening.read_text() if hardening.exists() else None, done


@pytest.mark.parametrize("shape", NGINX_CONF_SHAPES)
@pytest.mark.parametrize("leftover_hardening", [False, True], ids=["fresh", "old hardening.conf"])
def test_step10_turns_server_tokens_off_once_on_every_nginx_conf(monkeypatch, tmp_path, shape, leftover_hardening):
    """Exactly one active `server_tokens off;` in the http block, whatever the release
    ships: two would make `nginx -t` refuse the configuration as a duplicate."""
    main, hardening, done = solve_step10(monkeypatch, tmp_path, NGINX_CONF_SHAPES[shape], leftover_hardening)
    active = [line for text in (main, hardening or "") for line in text.splitlines()
              if line.strip().startswith("server_tokens")]
    assert len(active) == 1 and active[0].strip().startswith("server_tokens off;"), (main, hardening)
    assert (hardening is not None) is (shape == "absent")
    assert main.replace("# server_tokens", "server_tokens") == NGINX_CONF_SHAPES[shape].replace(
        "# server_tokens", "server_tokens")  # nothing else in nginx.conf changes
    nothing_to_do = shape == "on already" and not leftover_hardening
    assert done == ([] if nothing_to_do else ["reload"])


def test_step12_gives_the_student_their_hello_py_once(tmp_path, monkeypatch, capsys):
    """The student's WSGI app is theirs, as a file they wrote would be, and solving step 12
    again changes nothing: a first version wrote it as root and gave it away on every run."""
    monkeypatch.setattr(deployment, "HELLO_FILE", str(tmp_path / "home" / "hello.py"))
    monkeypatch.setattr(deployment, "GUEST_USER", ME)
    if GROUP != ME:
        pytest.skip("install_file gives the file the group of the user's name, which this user lacks")
    assert deployment.install_hello()
    assert not deployment.install_hello()
    hello = tmp_path / "home" / "hello.py"
    assert hello.owner() == ME and (hello.stat().st_mode & 0o777) == 0o644
    assert hello.read_text() == guestconf.render("wsgi/hello.py.j2")
    assert capsys.readouterr().out.splitlines() == [f"  changed: wrote {hello}"]
