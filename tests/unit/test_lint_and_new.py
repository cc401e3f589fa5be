"""The instructors' tools, `python -m lab new` and `python -m lab lint`, run on a
copy of the kit (where `python -m lab` finds the copy's own files)."""

import ast
import contextlib
import os
import shutil
import subprocess
import sys

import pytest

from lab.core.manifest import load
from lab.tools.lint import _helpers_from_other_steps
from tests.support.localservers import REPO


def lab(kit, *args, module="lab"):
    return subprocess.run([sys.executable, "-m", module, *args], cwd=kit, capture_output=True, text=True,
                          timeout=60)


def test_the_kit_lints_clean():
    run = lab(REPO, "lint")
    assert run.returncode == 0, run.stdout
    assert run.stdout.strip().splitlines()[-1].startswith("lab: 12 steps, ")
    assert run.stdout.strip().endswith("checks and 48 questions: no problems")


def test_new_scaffolds_a_step_that_lints_and_lists(kit):
    run = lab(kit, "new", "step13-postgres", "--title", "PostgreSQL instead of SQLite")
    assert run.returncode == 0, run.stdout + run.stderr
    assert (kit / "exercises" / "step13-postgres.md").read_text().startswith("# PostgreSQL instead of SQLite")
    assert "def postgres_done(ctx):" in (kit / "checks" / "step13_postgres.py").read_text()
    solution = kit / "provision" / "solutions" / "step13-postgres.py"
    assert solution.read_text().startswith('"""Reference solution of step13: PostgreSQL instead of SQLite.')
    assert not (kit / "provision" / "solutions" / "step13-postgres.sh").exists()
    assert 'id = "step13"' in (kit / "checks" / "steps.toml").read_text()
    assert load(kit / "checks" / "steps.toml", import_checks=False).step("step13").writes == ()
    listed = lab(kit, "--list", module="lab.check")
    assert "step13: PostgreSQL instead of SQLite (2 points)" in listed.stdout  # its check and its question
    assert lab(kit, "lint").returncode == 0


def test_new_keeps_a_titles_braces_as_the_student_reads_them(kit):
    """A check's docstring names facts between braces; a title's own braces are no fact."""
    assert lab(kit, "new", "step13-json", "--title", "Serve {json} answers").returncode == 0
    listed = lab(kit, "--list", module="lab.check")
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert "Serve {json} answers: the first thing the student must get right" in listed.stdout
    assert lab(kit, "lint").returncode == 0


def test_new_writes_a_python_solution_that_solve_runs_and_that_says_it_is_unwritten(kit):
    """Like every solution of the kit: Python, run by solve.py with the guest's python3 and
    provision/ on its path. Until it is written it fails, so the selftest can't pass it by."""
    title = 'Say "hi" to C:\\Users'
    assert lab(kit, "new", "step13-hello", "--title", title).returncode == 0
    solution = kit / "provision" / "solutions" / "step13-hello.py"
    assert load(kit / "checks" / "steps.toml", import_checks=False).step("step13").solution.resolve() == solution
    assert ast.get_docstring(ast.parse(solution.read_text())).startswith(f"Reference solution of step13: {title}.")
    if str(REPO / "provision") not in sys.path:
        sys.path.insert(0, str(REPO / "provision"))
    import solve

    env = {**os.environ, "PYTHONPATH": str(kit / "provision")}  # as solve.py sets it
    run = subprocess.run([sys.executable, str(solution)], env=env, capture_output=True, text=True, timeout=60)
    assert (run.returncode, run.stdout) == (1, "")
    assert run.stderr == ("step13: the solution is not written yet; write it in this file, then run "
                          "`python -m lab.selftest step13`\n")
    assert solve.run_solution(solution, env) == (0, 1)  # solve.py runs it with the interpreter, as the kit's


def test_new_refuses_a_taken_or_malformed_name(kit):
    assert lab(kit, "new", "step3-again").returncode == 2
    taken = lab(kit, "new", "step3-again")
    assert "step3 is already in" in taken.stdout
    bad = lab(kit, "new", "postgres")
    assert bad.returncode == 2 and "looks like step13-postgres (stepNN-words)" in bad.stdout


def test_lint_finds_every_kind_of_problem(kit):
    (kit / "exercises" / "step04-proxy.md").unlink()
    (kit / "exercises" / "step99-orphan.md").write_text("# not in the manifest\n")
    script = kit / "provision" / "solutions" / "step02-nginx.py"
    script.write_bytes(script.read_bytes().replace(b"\n", b"\r\n"))
    checks = kit / "checks" / "step09_firewall.py"
    checks.write_text(checks.read_text().replace('hint="`sudo apt install ufw`")', ")"))
    run = lab(kit, "lint")
    assert run.returncode == 1
    problems = [line for line in run.stdout.splitlines() if line.startswith("lab: problem: ")]
    text = "\n".join(problems)
    assert "step4: its exercise" in text and "step04-proxy.md does not exist" in text
    assert "exercises/step99-orphan.md belongs to no step in the manifest" in text
    assert "provision/solutions/step02-nginx.py has CRLF line endings" in text
    assert "step09_firewall.py:" in text and "Fail(...) without a hint for the student" in text
    assert run.stdout.strip().endswith(f"{len(problems)} problem(s)")


def test_lint_wants_the_powershell_form_of_an_environment_prefix_in_text_and_hints(kit):
    page = kit / "exercises" / "step09-firewall.md"
    text = page.read_text()
    windows = '(in PowerShell:\n  `$env:LAB_SOLVE_TO="8"; vagrant provision --provision-with solution`)'
    assert windows in text
    # Guest commands and unit lines look alike but are never typed in PowerShell.
    guest_side = "\n\nSorted as C does, `LC_ALL=C sort words`; a unit says `ExecStart=/usr/bin/gunicorn --workers 3`.\n"
    page.write_text(text.replace(windows, "") + guest_side)
    checks = kit / "checks" / "step10_reboot.py"
    checks.write_text(checks.read_text().replace("run `vagrant reload`", "run `LAB_SOLVE_TO=9 vagrant reload`"))
    run = lab(kit, "lint")
    assert run.returncode == 1
    assert ("lab: problem: exercises/step09-firewall.md: `LAB_SOLVE_TO=8 vagrant provision --provision-with "
            "solution` sets its variable the sh way, which PowerShell can't type; show its PowerShell form too, "
            '`$env:LAB_SOLVE_TO="8"; vagrant provision --provision-with solution`') in run.stdout
    assert ("lab: problem: checks/step10_reboot.py: `LAB_SOLVE_TO=9 vagrant reload` sets its variable") in run.stdout
    assert run.stdout.strip().endswith("2 problem(s)")


def test_lint_reports_a_manifest_error(kit):
    manifest = kit / "checks" / "steps.toml"
    manifest.write_text(manifest.read_text().replace('id = "step5"', 'id = "step4"'))
    run = lab(kit, "lint")
    assert run.returncode == 1
    assert "step id 'step4' is used twice" in run.stdout


def test_new_writes_a_title_with_quotes_and_backslashes_as_toml(kit):
    manifest = kit / "checks" / "steps.toml"
    before = manifest.read_text()
    title = 'Say "hi" to C:\\Users\\jane'
    run = lab(kit, "new", "step13-quotes", "--title", title)
    assert run.returncode == 0, run.stdout + run.stderr
    after = manifest.read_text()
    assert after.startswith(before)  # appended: the kit's comments are all still there
    assert "# What several steps' solutions change in turn." in after
    step = load(manifest, import_checks=False).step("step13")
    assert (step.title, step.writes) == (title, ())
    assert f"step13: {title} (2 points)" in lab(kit, "--list", module="lab.check").stdout
    assert lab(kit, "lint").returncode == 0


def test_new_refuses_a_title_of_two_lines(kit):
    manifest = kit / "checks" / "steps.toml"
    before = manifest.read_text()
    run = lab(kit, "new", "step13-lines", "--title", "one\ntwo")
    assert (run.returncode, run.stdout) == (2, "lab: a title is one line: leave the line breaks out of --title\n")
    assert manifest.read_text() == before and not (kit / "exercises" / "step13-lines.md").exists()


def test_lint_names_where_a_step_writes_an_undeclared_thing(kit):
    manifest = kit / "checks" / "steps.toml"
    text = manifest.read_text()
    manifest.write_text(text.replace('writes = ["site"]', 'writes = ["sit"]', 1))
    line = text.splitlines().index('writes = ["site"]') + 1
    run = lab(kit, "lint")
    assert run.returncode == 1
    assert run.stdout == (f"lab: problem: {manifest}:{line}: step step4 writes 'sit', which [shared] does not "
                          f"declare; the shared things are app_server, code, gunicorn_settings, site\n")


def test_lint_finds_a_solution_asking_for_what_its_step_does_not_write(kit):
    manifest = kit / "checks" / "steps.toml"
    manifest.write_text(manifest.read_text().replace('writes = ["site"]', "writes = []", 1))
    run = lab(kit, "lint")
    assert run.returncode == 1
    assert ("lab: problem: step04-proxy.py:6: installs('site'), but step4's writes in the manifest does not list "
            "'site', so it never installs it") in run.stdout.splitlines()
    step4 = 'solution = "../provision/solutions/step04-proxy.py"\nwrites = '
    manifest.write_text(manifest.read_text().replace(step4 + "[]", step4 + '["site", "code"]'))
    run = lab(kit, "lint")
    assert "lab: problem: step4: writes 'code' in the manifest, but step04-proxy.py never asks installs('code')" in (
        run.stdout.splitlines())


# --- a step's module imports other steps' checks, never their helpers -----------------------

TANGLED = REPO / "tests" / "fixtures" / "tangled_course"
SHARED_CODE_BELONGS = ("a step's module imports another step's only for the checks it depends on; code two steps "
                       "share belongs in lab/guest (a probe of the guest) or the engine (lab/engine), and a value "
                       "of the deployment in provision/facts.py")


def test_lint_refuses_a_helper_or_value_taken_from_another_steps_module():
    """Imported by name, by module (with or without `as`): each helper is named; the check it depends on is not."""
    problems = _helpers_from_other_steps(load(course=TANGLED))
    where = "tests/fixtures/tangled_course/tangled_checks/second.py"
    assert problems == [f"{where}:{line}: takes {name} from tangled_checks.first, first's module, and it is not one "
                        f"of first's checks: {SHARED_CODE_BELONGS}"
                        for line, name in [(7, "PATIENCE"), (7, "root_home"), (16, "root_home"), (17, "root_home")]]


def test_lint_of_a_course_says_where_shared_code_belongs():
    run = lab(REPO, "lint", "--course", str(TANGLED))
    assert run.returncode == 1
    assert (f"lab: problem: tests/fixtures/tangled_course/tangled_checks/second.py:7: takes PATIENCE from "
            f"tangled_checks.first, first's module, and it is not one of first's checks: {SHARED_CODE_BELONGS}"
            in run.stdout.splitlines())


def test_lint_refuses_a_kit_step_borrowing_another_steps_helper(kit):
    checks = kit / "checks" / "step08_upstream.py"
    text = checks.read_text()
    borrowing = "from checks.step06_systemd import app_units, service_running_and_enabled"
    text = text.replace("from checks.step07_gunicorn import nginx_proxies_to_socket\n",
                        f"from checks.step07_gunicorn import nginx_proxies_to_socket\n{borrowing}\n")
    checks.write_text(text)
    at = text.splitlines().index(borrowing) + 1
    run = lab(kit, "lint")
    assert run.returncode == 1
    problems = [line for line in run.stdout.splitlines() if line.startswith("lab: problem: ")]
    assert problems == [f"lab: problem: checks/step08_upstream.py:{at}: takes app_units from checks.step06_systemd, "
                        f"step6's module, and it is not one of step6's checks: {SHARED_CODE_BELONGS}"]


# --- `lab new` writes all of it or nothing ---------------------------------------------------

@contextlib.contextmanager
def unwritable(path):
    """path as no one may write it, root included: root ignores a file's mode, but not the
    immutable attribute (chattr +i), which stops even root from changing or adding to it."""
    if os.geteuid() == 0:
        if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(path)]).returncode != 0:
            pytest.skip("running as root, and chattr +i does not work here")
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", str(path)], check=True)
    else:
        mode = path.stat().st_mode
        path.chmod(mode & ~0o222)
        try:
            yield
        finally:
            path.chmod(mode)


def kit_state(kit):
    """Every file of the kit's steps, and the manifest's bytes."""
    folders = ("exercises", "checks", "provision/solutions")
    return ((kit / "checks" / "steps.toml").read_bytes(),
            sorted(str(p.relative_to(kit)) for f in folders if (kit / f).is_dir() for p in (kit / f).iterdir()))


def assert_refused_in_one_line(run, *words):
    assert run.returncode == 2, run.stdout + run.stderr
    assert "Traceback" not in run.stdout + run.stderr
    lines = (run.stdout + run.stderr).splitlines()
    assert len(lines) == 1 and lines[0].startswith("lab: ") and "nothing was written" in lines[0], lines
    for word in words:
        assert word in lines[0]


def test_new_with_a_read_only_manifest_writes_nothing(kit):
    before = kit_state(kit)
    with unwritable(kit / "checks" / "steps.toml"):
        run = lab(kit, "new", "step13-postgres")
    assert_refused_in_one_line(run, "cannot write checks/steps.toml", "make checks/steps.toml writable")
    assert kit_state(kit) == before


def test_new_with_an_unwritable_exercises_folder_leaves_the_manifest_as_it_was(kit):
    before = kit_state(kit)
    with unwritable(kit / "exercises"):
        run = lab(kit, "new", "step13-postgres")
    assert_refused_in_one_line(run, "cannot write exercises/step13-postgres.md", "make exercises writable")
    assert kit_state(kit) == before
    assert lab(kit, "lint").returncode == 0


def test_new_whose_last_file_cannot_be_made_takes_back_the_first_two(kit):
    # A file where the solutions' folder should be: no user, root included, can make a file inside it.
    solutions = kit / "provision" / "solutions"
    shutil.rmtree(solutions)
    solutions.write_text("not a folder\n")
    before = kit_state(kit)
    run = lab(kit, "new", "step13-postgres")
    assert_refused_in_one_line(run, "cannot write provision/solutions/step13-postgres.py")
    assert kit_state(kit) == before
    assert not (kit / "exercises" / "step13-postgres.md").exists()
    assert not (kit / "checks" / "step13_postgres.py").exists()


@pytest.mark.parametrize("damage", ['[[steps]\nid = "x"\n', b"\xff\xfe not UTF-8", 'format_version = "one"\n'],
                         ids=["not TOML", "not UTF-8", "a bad value"])
def test_new_with_a_broken_manifest_says_so_in_one_line(kit, damage):
    manifest = kit / "checks" / "steps.toml"
    if isinstance(damage, bytes):
        manifest.write_bytes(damage)
    else:
        manifest.write_text(damage)
    before = kit_state(kit)
    run = lab(kit, "new", "step13-postgres")
    assert_refused_in_one_line(run, "fix checks/steps.toml first")
    assert kit_state(kit) == before


def test_lint_reports_python_it_cannot_read_with_file_and_line(kit):
    solution = kit / "provision" / "solutions" / "step03-devserver.py"
    lines = solution.read_text().count("\n")
    solution.write_text(solution.read_text() + "def broken(:\n")
    (kit / "checks" / "helpers.py").write_bytes(b'"""helpers"""\nNAME = "caf\xe9"\n')  # Latin-1, not UTF-8
    (kit / "checks" / "nul.py").write_bytes(b"x = 1\ny = 2\0\n")
    run = lab(kit, "lint")
    assert run.returncode == 1 and "Traceback" not in run.stdout + run.stderr, run.stderr
    problems = [line for line in run.stdout.splitlines() if line.startswith("lab: problem: ")]
    assert f"lab: problem: provision/solutions/step03-devserver.py:{lines + 1}: Python cannot read it: " \
           f"invalid syntax" in problems
    assert any(p.startswith("lab: problem: checks/helpers.py:2: Python cannot read it: (unicode error) 'utf-8' "
                            "codec can't decode byte 0xe9") for p in problems), problems
    assert any(p.startswith("lab: problem: checks/nul.py:2: Python cannot read it: ") for p in problems), problems
    assert run.stdout.splitlines()[-1].endswith(f"checks and 48 questions: {len(problems)} problem(s)")
