"""Logins that fail for a reason of their own, each told as that reason (issue 17): a login
shell that is no shell, a PATH without mktemp, a server turning logins away (MaxStartups),
a key with a passphrase; and a guest's escape sequences, shown in the terminal, never obeyed.
Against a real sshd (Debian's openssh-server) on 127.0.0.1."""

import os
import shutil
import subprocess
import sys
import textwrap
from contextlib import contextmanager
from pathlib import Path

import pytest

from lab.core.outcomes import CouldNotCheck
from lab.engine.context import Settings
from lab.transports import open_transport
from tests.support.paths import COURSE, REPO
from tests.support.sshd import Sshd


def run(module, *args, cwd, env=None, timeout=120):
    return subprocess.run([sys.executable, "-m", module, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "PYTHONPATH": str(REPO), "PYTHONIOENCODING": "utf-8",
                                                "NO_COLOR": "1", **(env or {})})


def one_fault(run):
    """The one line a run that could not check printed, after checking it printed nothing else."""
    assert run.returncode == 2, run.stdout + run.stderr
    assert "Traceback" not in run.stdout + run.stderr and run.stderr == "", run.stderr
    lines = [line for line in run.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, run.stdout
    return lines[0]


@contextmanager
def user_with_shell(shell):
    """A new user whose login shell is shell; removed afterwards. Skips unless root."""
    if os.geteuid() != 0 or not shutil.which("useradd"):
        pytest.skip("a new user needs root and useradd")
    user = f"labshell{os.getpid()}"
    # -p '*': no password, yet not a locked account, which sshd without PAM refuses before the shell.
    subprocess.run(["useradd", "-M", "-N", "-p", "*", "-s", shell, user], check=True, capture_output=True)
    try:
        yield user
    finally:
        subprocess.run(["userdel", user], check=True, capture_output=True)


# --- a login that runs no shell ---------------------------------------------------------------

@pytest.mark.parametrize("shell, said", [("/bin/false", "exit code 1"),
                                         ("/usr/sbin/nologin", "exit code 1: This account is currently not "
                                                               "available.")])
def test_a_login_shell_that_is_no_shell_is_said_so(shared_dir, shell, said):
    if not os.path.exists(shell):
        pytest.skip(f"there is no {shell}")
    with user_with_shell(shell) as user, Sshd(shared_dir / "sshd", user=user) as server:
        fault = one_fault(run("lab.check", "--course", str(COURSE), "good", "--guest", server.url(), cwd=shared_dir))
    where = f"127.0.0.1:{server.port}"
    assert fault == (f"could not check: the SSH server at {where} let {user} in, but the login ran no shell: it "
                     f"ended at once ({said}): {user}'s login shell may be /bin/false or nologin (`getent passwd "
                     f"{user}` in the guest shows it): connect as a user whose shell is /bin/sh or /bin/bash")


def test_a_path_without_mktemp_is_said_so(shared_dir):
    # What the guest's own configuration might do: every login gets a PATH without the usual programs.
    config = 'ForceCommand PATH=/nowhere; export PATH; eval "$SSH_ORIGINAL_COMMAND"'
    with Sshd(shared_dir / "sshd", extra_config=config) as server:
        with pytest.raises(CouldNotCheck) as err:
            open_transport(server.url(), Settings(root=shared_dir))
        fault = one_fault(run("lab.check", "--course", str(COURSE), "good", "--guest", server.url(), cwd=shared_dir))
    assert err.value.reason == f"the guest's shell for {server.user} has no mktemp on its PATH (/bin/sh: 1: mktemp: not found)"
    assert fault == f"could not check: {err.value.one_line()}"
    assert "~/.bashrc, /etc/environment or sshd_config (SetEnv, ForceCommand)" in fault


# --- many logins at once to one server ------------------------------------------------------------

def test_a_class_on_one_server_that_turns_logins_away_is_graded_whole(shared_dir):
    """sshd's MaxStartups drops a connection beyond the first few unauthenticated ones: lab.grade --jobs 16
    makes 16 at once. Each dropped login is tried again, backing off, instead of "is the machine running?"."""
    with Sshd(shared_dir / "sshd", extra_config="MaxStartups 2:100:2") as server:
        roster = shared_dir / "roster.csv"
        roster.write_text("student,guest\n" + "".join(f"s{n},{server.url()}\n" for n in range(16)), encoding="utf-8")
        graded = run("lab.grade", str(roster), "--course", str(COURSE), "--steps", "good", "--jobs", "16",
                     cwd=shared_dir)
        log = (server.dir / "sshd.log").read_text()
    assert "past MaxStartups" in log  # the server did turn logins away
    assert graded.returncode == 0, graded.stdout + graded.stderr
    assert graded.stdout.splitlines()[-1] == "16 graded, 0 could not be checked, of 16: grades/gradebook.csv"


# --- a key with a passphrase ------------------------------------------------------------------------

@pytest.fixture
def locked_key(shared_dir):
    """A server that lets in a key with a passphrase ("open sesame"): (server, the key's path)."""
    with Sshd(shared_dir / "sshd") as server:
        key = shared_dir / "locked_key"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "open sesame", "-f", str(key)], check=True)
        with open(server.dir / "authorized_keys", "a") as keys:
            keys.write(Path(f"{key}.pub").read_text())
        yield server, key


def test_a_key_with_a_passphrase_is_said_so(shared_dir, locked_key):
    server, key = locked_key
    fault = one_fault(run("lab.check", "--course", str(COURSE), "good", "--guest",
                          f"ssh://{server.user}@127.0.0.1:{server.port}?key={key}", cwd=shared_dir))
    assert fault == (f"could not check: the key file {key} is protected by a passphrase, which the checker cannot "
                     f"ask for: add it to ssh-agent with `ssh-add {key}` and leave key= out of the address, so that "
                     f"the agent logs in")


def test_the_remedy_for_a_key_with_a_passphrase_works(shared_dir, locked_key):
    server, key = locked_key
    home = shared_dir / "home"
    home.mkdir()  # no keys of its own in ~/.ssh: only the agent's can log in
    agent = subprocess.run(["ssh-agent", "-s", "-a", str(shared_dir / "agent.sock")], capture_output=True, text=True,
                           check=True)
    env = {"HOME": str(home), "SSH_AUTH_SOCK": str(shared_dir / "agent.sock")}
    try:
        # ssh-add asks for the passphrase through SSH_ASKPASS when told to: what the student types.
        askpass = shared_dir / "askpass"
        askpass.write_text("#!/bin/sh\necho 'open sesame'\n")
        askpass.chmod(0o755)
        subprocess.run(["ssh-add", str(key)], env={**os.environ, **env, "SSH_ASKPASS": str(askpass),
                                                   "SSH_ASKPASS_REQUIRE": "force"},
                       check=True, capture_output=True, stdin=subprocess.DEVNULL)
        checked = run("lab.check", "--course", str(COURSE), "good", "--guest",
                      f"ssh://{server.user}@127.0.0.1:{server.port}", cwd=shared_dir, env=env)
    finally:
        pid = next(line for line in agent.stdout.split(";") if "SSH_AGENT_PID=" in line).split("=")[1]
        os.kill(int(pid), 15)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.splitlines()[-1] == "good: 6/6"


# --- escape sequences from the guest ------------------------------------------------------------

ESCAPING_COURSE = {
    "steps.toml": """\
        format_version = 1
        replace = true

        [[steps]]
        id = "loud"
        title = "A guest that answers with escape sequences"
        exercise = "loud.md"
        checks = "loud.py"
        solution = "loud.sh"
        """,
    "loud.md": "# Loud\n",
    "loud.sh": "true\n",
    "loud.py": '''\
        from lab import Fail, Registry

        check = Registry()


        @check
        def answers_quietly(ctx):
            """the guest answers without escape sequences"""
            said = ctx.guest.run("printf %s", "\\x1b]0;owned\\x07\\x1b[2Jgone\\rback").stdout
            raise Fail(f"the guest answered {said}", hint=f"it said {said}", expected="quiet", actual=said)


        @check
        def probe_that_breaks(ctx):
            """a probe that fails with escape sequences on its stderr"""
            ctx.guest.run_expect((0,), "printf %s >&2; exit 5", "\\x1b[31mred\\x1b[0m")
        ''',
}


def test_escape_sequences_from_the_guest_are_shown_escaped_in_the_terminal(tmp_path):
    course = tmp_path / "course"
    course.mkdir()
    for name, text in ESCAPING_COURSE.items():
        (course / name).write_text(textwrap.dedent(text), encoding="utf-8")
    checked = run("lab.check", "--course", str(course), "loud", "--guest", "local://", cwd=tmp_path)
    assert checked.returncode == 2, checked.stdout + checked.stderr  # the second could not check
    assert "\x1b" not in checked.stdout and "\x07" not in checked.stdout and "\r" not in checked.stdout
    assert r"      the guest answered \x1b]0;owned\x07\x1b[2Jgone\x0dback" in checked.stdout.splitlines()
    assert r"      hint: it said \x1b]0;owned\x07\x1b[2Jgone\x0dback" in checked.stdout.splitlines()
    assert r"(\x1b[31mred\x1b[0m)" in checked.stdout
    # The results themselves keep what the guest said, for --json and the other reports to render.
    saved = run("lab.check", "--course", str(course), "loud", "--guest", "local://", "--json", cwd=tmp_path)
    assert '"actual": "\\u001b]0;owned\\u0007\\u001b[2Jgone\\rback"' in saved.stdout


def test_a_server_that_allows_no_session_is_one_line(shared_dir):
    # MaxSessions 0: logins succeed, but the server opens no session for a shell to run in.
    with Sshd(shared_dir / "sshd", extra_config="MaxSessions 0") as server:
        fault = one_fault(run("lab.check", "--course", str(COURSE), "good", "--guest", server.url(), cwd=shared_dir))
    assert fault.startswith(f"could not check: the SSH server at 127.0.0.1:{server.port} let {server.user} in, "
                            f"then started no shell (")
    assert fault.endswith("): is the machine still running? check, then run the checker again")
