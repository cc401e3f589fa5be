"""The manifest's reader as the guest uses it too: [shared] names and each step's
`writes`, the steps up to a target, and an import that needs the standard library only."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from lab.core.manifest import ManifestError, load
from tests.support.localservers import REPO

pytestmark = pytest.mark.unit

FIXTURE_COURSE = Path(__file__).parent / "fixtures" / "course"


def manifest_file(folder, body):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "steps.toml").write_text("format_version = 1\n" + body)
    return folder / "steps.toml"


def entry(step_id, extra=""):
    return (f'\n[[steps]]\nid = "{step_id}"\ntitle = "a step"\nexercise = "{step_id}.md"\nchecks = "{step_id}.py"\n'
            f'solution = "{step_id}.sh"\n{extra}\n')


def test_the_kit_declares_what_its_steps_write():
    manifest = load(import_checks=False)
    assert set(manifest.shared) == {"site", "app_server", "gunicorn_settings", "code"}
    assert manifest.step("step7").writes == ("code", "app_server", "gunicorn_settings", "site")
    assert manifest.step("step9").writes == ()
    assert manifest.last_writers(manifest.up_to("step5")) == {"app_server": "step3", "site": "step5"}
    assert manifest.last_writers(manifest.up_to("all")) == {
        "app_server": "step8", "code": "step8", "gunicorn_settings": "step8", "site": "step11"}


def test_up_to_names_a_step_by_id_or_number():
    manifest = load(import_checks=False)
    assert [s.id for s in manifest.up_to("3")] == [s.id for s in manifest.up_to("step3")] == ["step1", "step2", "step3"]
    assert manifest.up_to("all") == manifest.steps
    with pytest.raises(ManifestError, match="there is no step 'step99'; the steps are step1, step2"):
        manifest.up_to("99")
    assert [s.id for s in load(course=FIXTURE_COURSE, import_checks=False).up_to("mixed")] == ["good", "mixed"]


def test_a_step_without_writes_writes_nothing():
    assert [s.writes for s in load(course=FIXTURE_COURSE, import_checks=False).steps] == [(), (), ()]


@pytest.mark.parametrize("body, message", [
    ("shared = 'site'\n", "shared must be a [shared] table of name = \"what it is\", found the string 'site'"),
    ("[shared]\nSite = 'x'\n", "the shared name 'Site' must be lower case letters, digits or _"),
    ("[shared]\nsite = 5\n", "shared.site must say in a quoted string what it is, found the number 5"),
    (entry("a", "writes = 'site'"), "step #1: writes must be a list of [shared] names, e.g. writes = [\"site\"], "
                                    "found the string 'site'"),
    (entry("a", "writes = [5]"), "step #1: writes must be a list of [shared] names"),
    ("[shared]\nsite = 'x'\n" + entry("a", "writes = ['site', 'site']"), "writes names the same thing twice"),
])
def test_shared_and_writes_errors_say_what_is_wrong(tmp_path, body, message):
    with pytest.raises(ManifestError) as err:
        load(manifest_file(tmp_path, body), import_checks=False)
    assert message in str(err.value)


def test_an_undeclared_name_is_an_error_naming_the_file_and_line(tmp_path):
    body = "[shared]\nsite = 'x'\ncode = 'y'\n" + entry("a", "writes = [\n  'site',\n  'sit',\n]")
    path = manifest_file(tmp_path, body)
    line = path.read_text().splitlines().index("  'sit',") + 1
    with pytest.raises(ManifestError) as err:
        load(path, import_checks=False)
    assert str(err.value) == (f"{path}:{line}: step a writes 'sit', which [shared] does not declare; "
                              f"the shared things are code, site")


def test_a_course_adds_shared_names_and_its_steps_may_write_the_kits(tmp_path):
    course = manifest_file(tmp_path / "course", "[shared]\nfirewall = 'the ufw rules'\n"
                           + entry("extra", "after = 'step9'\nwrites = ['firewall', 'site']")).parent
    manifest = load(course=course, import_checks=False)
    assert set(manifest.shared) == {"site", "app_server", "gunicorn_settings", "code", "firewall"}
    assert manifest.last_writers(manifest.up_to("extra")) == {
        "app_server": "step8", "code": "step8", "gunicorn_settings": "step8", "site": "extra", "firewall": "extra"}
    # A course that replaces the kit's steps has only its own names.
    manifest_file(tmp_path / "course", "replace = true\n" + entry("extra", "writes = ['site']"))
    with pytest.raises(ManifestError, match="step extra writes 'site', which .* the shared things are none yet"):
        load(course=course, import_checks=False)


def test_reading_the_manifest_imports_the_standard_library_only():
    """solve.py reads it in the guest with Debian's python3: no paramiko, Jinja2 or requests there."""
    code = ("import sys; before = set(sys.modules); import lab.core.manifest; "
            "lab.core.manifest.load(course=sys.argv[1], import_checks=False); "
            "new = {m.split('.')[0] for m in set(sys.modules) - before}; "
            "print(' '.join(sorted(new - set(sys.stdlib_module_names))))")
    run = subprocess.run([sys.executable, "-c", code, str(FIXTURE_COURSE)], cwd=REPO, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["lab"]


@pytest.mark.parametrize("path", ["lab/__init__.py", "lab/core/outcomes.py", "lab/core/registry.py", "lab/core/manifest.py",
                                  "provision/solve.py", "provision/deployment.py"])
def test_what_the_guest_runs_parses_as_python_3_10(path):
    """Ubuntu 22.04's python3 is 3.10: no syntax newer than that in what solve.py imports."""
    ast.parse((REPO / path).read_text(), path, feature_version=(3, 10))
