"""Step 5's checks against Debian's nginx with sites as students write them:
static files from the shared folder (with sendfile off where nginx inherits
it) or from a copy deployed in the guest pass; the mistakes still fail."""

import os
import shutil
import signal
import tempfile
import time
from pathlib import Path

import pytest

from checks import step05_static
from lab.engine.results import FAILED, PASSED
from tests.support.localservers import STATIC_DIR, DevServer
from tests.support.student_nginx import StudentNginx, grade, site, skip_without_sudo


@pytest.fixture(autouse=True)
def _sudo():
    skip_without_sudo()


@pytest.fixture(scope="module")
def dev_server(tmp_path_factory):
    """The app on Bottle's development server, logging each request to a file (as in steps 3 to 5)."""
    work = tmp_path_factory.mktemp("static-app")
    with DevServer(work, work / "likes.db") as server:
        yield server


@pytest.fixture
def shared(tmp_path, monkeypatch):
    """A folder standing in for the guest's shared folder /vagrant, holding the app's static files."""
    folder = tmp_path / "vagrant"
    shutil.copytree(STATIC_DIR, folder / "sample_app" / "static")
    monkeypatch.setattr(step05_static, "LAB_FOLDER", str(folder))
    monkeypatch.setattr(step05_static, "STATIC_DIR", str(folder / "sample_app" / "static"))
    return folder / "sample_app" / "static"


@pytest.fixture
def deployed_copy():
    """A copy of the static files deployed outside the shared folder (as /opt/likes would be),
    readable by www-data."""
    folder = Path(tempfile.mkdtemp(prefix="lab-deployed-"))
    try:
        folder.chmod(0o755)
        shutil.copytree(STATIC_DIR, folder / "static")
        yield folder / "static"
    finally:
        shutil.rmtree(folder)


def static_results(nginx):
    return {check.name: grade(check, nginx) for check in step05_static.check}


def test_shared_folder_with_sendfile_off_in_the_http_block(tmp_path, dev_server, shared):
    # sendfile off where nginx.conf sets sendfile: the site's location inherits it.
    nginx = StudentNginx(tmp_path / "nginx", site(f"alias {shared}/; expires 1h;",
                                                  f"server 127.0.0.1:{dev_server.port};"), http="sendfile off;")
    with nginx:
        results = static_results(nginx)
    assert {name: r.status for name, r in results.items()} == {
        "www_data_reads_shared_folder": PASSED, "static_served_by_nginx": PASSED, "static_served_fresh": PASSED,
        "static_cached_for_an_hour": PASSED}
    assert not list(shared.glob("lab-check-fresh-*")), "the checker removes its probe file"


def test_shared_folder_with_sendfile_on_in_the_http_block_fails(tmp_path, dev_server, shared):
    nginx = StudentNginx(tmp_path / "nginx", site(f"alias {shared}/;", f"server 127.0.0.1:{dev_server.port};"),
                         http="sendfile on;")
    with nginx:
        result = grade(step05_static.static_served_fresh, nginx)
    assert result.status == FAILED
    assert result.rationale.startswith(f"expected `sendfile off;` for the location /static/ in {nginx.prefix}/conf/"
                                       "likes.conf, which serves the shared folder")
    assert "sendfile off" in result.hint


def test_a_deployed_copy_served_by_www_data(tmp_path, dev_server, shared, deployed_copy):
    # As production does: nginx serves a copy in the guest, and sendfile may stay on.
    nginx = StudentNginx(tmp_path / "nginx", site(f"alias {deployed_copy}/; expires 60m;",
                                                  f"server 127.0.0.1:{dev_server.port};"),
                         http="sendfile on;", user="www-data")
    with nginx:
        results = static_results(nginx)
        deployed_copy.parent.chmod(0o700)  # now www-data can't get in
        refused = grade(step05_static.www_data_reads_shared_folder, nginx)
    # `expires 60m` is an hour too: graded by the header nginx sends, not by the line.
    assert {name: r.status for name, r in results.items()} == {
        "www_data_reads_shared_folder": PASSED, "static_served_by_nginx": PASSED, "static_served_fresh": PASSED,
        "static_cached_for_an_hour": PASSED}
    assert any(f"nginx serves /static/ from {deployed_copy}, a copy in the guest" in line
               for line in results["static_served_fresh"].log)
    assert refused.status == FAILED
    assert refused.rationale == (f"expected www-data to be able to read {deployed_copy}/style.css, which nginx serves "
                                 "at /static/style.css, but it is refused")
    assert f"namei -l {deployed_copy}/style.css" in refused.hint


def test_static_files_passed_on_to_the_app_fail(tmp_path, dev_server, shared):
    nginx = StudentNginx(tmp_path / "nginx", site("", f"server 127.0.0.1:{dev_server.port};"))
    with nginx:
        results = static_results(nginx)
    # No location serves /static/ yet: www-data must read the shared folder's files, as the exercise says.
    assert results["www_data_reads_shared_folder"].status == PASSED
    assert results["static_served_by_nginx"].status == FAILED
    assert results["static_served_by_nginx"].rationale == ("expected nginx to answer /static/ itself, but the request "
                                                           "reached the app")


def test_static_files_without_expires_fail_the_hour_browsers_may_keep_them(tmp_path, dev_server, shared):
    nginx = StudentNginx(tmp_path / "nginx", site(f"alias {shared}/; sendfile off;",
                                                  f"server 127.0.0.1:{dev_server.port};"))
    with nginx:
        result = grade(step05_static.static_cached_for_an_hour, nginx)
    assert result.status == FAILED
    assert result.rationale == f"expected {nginx.url}/static/style.css to say Cache-Control: max-age=3600, found nothing"
    assert "`expires 1h;`" in result.hint


def test_another_folders_style_css_fails(tmp_path, dev_server, shared):
    other = tmp_path / "other"
    other.mkdir()
    (other / "style.css").write_text("body { color: red; }\n")
    nginx = StudentNginx(tmp_path / "nginx", site(f"alias {other}/;", f"server 127.0.0.1:{dev_server.port};"))
    with nginx:
        result = grade(step05_static.static_served_by_nginx, nginx)
    assert result.status == FAILED
    assert result.rationale == (f"expected {nginx.url}/static/style.css to be the app's style.css, but nginx sent "
                                f"another file ({other}/style.css)")


def test_an_nginx_started_before_its_user_joined_the_group_is_told_to_reload(dev_server, monkeypatch):
    """The student ran `usermod -aG vagrant www-data` but not the reload: the files are
    readable by the user now, nginx's running workers still have their old groups and answer 403."""
    import subprocess

    from tests.support.otheruser import user_in_a_group

    with user_in_a_group() as (user, _):
        top = Path(tempfile.mkdtemp(prefix="lab-shared-"))
        share = f"labvagrant{os.getpid()}"
        subprocess.run(["groupadd", share], check=True, capture_output=True)
        try:
            top.chmod(0o755)
            static = top / "vagrant" / "sample_app" / "static"
            shutil.copytree(STATIC_DIR, static)
            # As the Vagrantfile mounts /vagrant: the group only, folders 0770, files 0660.
            for path in [top / "vagrant", *(top / "vagrant").rglob("*")]:
                shutil.chown(path, group=share)
                path.chmod(0o770 if path.is_dir() else 0o660)
            monkeypatch.setattr(step05_static, "LAB_FOLDER", str(top / "vagrant"))
            monkeypatch.setattr(step05_static, "STATIC_DIR", str(static))
            nginx = StudentNginx(top / "nginx", site(f"alias {static}/; sendfile off;",
                                                     f"server 127.0.0.1:{dev_server.port};"), user=f"{user} nogroup")
            with nginx:
                subprocess.run(["usermod", "-aG", share, user], check=True, capture_output=True)
                readable = grade(step05_static.www_data_reads_shared_folder, nginx)
                served = grade(step05_static.static_served_by_nginx, nginx)
                # What the hint says, and steps 5 and 7 teach: a reload (SIGHUP to the master,
                # as `systemctl reload nginx` sends) starts new workers, which get the new group.
                nginx.proc.send_signal(signal.SIGHUP)
                deadline = time.monotonic() + 10
                reloaded = grade(step05_static.static_served_by_nginx, nginx)
                while reloaded.status != PASSED and time.monotonic() < deadline:
                    time.sleep(0.2)
                    reloaded = grade(step05_static.static_served_by_nginx, nginx)
                master_kept = nginx.proc.poll() is None
        finally:
            subprocess.run(["groupdel", share], check=True, capture_output=True)
            shutil.rmtree(top, ignore_errors=True)
    assert readable.status == PASSED
    assert served.status == FAILED
    assert served.rationale.startswith(f"expected a text/css file from {nginx.url}/static/style.css?")
    assert served.rationale.endswith(", got 403 Forbidden")
    assert "`sudo systemctl reload nginx`" in served.hint
    assert reloaded.status == PASSED, reloaded.rationale
    assert master_kept
