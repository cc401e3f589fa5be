"""A check's docstring names the deployment's facts as {NAME}: every Registry reads them,
a kit module or a course's, and a name that is no fact stops the module's import."""

import secrets
import subprocess
import sys

import pytest

from lab import Registry
from lab.core import guests, registry
from lab.core.manifest import ManifestError, load
from provision import facts


def test_a_registry_without_facts_shows_the_deployments_values():
    check = Registry()

    @check
    def site_written(ctx):
        """the nginx site {SITE} proxies port {HTTP_PORT} to {APP}"""

    assert site_written.description == f"the nginx site {facts.SITE} proxies port {facts.HTTP_PORT} to {facts.APP}"


def test_a_modules_own_facts_stand_beside_the_deployments():
    check = Registry(facts={"BACK_WITHIN": 30, "APP": "not the deployment's"})

    @check
    def back(ctx):
        """{APP} is back within {BACK_WITHIN} seconds, in {DB_DIR}"""

    assert back.description == f"not the deployment's is back within 30 seconds, in {facts.DB_DIR}"


def test_doubled_braces_are_braces_the_student_reads():
    check = Registry()

    @check
    def upstream(ctx):
        """an `upstream {UPSTREAM} {{ ... }}` block"""

    assert upstream.description == f"an `upstream {facts.UPSTREAM} {{ ... }}` block"


def test_a_name_that_is_no_fact_is_refused_with_the_closest_fact():
    check = Registry()
    with pytest.raises(TypeError) as refused:
        @check
        def db_kept(ctx):
            """the database is {DB_PAHT}"""
    message = str(refused.value)
    assert message.startswith(f"check {__name__}.db_kept: its docstring names {{DB_PAHT}}, and 'DB_PAHT' is no fact")
    assert "did you mean {DB_PATH}?" in message
    assert "write {{ or }} for a brace the student reads" in message


def test_a_name_far_from_every_fact_gets_no_guess():
    check = Registry()
    with pytest.raises(TypeError, match=r"'zzz' is no fact") as refused:
        @check
        def odd(ctx):
            """a {zzz.upper} name"""
    assert "did you mean" not in str(refused.value)


@pytest.mark.parametrize("docstring, words", [
    ("a lone { brace", "a single { or } that opens or closes nothing"),
    ("a lone } brace", "a single { or } that opens or closes nothing"),
    ("the {} of nothing", "an empty name"),
    ("a port {HTTP_PORT:x>}", None),  # a format spec the fact can take: fine
    ("an attribute {APP.nope}", "AttributeError"),
])
def test_braces_that_cannot_show_a_fact_are_refused(docstring, words):
    check = Registry()

    def label(ctx):
        pass
    label.__doc__ = docstring
    if words is None:
        assert check(label).description == docstring.format_map(vars(facts))
        return
    with pytest.raises(TypeError) as refused:
        check(label)
    assert words in str(refused.value)
    assert "label" in str(refused.value)


def test_a_docstring_without_braces_needs_no_facts(monkeypatch):
    """The guest and a course without the kit's provision/ never need facts.py for a plain label."""
    monkeypatch.setattr(registry, "DEPLOYMENT_FACTS", "no_such_facts_module")
    check = Registry()

    @check
    def plain(ctx):
        """nothing between braces here"""

    assert plain.description == "nothing between braces here"


def test_the_kinds_of_guest_are_one_table():
    from lab import transports

    assert transports.GUEST_KINDS is guests.GUEST_KINDS is registry.GUEST_KINDS
    check = Registry()
    with pytest.raises(TypeError, match="applies_to names kinds of guest, from vagrant, ssh, local"):
        @check(applies_to="docker")
        def on_docker(ctx):
            """a docker container"""


# --- a course's check modules -------------------------------------------------------------

def course(tmp_path, docstring):
    """A course folder that replaces the kit's steps with one whose check has this docstring;
    its check folder has a name of its own, so that no earlier test's module is found instead."""
    package = f"facts_course_{secrets.token_hex(4)}"
    (tmp_path / package).mkdir()
    (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / package / "site.py").write_text(
        f'from lab import Registry\n\ncheck = Registry()\n\n\n@check\ndef site_exists(ctx):\n    """{docstring}"""\n')
    (tmp_path / "steps.toml").write_text(
        'format_version = 1\nreplace = true\n\n[[steps]]\nid = "site"\ntitle = "The site"\n'
        f'exercise = "site.md"\nchecks = "{package}/site.py"\nsolution = "site.py"\n')
    return tmp_path, package


def test_a_course_module_without_facts_shows_the_real_value(tmp_path):
    folder, _ = course(tmp_path, "{SITE} exists")
    (check,) = load(course=folder).step("site").checks
    assert check.description == f"{facts.SITE} exists"


def test_a_course_module_shows_the_real_value_when_run_from_anywhere(tmp_path):
    """From a folder that is not the kit, a course that replaces every step still reaches provision.facts."""
    (tmp_path / "course").mkdir()
    folder, _ = course(tmp_path / "course", "{SITE} exists")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    run = subprocess.run([sys.executable, "-m", "lab.check", "--course", str(folder), "--list"], cwd=elsewhere,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"site_exists                       1  {facts.SITE} exists" in run.stdout


def test_an_unknown_name_in_a_course_module_fails_its_import(tmp_path):
    folder, package = course(tmp_path, "{STIE} exists")
    with pytest.raises(ManifestError) as refused:
        load(course=folder)
    message = str(refused.value)
    assert message.startswith(f"step site: cannot import {folder / package / 'site.py'}: TypeError: "
                              f"check {package}.site.site_exists: its docstring names {{STIE}}, and 'STIE' is no fact")
    assert "did you mean {SITE}?" in message
