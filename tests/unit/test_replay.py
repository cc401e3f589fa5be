"""The exercise convention and `python -m lab replay`: lint's rules on small
exercises, the kit's own exercises as a plan, and the fixture course replayed
for real on this machine through the local:// transport."""

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from lab.tools import exercise
from lab.tools import replay as replay_mod
from tests.support.localservers import REPO, free_port
from tests.support.paths import COURSE

FIXTURE_DIR = Path("/tmp/lab-replay-fixture")  # where the fixture course's exercises write


def lab(*args, cwd=REPO, timeout=120):
    run = subprocess.run([sys.executable, "-m", "lab", *args], cwd=cwd, capture_output=True, text=True,
                         timeout=timeout, env={**os.environ, "PYTHONIOENCODING": "utf-8", "NO_COLOR": "1"})
    assert "Traceback" not in run.stdout + run.stderr
    return run


@pytest.fixture
def fixture_dir():
    shutil.rmtree(FIXTURE_DIR, ignore_errors=True)
    yield FIXTURE_DIR
    shutil.rmtree(FIXTURE_DIR, ignore_errors=True)


def problems_of(tmp_path, text, step_id=None):
    path = tmp_path / "step.md"
    path.write_text(text)
    return [p.split(": ", 1)[1] if p.startswith(str(path)) or ".md:" in p else p
            for p in exercise.problems(path, step_id)]


# -- the convention, as lint enforces it ---------------------------------------------------

GOOD = """# A step

```console guest
vagrant@lab:~$ echo hi
hi
```

```sh host
# a comment is no prompt
python -m lab.check step9
```
"""


def test_a_well_formed_exercise_has_no_problems(tmp_path):
    assert problems_of(tmp_path, GOOD, "step9") == []


def test_an_unclassified_block_is_named_by_file_and_line(tmp_path):
    path = tmp_path / "step.md"
    path.write_text(GOOD + "\nSome text.\n\n```sh\nls\n```\n")
    found = exercise.problems(path)
    assert found == [f"{path}:15: a code block says what it is after its language word: one of guest, host, "
                     "file=PATH, excerpt=PATH or output; this one says nothing"]


@pytest.mark.parametrize("block, problem", [
    ("```sh host\nvagrant@lab:~$ vagrant reload\n```", "a host command carries a prompt"),
    ("```sh host\n$ vagrant reload\n```", "a host command carries a prompt"),
    ("```console guest\nsudo apt install nginx\n```", "a guest block starts with a command after the prompt"),
    ("```nginx file=etc/nginx/nginx.conf\nx;\n```", "must name an absolute path in the guest"),
    ("```sh guest host\nls\n```", "this one says guest and host"),
    ("```sh host colour=red\nls\n```", "unknown word 'colour=red'"),
    ("```console guest ctrl-c\nvagrant@lab:~$ a\nvagrant@lab:~$ b\n```", "exactly one command, this one has 2"),
    ("```text output input=y\nhi\n```", "input=, ctrl-c and exit= belong on blocks of commands"),
    ("```text output exit=1\nhi\n```", "input=, ctrl-c and exit= belong on blocks of commands"),
    ("```console guest exit=0\nvagrant@lab:~$ true\n```", "exit=0 must be the exit code of a command that fails"),
    ("```console guest exit=256\nvagrant@lab:~$ false\n```", "from 1 to 255"),
    ("```console guest exit=1\nvagrant@lab:~$ false\nvagrant@lab:~$ false\n```",
     "an exit= block holds exactly the one command that fails, this one has 2"),
    ("```console guest exit=1 ctrl-c\nvagrant@lab:~$ sleep 60\n```", "exit= can't say how it ends"),
    ("```sh host\nLAB_HTTP_PORT=8501 vagrant up\n```", "add a `powershell host windows` block"),
    ("```sh host\nLAB_HTTP_PORT=8501 vagrant up\n```\n\n```powershell host windows\nLAB_HTTP_PORT=8501 vagrant up\n"
     "```", 'should read: $env:LAB_HTTP_PORT="8501"; vagrant up'),
    ("```console guest\n```", "a guest block with no command in it"),
    ("```nginx excerpt=/etc/x\nx;\n```", "which the exercise never shows whole after it"),
    ("```nginx excerpt=/etc/x\nb;\n```\n\n```nginx file=/etc/x\na;\n  c;\n```", "differs from the whole file"),
    ("```sh host\nls\n", "this code block is never closed"),
    ("```sh host\nme@mac lab % vagrant up\n```", "a host command carries a prompt"),
    ("```sh host\nPS C:\\lab> vagrant up\n```", "a host command carries a prompt"),
    ("```sh host\nhost$ vagrant up\n```", "a host command carries a prompt"),
    ("```sh host ctrl-c\nvagrant rsync-auto\n```", "ctrl-c belongs on guest blocks"),
    ("```sh host skip=\"\"\nvi x\n```", "skip= needs a reason"),
    ("```console guest\nvagrant@lab:~$ ls\nroot@lab:~# apt install nginx\n```", "looks like a prompt but not"),
    ("```console guest\nvagrant@lab:~$ cat <<EOF | sudo tee /etc/x\nx\nEOF\n```", "a here-document (<<)"),
    ("```console guest\nvagrant@lab:~$ export DB=/tmp/x\n```", "sets shell state"),
    ("```console guest\nvagrant@lab:~$ ls \\\n```", "ends in the middle of a command"),
    ("```console guest\nvagrant@lab:lab$ ls\n```", "must be ~, ~/... or an absolute path"),
    ("```console guest\nvagrant@lab:~$ cd /vagrant\nvagrant@lab:~$ ls\n```", "the prompt says ~, but the commands "
                                                                          "before it leave the student in /vagrant"),
    ("<!--\n```sh host\nls\n```\n-->", "a code block inside an HTML comment"),
    ("> ```sh host\n> ls\n> ```", "a code block inside a quote"),
    ("```sh host\ncurl -I http://127.0.0.1:8500/\n```", "add a `powershell host windows` block"),
    ("```sh host\ncurl -I http://127.0.0.1:8500/\n```\n\n```powershell host windows\ncurl -I http://127.0.0.1:8500/\n"
     "```", "should read: curl.exe -I http://127.0.0.1:8500/"),
    ("```text output\nhi\n```\n\n```powershell host windows\nvagrant reload\n```", "there is none"),
    ("```text output windows\nhi\n```", "`windows` belongs on host blocks"),
])
def test_each_break_of_the_convention_is_a_problem(tmp_path, block, problem):
    found = problems_of(tmp_path, GOOD + "\n" + block + "\n", "step9")
    assert len(found) == 1 and problem in found[0], found


def test_excerpts_match_ignoring_indentation_and_skipping_ellipsis_lines(tmp_path):
    text = GOOD + ("\n```nginx excerpt=/etc/x\nserver {\n  a;\n  # ... the rest\n  d;\n}\n```\n\n"
                   "```nginx file=/etc/x\nserver {\n    a;\n    b;\n    c;\n    d;\n}\n```\n")
    assert problems_of(tmp_path, text, "step9") == []


def test_a_curl_on_the_host_comes_with_its_windows_form_which_the_replay_leaves_out(tmp_path):
    text = GOOD + ("\n```sh host\ncurl -I http://127.0.0.1:8500/   # curl in a comment stays\nvagrant port\n```\n\n"
                   "In Windows PowerShell:\n\n```powershell host windows\n"
                   "curl.exe -I http://127.0.0.1:8500/   # curl in a comment stays\nvagrant port\n```\n")
    assert problems_of(tmp_path, text, "step9") == []
    path = tmp_path / "step.md"
    assert [a.text for a in exercise.actions(path) if a.kind == "host"] == [
        "python -m lab.check step9", "curl -I http://127.0.0.1:8500/   # curl in a comment stays", "vagrant port"]


@pytest.mark.parametrize("command, windows", [
    ("vagrant up", "vagrant up"),
    ("LAB_HTTP_PORT=8501 vagrant up", '$env:LAB_HTTP_PORT="8501"; vagrant up'),
    ("LAB_SOLVE_TO=8 vagrant provision --provision-with solution",
     '$env:LAB_SOLVE_TO="8"; vagrant provision --provision-with solution'),
    # every variable of the prefix, and the command after it takes its own Windows form
    ("LAB_COURSE='my course' LAB_SOLVE_TO=3 python3 -m lab.check step3",
     '$env:LAB_COURSE="my course"; $env:LAB_SOLVE_TO="3"; py -m lab.check step3'),
    ('LAB_NAME="lab two" curl -I http://127.0.0.1:8500/', '$env:LAB_NAME="lab two"; curl.exe -I http://127.0.0.1:8500/'),
    # a value PowerShell would expand inside double quotes goes in single ones
    ("LAB_NAME='$x' vagrant up", "$env:LAB_NAME='$x'; vagrant up"),
    ("LAB_NAME= vagrant up", '$env:LAB_NAME=""; vagrant up'),
    # sh would expand these itself: no form is guessed for them
    ("LAB_NAME=$HOME vagrant up", "LAB_NAME=$HOME vagrant up"),
    ("LAB_NAME=x", "LAB_NAME=x"),
])
def test_an_environment_prefix_becomes_powershells_env_assignment(command, windows):
    assert exercise.windows_form(command) == windows


def test_an_environment_prefix_on_the_host_takes_its_windows_form(tmp_path):
    text = GOOD + ("\n```sh host\nLAB_SOLVE_TO=8 vagrant provision --provision-with solution\n```\n\n"
                   "```powershell host windows\n$env:LAB_SOLVE_TO=\"8\"; vagrant provision --provision-with solution\n"
                   "```\n")
    assert problems_of(tmp_path, text, "step9") == []


def test_a_command_shown_failing_on_purpose_is_planned_with_its_exit_code(tmp_path):
    text = GOOD + ("\n```console guest exit=1\nvagrant@lab:~$ cat /root/secret\n"
                   "cat: /root/secret: Permission denied\n```\n")
    assert problems_of(tmp_path, text, "step9") == []
    failing = [a for a in exercise.actions(tmp_path / "step.md") if a.exit]
    assert [(a.text, a.exit) for a in failing] == [("cat /root/secret", 1)]
    assert failing[0].describe().endswith("[fails with exit code 1]")


@pytest.mark.parametrize("command, shown, why", [
    ("exit 1", 1, None),
    ("exit 0", 1, "exited with 0, where the text shows it failing with 1"),
    ("exit 2", 1, "exited with 2, where the text shows it failing with 1"),
    ("exit 1", 0, "exited with 1"),
])
def test_the_replay_holds_a_failing_command_to_its_exit_code(tmp_path, command, shown, why):
    from lab.engine.context import Settings

    runner = replay_mod.Replay(Settings(root=tmp_path, guest_url="local://"))
    action = exercise.Action("step.md:3", "step.md:3", "host", command, exit=shown)
    try:
        if why is None:
            runner.run(action)
        else:
            with pytest.raises(replay_mod.ActionFailed) as failed:
                runner.run(action)
            assert failed.value.why == why
    finally:
        runner.finish()


def test_an_exercise_must_run_its_own_check(tmp_path):
    assert problems_of(tmp_path, GOOD, "step3") == ["no host block runs `python -m lab.check step3`"]
    skipped = GOOD.replace("```sh host\n", '```sh host skip="not now"\n')
    assert problems_of(tmp_path, skipped, "step9") == ["no host block runs `python -m lab.check step9`"]


def test_cd_carries_the_folder_to_the_next_prompt(tmp_path):
    text = GOOD + ("\n```console guest\nvagrant@lab:~$ cd /opt/likes\n```\n\n```console guest ctrl-c\n"
                   "vagrant@lab:/opt/likes$ gunicorn app\n```\n\n```console guest\nvagrant@lab:/opt/likes$ cd ..\n"
                   "vagrant@lab:/opt$ cd\nvagrant@lab:~$ ls\n```\n")
    assert problems_of(tmp_path, text, "step9") == []


def test_an_exercise_that_is_not_utf8_is_one_problem(tmp_path):
    path = tmp_path / "step.md"
    path.write_bytes("# Caf\xe9\n".encode("latin-1"))
    assert exercise.problems(path) == [f"{path}: not UTF-8 text (byte 5 is 0xe9)"]


def test_guest_commands_travel_in_the_environment_and_start_in_the_prompts_folder():
    action = exercise.Action("x.md:3", "x.md:2", "guest", "pkill -f 'sample app'", cwd="~/lab", input="y",
                             ctrl_c=True)
    script = replay_mod.guest_script(action)
    assert script == ("printf '%s\\n' y | LAB_COMMAND='pkill -f '\"'\"'sample app'\"'\"'' timeout -k 5 -s INT 5 "
                      "bash -c 'cd \"$HOME\"/lab && eval \"$LAB_COMMAND\"' 2>&1")
    plain = replay_mod.guest_script(exercise.Action("x.md:3", "x.md:2", "guest", "ls", cwd="/my dir"))
    assert plain == "LAB_COMMAND=ls bash -c 'cd '\"'\"'/my dir'\"'\"' && eval \"$LAB_COMMAND\"' 2>&1"


def test_a_file_is_written_as_root_with_its_mode():
    action = exercise.Action("x.md:3", "x.md:3", "file", "a = 1\n", path="/etc/my app.conf", mode="0640",
                             owner="root:likes")
    assert replay_mod.file_script(action) == (
        "{ printf %s YSA9IDEK | base64 -d | sudo tee '/etc/my app.conf' >/dev/null && "
        "sudo chown root:likes '/etc/my app.conf' && sudo chmod 0640 '/etc/my app.conf'; } 2>&1")


def test_actions_follow_the_text_in_order():
    found = exercise.actions(COURSE / "exercises" / "good.md")
    assert [(a.kind, a.text.split("\n")[0]) for a in found] == [
        ("guest", "mkdir -p lab-replay-fixture"),
        ("guest", "cd lab-replay-fixture"),
        ("file", "# Settings of the fixture."),
        ("guest", "read -r -p 'Proceed (y|n)? ' answer && \\"),
        ("guest", "cat answer.txt"),
        ("guest", "sleep 600"),
        ("host", "python -m lab.check good"),
    ]
    assert found[3].text.endswith('\n    echo "answered $answer" > answer.txt')  # the continuation line
    assert (found[0].cwd, found[4].cwd, found[4].input, found[5].ctrl_c) == ("/tmp", "/tmp/lab-replay-fixture",
                                                                            "y", True)
    assert found[2].path == "/tmp/lab-replay-fixture/settings.ini" and found[2].mode == "0640"
    assert found[0].where.endswith("tests/fixtures/course/exercises/good.md:8")


def test_the_kit_plans_every_step_without_touching_a_guest():
    run = lab("replay", "all", "--dry-run", "--guest", "ssh://nobody@192.0.2.1")
    assert run.returncode == 0, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    headers = [line.split(":")[0] for line in lines if not line.startswith(" ")]
    assert headers == [f"step{n}" for n in range(1, 13)]
    assert "exercises/step04-proxy.md:" in run.stdout and "write /etc/nginx/sites-available/likes" in run.stdout
    assert "vagrant@lab:~$ sudo ufw enable   [answering 'y']" in run.stdout
    assert "(not run: opens an interactive shell" in run.stdout
    # every step has something to do, and each ends with its own check
    for n in range(1, 13):
        block = run.stdout.split(f"step{n}: ", 1)[1].split(f"\nstep{n + 1}: ", 1)[0]
        assert f"host$ python -m lab.check step{n}" in block


# -- the replay, for real ------------------------------------------------------------------

def test_replay_follows_every_kind_of_block(tmp_path, fixture_dir):
    # A course named relative to here is found by the host command too, which runs in the lab folder.
    run = lab("replay", "good", "--course", "tests/fixtures/course", "--guest", "local://", "--root", str(tmp_path))
    assert run.returncode == 0, run.stdout + run.stderr
    settings = fixture_dir / "settings.ini"
    assert settings.read_text() == "# Settings of the fixture.\n[look]\ncolour = blue\nsize = large\n"
    assert stat.S_IMODE(settings.stat().st_mode) == 0o640
    assert (fixture_dir / "answer.txt").read_text() == "answered y\n"
    assert "vagrant@lab:/tmp/lab-replay-fixture$ sleep 600   [Ctrl-C after 5 s]" in run.stdout
    assert "| answered y" in run.stdout  # the tail of cat's output
    assert "| good: 6/6" in run.stdout  # the host command graded the step through $LAB_COURSE and $LAB_GUEST
    assert "false" not in run.stdout  # the skipped block never ran
    assert run.stdout.strip().splitlines()[-1].startswith("good: replayed in ")


def test_replay_stops_at_the_first_failure_and_says_where(tmp_path, fixture_dir):
    fixture_dir.mkdir()
    run = lab("replay", "mixed", "--course", str(COURSE), "--guest", "local://", "--root", str(tmp_path))
    assert run.returncode == 1, run.stdout
    where = "tests/fixtures/course/exercises/mixed.md:8"
    assert (f"replay: stopped at {where}: `echo \"a line before\"; echo \"the error explains\" >&2; exit 3` "
            "exited with 3; its last output:") in run.stdout
    assert run.stdout.rstrip().splitlines()[-2:] == ["      | a line before", "      | the error explains"]
    assert not (fixture_dir / "never-run").exists()
    assert "python -m lab.check mixed" not in run.stdout


def test_a_server_that_ends_before_ctrl_c_fails(tmp_path):
    run = lab("replay", "stuck", "--course", str(COURSE), "--guest", "local://", "--root", str(tmp_path))
    assert run.returncode == 1
    assert "`true` ended by itself (exit code 0) instead of running until Ctrl-C, with no output" in run.stdout


@pytest.mark.parametrize("args, message", [
    (["step99"], "replay: there is no step 'step99'"),
    (["step1", "--guest", "ftp://x"], "replay: could not reach the guest: unknown guest address 'ftp://x'"),
    (["step2", "--guest", "ssh://nobody@127.0.0.1:{port}"], "replay: could not reach the guest: SSH at "
                                                             "127.0.0.1:{port} refused the connection"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, message):
    port = free_port()
    args = [a.format(port=port) for a in args]
    run = lab("replay", *args, "--root", str(tmp_path), cwd=tmp_path)
    assert run.returncode == 2, run.stdout
    assert message.format(port=port) in run.stdout.splitlines()[-1]
    assert "replay: " not in "\n".join(run.stdout.splitlines()[:-1])


def test_an_exercise_that_breaks_the_convention_stops_the_replay_before_it_starts(kit):
    page = kit / "exercises" / "step02-nginx.md"
    page.write_text(page.read_text().replace("```console guest input=y", "```console", 1))
    run = lab("replay", "step1..step3", "--guest", "local://", cwd=kit)
    assert run.returncode == 2
    assert run.stdout.startswith("replay: ") and "step02-nginx.md:10: a code block says what it is" in run.stdout
    assert "step1:" not in run.stdout  # nothing ran


def test_the_guest_tier_knows_which_steps_each_exercise_grades_itself():
    # The replay's grading after each step leaves out what the exercise's own
    # `python -m lab.check ...` lines graded (tests/guest/test_replay.py).
    from tests.guest.test_replay import STEPS, graded_by_the_text

    assert all(step in graded_by_the_text(step) for step in STEPS), "every exercise ends by checking itself"
    assert graded_by_the_text("step8") == {"step8"}
    assert graded_by_the_text("step10") == set(STEPS[:STEPS.index("step10") + 1])
    assert graded_by_the_text(STEPS[-1]) == set(STEPS)
