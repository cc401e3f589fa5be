"""The manifest's reader (lab/core/manifest.py): the kit's steps and a course's, their
errors, selectors and dependency cycles; as the guest uses it too, [shared] names and
each step's `writes`, the steps up to a target, and an import that needs the standard
library only."""

import ast
import subprocess
import sys

import pytest

from lab import Registry
from lab.core.manifest import ManifestError, load, order_checks
from tests.support.paths import COURSE as FIXTURE_COURSE
from tests.support.paths import REPO

# --- the kit's manifest and a course's --------------------------------------------

def write_manifest(folder, body, name="steps.toml"):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(body)
    return folder / name


def step_entry(step_id, module, title="a step", extra=""):
    return f"""
[[steps]]
id = "{step_id}"
title = "{title}"
exercise = "ex/{step_id}.md"
checks = "{module}"
solution = "sol/{step_id}.sh"
{extra}
"""


def test_the_kits_manifest_loads():
    manifest = load()
    assert manifest.ids()[0] == "step1"
    assert all(step.checks for step in manifest.steps)


def test_fixture_course_replaces_the_kits_steps():
    manifest = load(course=FIXTURE_COURSE)
    assert manifest.ids() == ["good", "mixed", "stuck"]
    mixed = manifest.step("mixed")
    echo = manifest.find_check("echo_works")
    assert manifest.find_check("missing_file").depends == (echo,)  # imported, not copied
    assert mixed.max_points == 6


@pytest.mark.parametrize("body, message", [
    ("format_version = 2\n", "format_version 2"),
    ("steps = []\n", "format_version None"),
    ("format_version = 1\ncolour = 'red'\n", "unknown top-level key"),
    ("format_version = 1\n[[steps]]\nid = 'a'\n", "missing title, exercise, checks, solution"),
    ("format_version = 1\n" + step_entry("Step One", "x.py"), "must be lower case"),
    ("format_version = 1\n" + step_entry("a", "x.py", extra="hint = 'x'"), "unknown key(s) hint"),
    ("format_version = 1\n" + step_entry("a", "x.py") + step_entry("a", "y.py"), "used twice"),
    ("format_version = 1\n[[steps]\n", "not valid TOML"),
])
def test_manifest_errors_say_what_is_wrong(tmp_path, body, message):
    with pytest.raises(ManifestError) as err:
        load(write_manifest(tmp_path, body))
    assert message in str(err.value)


def test_course_adds_replaces_and_inserts(tmp_path):
    checks_src = 'from lab import Registry\ncheck = Registry()\n@check\ndef ok(ctx):\n    """fine"""\n'
    base = tmp_path / "base"
    for name in ("b1", "b2", "b3"):
        (base / "basechecks").mkdir(parents=True, exist_ok=True)
        (base / "basechecks" / f"{name}.py").write_text(checks_src)
    (base / "basechecks" / "__init__.py").write_text("")
    base_file = write_manifest(base, "format_version = 1\n" + "".join(
        step_entry(n, f"basechecks/{n}.py") for n in ("b1", "b2", "b3")))
    course = tmp_path / "course"
    (course / "coursechecks").mkdir(parents=True)
    (course / "coursechecks" / "__init__.py").write_text("")
    for name in ("b2", "extra", "last"):
        (course / "coursechecks" / f"{name}.py").write_text(checks_src)
    write_manifest(course, "format_version = 1\n"
                   + step_entry("b2", "coursechecks/b2.py", title="replaced")
                   + step_entry("extra", "coursechecks/extra.py", extra='after = "b1"')
                   + step_entry("last", "coursechecks/last.py"))
    manifest = load(base_file, course=course)
    assert manifest.ids() == ["b1", "extra", "b2", "b3", "last"]
    assert manifest.step("b2").title == "replaced"
    assert manifest.select(["b1..b2"]) == [manifest.step(i) for i in ("b1", "extra", "b2")]


def test_course_omits_the_kits_extension_step(tmp_path):
    course = tmp_path / "course"
    write_manifest(course, 'format_version = 1\nomit = ["step11"]\n')
    manifest = load(course=course)
    assert manifest.ids() == [f"step{n}" for n in range(1, 11)] + ["step12"]
    write_manifest(course, 'format_version = 1\nomit = ["step13"]\n')
    with pytest.raises(ManifestError, match="the course omits 'step13', which is not a step of the kit"):
        load(course=course)
    write_manifest(course, 'format_version = 1\nomit = "step11"\n')
    with pytest.raises(ManifestError, match="omit must be a list of step ids"):
        load(course=course)


def test_course_with_a_missing_after_is_an_error(tmp_path):
    course = tmp_path / "course"
    write_manifest(course, "format_version = 1\n" + step_entry("x", "x.py", extra='after = "nope"'))
    with pytest.raises(ManifestError, match="after 'nope', which is not a step"):
        load(course=course)


def test_broken_check_module_names_its_file(tmp_path):
    (tmp_path / "brokenchecks").mkdir()
    (tmp_path / "brokenchecks" / "__init__.py").write_text("")
    (tmp_path / "brokenchecks" / "bad.py").write_text("def oops(:\n")
    with pytest.raises(ManifestError, match=r"cannot import .*bad.py: SyntaxError"):
        load(write_manifest(tmp_path, "format_version = 1\n" + step_entry("a", "brokenchecks/bad.py")))


def test_selectors():
    manifest = load(course=FIXTURE_COURSE)
    assert [s.id for s in manifest.select(["all"])] == ["good", "mixed", "stuck"]
    assert [s.id for s in manifest.select(["stuck", "good"])] == ["good", "stuck"]
    assert [s.id for s in manifest.select(["good..mixed"])] == ["good", "mixed"]
    with pytest.raises(ManifestError, match="runs backwards"):
        manifest.select(["stuck..good"])
    with pytest.raises(ManifestError, match="there is no step 'step9'; the steps are good, mixed, stuck"):
        manifest.select(["9"])
    with pytest.raises(ManifestError, match="there is no check"):
        manifest.find_check("nope")


def test_dependency_cycles_are_refused():
    check = Registry()

    @check
    def a(ctx):
        """a"""

    @check(depends=a)
    def b(ctx):
        """b"""

    a.depends = (b,)
    with pytest.raises(ManifestError, match="in a circle"):
        order_checks([a, b])


# --- [shared] names, each step's `writes`, and what the guest imports ----------------

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
        "app_server": "step8", "code": "step8", "gunicorn_settings": "step8", "site": "step12"}


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
