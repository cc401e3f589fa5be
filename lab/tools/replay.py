"""python -m lab replay STEPS: do what the exercises say, exactly as written, in order.

Guest commands run in the guest as its user (`vagrant`), through the
checker's own transport, with `sudo` only where the text has it; a command shown failing on purpose
(`exit=N`) must fail with that exit code. Host
commands run here, in the lab folder, with the checker's Python first on
PATH (as in the lab's activated venv). Whole files are written where the text
says, as `sudo nano` would. The replay stops at the first action that fails.
"""

import base64
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lab.core.outcomes import CouldNotCheck, GuestUnreachable
from lab.core.questions import answers_file
from lab.tools import exercise

# Long enough for `apt install` on an emulated guest, short enough that a hung command ends the replay.
ACTION_TIMEOUT = 900
TAIL = 3  # output lines shown under each action
FAILED_TAIL = 15  # output lines shown under the action that failed
# The commands of one block run back to back, as when a student pastes it.
# Between blocks a student reads on; after a block that started a server,
# the replay waits as long as that takes, instead of asking before anyone could.
STARTS_SOMETHING = re.compile(r"&\s*$|\bsystemctl\b.*(?<![-\w])(start|restart|reload|enable --now)\b")
READING_PAUSE = 5


class ActionFailed(Exception):
    """An action that did not do what the text promises: why (one phrase) and its output."""

    def __init__(self, action, rc, output, why=None):
        self.why = why or f"exited with {rc}"
        super().__init__(self.why)
        self.action, self.rc, self.output = action, rc, output


def guest_script(action):
    """The shell command that runs a guest action as the student's terminal would: in the
    prompt's folder, under bash, fed what the student types, interrupted if it runs until Ctrl-C."""
    folder = action.cwd
    cd = '"$HOME"' + (shlex.quote(folder[1:]) if folder != "~" else "") if folder.startswith("~") \
        else shlex.quote(folder)
    # The command travels in a variable, never in a process's arguments, so that
    # `pkill -f sample_app` matches what it would match for the student, and not the replay itself.
    command = "bash -c " + shlex.quote(f'cd {cd} && eval "$LAB_COMMAND"')
    if action.ctrl_c:
        # SIGINT to the command's whole process group is what Ctrl-C sends; -k kills what ignores it.
        command = f"timeout -k 5 -s INT {exercise.CTRL_C_AFTER} {command}"
    command = f"LAB_COMMAND={shlex.quote(action.text)} {command}"
    if action.input is not None:
        command = f"printf '%s\\n' {shlex.quote(action.input)} | {command}"
    return f"{command} 2>&1"


def file_script(action):
    """Write a whole file as root, like `sudo nano PATH`: an existing file keeps its owner and mode."""
    data = base64.b64encode(action.text.encode()).decode()
    script = f"printf %s {data} | base64 -d | sudo tee {shlex.quote(action.path)} >/dev/null"
    if action.owner:
        script += f" && sudo chown {shlex.quote(action.owner)} {shlex.quote(action.path)}"
    if action.mode:
        script += f" && sudo chmod {shlex.quote(action.mode)} {shlex.quote(action.path)}"
    return f"{{ {script}; }} 2>&1"


def tail(text, count):
    return [line for line in text.rstrip().splitlines() if line.strip()][-count:]


class Replay:
    """Follows actions against one guest; the transport is reopened after a host command restarts the VM."""

    def __init__(self, settings):
        self.settings = settings
        self.transport = None
        self.python_folder = None
        self.vagrant = settings.guest_url.startswith("vagrant://")

    def close(self):
        if self.transport is not None:
            self.transport.close()
            self.transport = None

    def finish(self):
        self.close()
        if self.python_folder is not None and self.python_folder.startswith(tempfile.gettempdir()):
            shutil.rmtree(self.python_folder, ignore_errors=True)

    def _guest(self):
        if self.transport is None:
            from lab.transports import open_transport

            self.transport = open_transport(self.settings.guest_url, self.settings)
        return self.transport

    def host_env(self):
        env = dict(os.environ, LAB_GUEST=self.settings.guest_url)
        if self.settings.course:
            env["LAB_COURSE"] = str(self.settings.course)
        env["PATH"] = self._python_folder() + os.pathsep + env.get("PATH", "")
        return env

    def _python_folder(self):
        """A folder where `python` and `python3` are the checker's own interpreter, as in the lab's
        activated venv, even when the interpreter has no `python` beside it."""
        if self.python_folder is None:
            if os.name != "posix":  # a venv's Scripts folder has python.exe
                self.python_folder = os.path.dirname(sys.executable)
                return self.python_folder
            # Small scripts, not symlinks: a venv's interpreter started through a
            # symlink elsewhere would not find its venv.
            self.python_folder = tempfile.mkdtemp(prefix="lab-replay-")
            for name in ("python", "python3"):
                script = os.path.join(self.python_folder, name)
                with open(script, "w") as f:
                    f.write(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} "$@"\n')
                os.chmod(script, 0o755)
        return self.python_folder

    def runs_on_this_guest(self, action):
        """Host commands other than the checker drive Vagrant or its forwarded ports: only for a Vagrant guest."""
        return self.vagrant or exercise.CHECK_COMMAND.match(action.text) is not None

    def run(self, action):
        """Do one action; returns its output, raises ActionFailed."""
        if action.kind == "host":
            if action.text.split()[0] == "vagrant":
                self.close()  # the VM may restart: connect again for the next guest action
            try:
                proc = subprocess.run(action.text, shell=True, cwd=self.settings.root, env=self.host_env(),
                                      stdin=subprocess.DEVNULL if action.input is None else None,
                                      input=None if action.input is None else action.input + "\n",
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                      timeout=ACTION_TIMEOUT)
            except subprocess.TimeoutExpired as exc:
                # On a timeout, subprocess hands back the output so far as bytes, even in text mode.
                partial = exc.output.decode("utf-8", "replace") if isinstance(exc.output, bytes) else exc.output
                raise ActionFailed(action, None, partial or "", f"did not finish within {ACTION_TIMEOUT} s") \
                    from None
            rc, output = proc.returncode, proc.stdout
        else:
            script = guest_script(action) if action.kind == "guest" else file_script(action)
            guest = self._guest()  # a guest that can't be reached at all stops the replay with exit 2
            try:
                result = guest.run_command(script, ACTION_TIMEOUT)
            except GuestUnreachable as exc:
                self.close()
                raise ActionFailed(action, None, "", f"lost the connection to the guest ({exc.reason})") from None
            except CouldNotCheck:
                self.close()
                raise ActionFailed(action, None, "", f"did not finish within {ACTION_TIMEOUT} s") from None
            rc, output = result.rc, result.stdout + result.stderr
        if action.ctrl_c:
            if rc == 137:  # timeout's -k: it was still running 5 s after Ctrl-C
                raise ActionFailed(action, rc, output, "did not stop at Ctrl-C, and was killed 5 s later")
            if rc != 124:
                raise ActionFailed(action, rc, output, f"ended by itself (exit code {rc}) instead of running "
                                                       f"until Ctrl-C")
        elif action.exit and rc != action.exit:
            raise ActionFailed(action, rc, output, f"exited with {rc}, where the text shows it failing with "
                                                   f"{action.exit}")
        elif rc != action.exit:
            raise ActionFailed(action, rc, output)
        return output


def say(line):
    print(line, flush=True)


def plan(planned, out=say):
    """Print every step's actions and skipped blocks without running anything; planned: (step, its actions)."""
    for step, actions in planned:
        out(f"{step.id}: {step.title} ({exercise._shown(step.exercise)})")
        items = [(a.where, a.describe()) for a in actions]
        items += [(where, f"(not run: {reason})") for where, reason in exercise.skipped(step.exercise)]
        asked = len(exercise.questions(step.exercise))
        check = next((a for a in actions if _graded_steps(a, step)), None)
        if asked and check is not None:  # sorted before the check's own line, which has the same file:line
            items.insert(0, (check.where, f"answer {asked} question(s) from the key, in "
                                          f"{answers_file(step.id)}"))
        for where, text in sorted(items, key=lambda item: int(item[0].rsplit(":", 1)[1])):
            out(f"  {where:<36} {text}")


def _graded_steps(action, step, manifest=None):
    """The steps a host action grades, when it is a check, `python -m lab.check step1..step10`; the
    manifest turns a selection into steps, and without one only the step's own id counts."""
    match = exercise.CHECK_COMMAND.match(action.text) if action.kind == "host" else None
    if match is None:
        return []
    if manifest is None:
        return [step] if match.group("steps") == step.id else []
    from lab.core.manifest import ManifestError

    try:
        return manifest.select([match.group("steps")])
    except ManifestError:  # a selection the checker itself refuses, and says why
        return []


def answer_from_key(step, root, out=say):
    """Answer the step's questions as the key says, in the file `python -m lab answer` writes. True if any."""
    from lab.core import questions
    from lab.tools.answer import save

    keyed = questions.key_answers(questions.read(step.exercise)[0])
    if keyed:
        out(f"  {exercise._shown(step.exercise) + ':':<36} answer {len(keyed)} question(s) from the key")
        save(root, step.id, keyed, out=lambda line: out(f"      | {line}"))
    return bool(keyed)


def replay(planned, settings, out=say, manifest=None):
    """Follow the steps' exercises, planned as (step, its actions); 0 when every action succeeded,
    1 at the first that failed. Before a check runs, the questions of the steps it grades are
    answered from their keys (manifest: to know which steps `step1..step10` names)."""
    runner = Replay(settings)
    block, settling = None, False
    answered = {}  # step id -> whether its questions were answered from the key
    try:
        for step, actions in planned:
            out(f"{step.id}: {step.title}")
            started = time.monotonic()
            for action in actions:
                if action.block != block:
                    if settling:
                        time.sleep(READING_PAUSE)
                    block, settling = action.block, False
                settling = settling or (action.kind != "file" and STARTS_SOMETHING.search(action.text) is not None)
                if action.kind == "host" and not runner.runs_on_this_guest(action):
                    out(f"  {action.where:<36} {action.describe()}   [skipped: not a Vagrant guest]")
                    continue
                for graded in _graded_steps(action, step, manifest):
                    if graded.id not in answered:  # answered once, before the first check that grades them
                        answered[graded.id] = answer_from_key(graded, settings.root, out)
                out(f"  {action.where:<36} {action.describe()}")
                try:
                    output = runner.run(action)
                except ActionFailed as failed:
                    last = tail(failed.output, FAILED_TAIL)
                    what = action.describe() if action.kind == "file" else f"`{action.text}`"
                    out(f"replay: stopped at {action.where}: {what} {failed.why}"
                        + ("; its last output:" if last else ", with no output"))
                    for line in last:
                        out(f"      | {line}")
                    return 1
                for line in tail(output, TAIL):
                    out(f"      | {line}")
            out(f"{step.id}: replayed in {time.monotonic() - started:.0f} s")
    finally:
        runner.finish()
    return 0


def main(args):
    """The `replay` subcommand of python -m lab; args from lab.__main__."""
    from lab.core import manifest as manifest_mod
    from lab.core.labfolder import find_lab_root
    from lab.engine.context import Settings

    try:
        manifest = manifest_mod.load(course=args.course, import_checks=False)
        # Every exercise must follow the convention before anything runs.
        planned = [(step, exercise.actions(step.exercise)) for step in manifest.select(args.steps)]
        if args.dry_run:
            plan(planned)
            return 0
        from lab.transports import check_url

        check_url(args.guest)  # an address no transport can use fails before anything runs
        root = find_lab_root(args.root)
        if not root.is_dir():
            raise CouldNotCheck(f"the lab folder {root} does not exist", "give --root an existing folder")
        # Host commands run in the lab folder: a course named relative to here must still be found there.
        course = Path(args.course).resolve() if args.course else None
        settings = Settings(root=root, guest_url=args.guest, course=course)
        return replay(planned, settings, manifest=manifest)
    except BrokenPipeError:  # its output went to a pager or `head` that has stopped reading
        sys.stdout = open(os.devnull, "w")
        return 1
    except (manifest_mod.ManifestError, exercise.ExerciseError, OSError) as exc:
        say(f"replay: {exc}")
        return 2
    except CouldNotCheck as exc:
        say(f"replay: could not reach the guest: {exc.one_line()}")
        return 2
    except KeyboardInterrupt:
        say("replay: interrupted")
        return 130
