"""Exercises a program can follow: the code-block convention of exercises/*.md.

Every fenced block says what it is in its info string, after the language
word. GitHub and other markdown viewers highlight by the first word and show
none of the rest, so the student sees an ordinary code block:

    ```console guest              commands in the guest, each after the prompt
    vagrant@lab:~$ sudo apt install nginx
    ```

    ```sh host                    commands on the student's computer, in the lab folder
    ```nginx file=/etc/nginx/sites-available/likes     a whole file, at that path in the guest
    ```nginx excerpt=/etc/nginx/sites-available/likes  part of a file the same step shows whole later
    ```text output                what the student should see
    ```sh host skip="why"         a block not to run (an editor, a deliberate mistake)

and, on guest or host blocks, `input=y`: what the student types at the
commands' prompts (apt's [Y/n], ufw's y|n); on guest blocks, `ctrl-c`: the
block's one command runs until the student presses Ctrl-C (a server in the
foreground, `journalctl -f`), so it must still be running after a few
seconds, and then it is interrupted; on guest or host blocks, `exit=N`: the
block's one command fails on purpose, with exit code N, and its output shows
how (a "Permission denied" the next commands fix).

and, on file blocks, `mode=0640` and `owner=root:likes` where they matter.

Where a host command differs on Windows, the Windows PowerShell form follows
right after it in a block of its own, `powershell host windows`: `curl.exe`
for `curl`, `py` for `python3`, the venv's activation (WINDOWS_FORMS), and
`$env:NAME="value"; command` for sh's `NAME=value command`.
Lint derives the Windows form from the block before it and requires it, so the
two can't drift apart; the replay runs the first and not the second.

In a guest block the prompt `vagrant@lab:DIR$ ` starts each command, and DIR
is the folder it runs in (`~` is the home folder). A line ending in `\\`
continues on the next one. Other lines are output, shown and not run. Each
command runs in a shell of its own, so only the folder carries over from one
to the next, through the prompt: after `cd X` the next prompt shows X.

Code blocks sit at the top level of the page: not in a quote, not in an HTML
comment (students would not see it), not as four-space indented code.

An exercise ends with its concept questions, under `## Check your
understanding`: each starts with its id in bold (`**q1.** Why ...?`), a
multiple-choice one lists its options (`- a) ...`), and right after it an HTML
comment, which the rendered page hides, holds its key and the feedback for
known wrong answers:

    <!-- key q1: b                    the right option; or `accept A | /regex/`; or `free`
    if a: why a is wrong              shown to the student who answered a
    -->

A key is no code block, so it may sit in a comment. lab/core/questions.py is
the one reader of questions (questions()), which the checker grades with; its
problems are the page's. The sentence before the final check block tells the
student to answer them first (`python -m lab answer step6`); the replay
answers from the keys there.

`python -m lab lint` enforces the convention (problems()); `python -m lab
replay` follows the actions (actions()).
"""

import posixpath
import re
import runpy
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from lab.core import labyml
from lab.core import questions as questions_mod
from lab.core.manifest import REPO

# The prompt of the exercises' guest blocks: the user students log in as, and the guest's host
# name, as the kit's defaults set them. facts.py is run as a file, not imported as provision.facts:
# that would fix its LAB_FOLDER before a course's manifest sets $LAB_FOLDER for the checks.
GUEST_USER = runpy.run_path(str(REPO / "provision" / "facts.py"))["GUEST_USER"]
GUEST_HOST = labyml.read_value((REPO / labyml.DEFAULTS_FILE).read_text(encoding="utf-8"), "hostname")
GUEST_PROMPT = re.compile(rf"^{re.escape(GUEST_USER)}@{re.escape(GUEST_HOST)}:(?P<cwd>[^$\s]+)\$ (?P<command>.*)$")
SHOWN_PROMPT = f"{GUEST_USER}@{GUEST_HOST}:DIR$ "
# Anything shaped like a shell prompt: bash's user@host:dir$ (or # as root),
# zsh's user@host dir %, a bare $ or %, PowerShell's PS C:\lab>, cmd's C:\lab>,
# and the replay's own host$. A host command must not carry one.
ANY_PROMPT = re.compile(r"^(\S+@\S+(:\S*| \S+) ?[$#%]|[$%]|PS( [^>]*)?>|[A-Za-z]:\\[^>]*>|host\$)\s")
# What a replayed command can't pass on to the next: each runs in a shell of its own.
SHELL_STATE = re.compile(r"^(export|source|alias|unset|\.)\s|^[A-Za-z_]\w*=\S*$")
HEREDOC = re.compile(r"<<-?\s*['\"]?\w")
FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
KINDS = ("guest", "host", "file=PATH", "excerpt=PATH", "output")
# An excerpt line that stands for lines left out: "..." or a comment "# ... the rest".
ELLIPSIS = re.compile(r"^(#\s*)?\.\.\.")
# Host commands whose Windows PowerShell form differs: (a command's start, its Windows form).
WINDOWS_FORMS = [
    # In Windows PowerShell 5.1 `curl` is an alias of Invoke-WebRequest; Windows' own curl is curl.exe.
    ("curl", "curl.exe"),
    # python.org's Windows installer puts the `py` launcher on PATH, not python3.
    ("python3", "py"),
    ("source .venv/bin/activate", ".venv\\Scripts\\activate"),
]
CHECK_COMMAND = re.compile(r"^python3? -m lab\.check (?P<steps>\S+)")
# How long a ctrl-c command must keep running before the replay interrupts it.
CTRL_C_AFTER = 5


class ExerciseError(ValueError):
    """A block that breaks the convention; the message starts with file:line."""


@dataclass
class Block:
    path: Path
    line: int  # the opening fence's line, counted from 1
    language: str
    indent: int = 0  # the fence's indentation, taken off every line of the block
    kind: str = None
    target: str = None  # the guest path of a file or excerpt block
    skip: str = None
    input: str = None
    ctrl_c: bool = False
    exit: int = None  # the exit code the block's one command is shown failing with
    windows: bool = False  # a host block: the Windows form of the host block before it
    mode: str = None
    owner: str = None
    lines: list = field(default_factory=list)  # (line number, text without the fence's indent)
    problems: list = field(default_factory=list)

    def where(self, line=None):
        return f"{_shown(self.path)}:{line or self.line}"


@dataclass
class Action:
    """One thing the student does: a guest command, a host command, or a whole file written in the guest."""

    where: str  # exercises/step04-proxy.md:39
    block: str  # where its code block starts: the actions of one block are typed (or pasted) in one go
    kind: str  # "guest", "host" or "file"
    text: str  # the command as written (continuations joined by newlines), or the file's content
    cwd: str = None  # guest commands: the folder in the prompt
    path: str = None  # files: where in the guest
    mode: str = None
    owner: str = None
    input: str = None
    ctrl_c: bool = False
    exit: int = 0  # the exit code the text shows: not 0 for a command that fails on purpose

    def describe(self):
        if self.kind == "file":
            lines = self.text.count("\n")
            extra = "".join(f", {k} {v}" for k, v in (("mode", self.mode), ("owner", self.owner)) if v)
            return f"write {self.path} ({lines} lines{extra})"
        prompt = f"{GUEST_USER}@{GUEST_HOST}:{self.cwd}$ " if self.kind == "guest" else "host$ "
        notes = [f"answering {self.input!r}"] * bool(self.input) + [f"Ctrl-C after {CTRL_C_AFTER} s"] * self.ctrl_c
        notes += [f"fails with exit code {self.exit}"] * bool(self.exit)
        return prompt + self.text.replace("\n", "\n    ") + (f"   [{'; '.join(notes)}]" if notes else "")


def _shown(path):
    """A path as the instructor knows it: relative to the kit or the current folder when it can be."""
    path = Path(path)
    for base in (REPO, Path.cwd()):
        try:
            return str(path.resolve().relative_to(base))
        except ValueError:
            continue
    return str(path)


def _classify(block, words):
    kinds = []
    for word in words:
        key, sep, value = word.partition("=")
        if (key if not sep else key + "=PATH") in KINDS:
            kinds.append(key)
            if sep:
                block.target = value
        elif key == "skip" and sep:
            block.skip = value
        elif key == "input" and sep:
            block.input = value
        elif key == "ctrl-c" and not sep:
            block.ctrl_c = True
        elif key == "exit" and sep:
            if re.fullmatch(r"[1-9][0-9]{0,2}", value) and int(value) < 256:
                block.exit = int(value)
            else:
                block.problems.append(f"{block.where()}: exit={value} must be the exit code of a command that "
                                      "fails on purpose, from 1 to 255")
        elif key == "windows" and not sep:
            block.windows = True
        elif key in ("mode", "owner") and sep:
            setattr(block, key, value)
        else:
            block.problems.append(f"{block.where()}: unknown word {word!r} in the block's info string")
    if len(kinds) != 1:
        what = "says nothing" if not kinds else f"says {' and '.join(kinds)}"
        block.problems.append(f"{block.where()}: a code block says what it is after its language word: one of "
                              f"{', '.join(KINDS[:-1])} or {KINDS[-1]}; this one {what}")
        return
    block.kind = kinds[0]


MISPLACED_FENCE = re.compile(r"^(\s*>\s*| {4,})(`{3,}|~{3,})")


def _scan(path):
    """(the page's code blocks, the problems of the page itself: encoding, misplaced blocks)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        return [], [f"{_shown(path)}: not UTF-8 text (byte {exc.start} is {exc.object[exc.start]:#04x})"]
    found, page, block, fence, in_comment = [], [], None, None, False
    hidden_open = False  # inside a code block that is in a comment or a quote: its closing fence is no news
    for number, raw in enumerate(text.splitlines(), 1):
        if block is None:
            if in_comment or "<!--" in raw:
                in_comment = "-->" not in raw[raw.find("<!--") if not in_comment else 0:]
                if FENCE.match(raw) or MISPLACED_FENCE.match(raw):
                    if not hidden_open:
                        page.append(f"{_shown(path)}:{number}: a code block inside an HTML comment, which students "
                                    "never see; the replay may only do what the page shows")
                    hidden_open = not hidden_open
                continue
            if MISPLACED_FENCE.match(raw):
                if not hidden_open:
                    page.append(f"{_shown(path)}:{number}: a code block inside a quote or indented four spaces; "
                                "move it to the top level of the page, where lint and the replay see it")
                hidden_open = not hidden_open
                continue
            match = FENCE.match(raw)
            if not match:
                continue
            fence, indent = match.group("fence"), len(match.group("indent"))
            info = match.group("info").strip()
            try:
                words = shlex.split(info)
            except ValueError as exc:
                words = []
                problem = f"{_shown(path)}:{number}: the info string {info!r} cannot be read ({exc})"
            else:
                problem = None
            block = Block(path, number, words[0] if words else "", indent)
            if problem:
                block.problems.append(problem)
            _classify(block, words[1:])
        elif re.match(rf"^ {{0,3}}{re.escape(fence[0])}{{{len(fence)},}}\s*$", raw):
            found.append(block)
            block = None
        else:
            # A block indented in a list loses that indentation; a line indented less loses what it has.
            text = raw[block.indent:] if not raw[:block.indent].strip() else raw.lstrip()
            block.lines.append((number, text))
    if block is not None:
        block.problems.append(f"{block.where()}: this code block is never closed")
        found.append(block)
    return found, page


def blocks(path):
    """The fenced code blocks of one exercise, classified; a block's problems are in .problems."""
    return _scan(path)[0]


def _commands(block):
    """(line, cwd, command) of a guest or host block, continuation lines joined."""
    commands, current = [], None
    for number, text in block.lines:
        if current is not None:  # the previous line ended with a backslash
            current[2] += "\n" + text
        elif block.kind == "guest":
            match = GUEST_PROMPT.match(text)
            if not match:
                continue  # output
            current = [number, match.group("cwd"), match.group("command")]
        else:
            if not text.strip() or text.lstrip().startswith("#"):
                continue
            current = [number, None, text]
        if not current[2].endswith("\\"):
            commands.append(tuple(current))
            current = None
    if current is not None:
        commands.append(tuple(current))
    return commands


def _content(block):
    return "".join(text + "\n" for _, text in block.lines)


def _normalised(lines):
    return [line.strip() for line in lines]


def _excerpt_matches(excerpt, whole):
    """Whether the excerpt's lines appear in the whole file, in order and together,
    ignoring indentation; an ellipsis line stands for any lines left out."""
    parts, part = [], []
    for line in _normalised(excerpt):
        if ELLIPSIS.match(line):
            parts.append(part)
            part = []
        else:
            part.append(line)
    parts.append(part)
    parts = [p for p in parts if p]
    whole, start = _normalised(whole), 0
    for part in parts:
        for i in range(start, len(whole) - len(part) + 1):
            if whole[i:i + len(part)] == part:
                start = i + len(part)
                break
        else:
            return False
    return True


def _guest_problems(block):
    """Lines of a guest block the replay would misread: prompts of another shape, which it would
    take for output; here-documents, whose text it would take for output; shell state it can't keep."""
    found, continuing = [], False
    for number, text in block.lines:
        match = GUEST_PROMPT.match(text)
        if continuing:
            continuing = text.endswith("\\")
            continue
        if match is None:
            if ANY_PROMPT.match(text):
                found.append(f"{block.where(number)}: this line looks like a prompt but not `{SHOWN_PROMPT}`, so it "
                             "would be taken for output and never run")
            continue
        cwd, command = match.group("cwd"), match.group("command")
        continuing = command.endswith("\\")
        if not (cwd == "~" or cwd.startswith(("~/", "/"))):
            found.append(f"{block.where(number)}: the prompt's folder {cwd!r} must be ~, ~/... or an absolute path")
        if HEREDOC.search(command):
            found.append(f"{block.where(number)}: a here-document (<<) would be read as output; show the file "
                         "in a file= block instead")
        if SHELL_STATE.match(command):
            found.append(f"{block.where(number)}: `{command}` sets shell state, which the next command would not "
                         "have (each runs in a shell of its own); put what needs it on the same line")
    return found


def _cd_target(cwd, command):
    """The folder a plain `cd` leaves the student in, or None when the command is not one."""
    match = re.fullmatch(r"cd(?:\s+(\S+))?\s*", command)
    if match is None:
        return None
    target = (match.group(1) or "~").rstrip("/") or "/"
    if target == "~" or target.startswith(("~/", "/")):
        return target
    return posixpath.normpath(posixpath.join(cwd, target))


def _folder_problems(block, cwd):
    """Whether each prompt shows the folder the earlier `cd`s left the student in; returns (problems, folder)."""
    found = []
    for number, prompt_cwd, command in _commands(block):
        if not (prompt_cwd == "~" or prompt_cwd.startswith(("~/", "/"))):
            continue  # a malformed folder, told by _guest_problems
        if cwd is not None and prompt_cwd != cwd:
            found.append(f"{block.where(number)}: the prompt says {prompt_cwd}, but the commands before it leave "
                         f"the student in {cwd}; only a `cd` changes the folder")
        cwd = _cd_target(prompt_cwd, command) or prompt_cwd
    return found, cwd


# `NAME=value command`: an environment variable for that one command, in sh.
ENV_PREFIX = re.compile(r"""^(?P<name>[A-Za-z_]\w*)=(?P<value>'[^']*'|"[^"$`\\]*"|[^\s'"$`\\]*)\s+(?=\S)""")


def windows_form(command):
    """A host command as typed in Windows PowerShell (WINDOWS_FORMS). PowerShell has no
    `NAME=value command`: it sets the variable first, `$env:NAME="value"; command`."""
    settings = []
    while (match := ENV_PREFIX.match(command)) is not None:
        value = match.group("value")
        value = value[1:-1] if value[:1] in ("'", '"') else value
        # PowerShell expands $ and ` inside double quotes, not inside single ones.
        quoted = f"'{value}'" if any(c in value for c in '"$`') else f'"{value}"'
        settings.append(f"$env:{match.group('name')}={quoted}; ")
        command = command[match.end():]
    return "".join(settings) + _windows_command(command)


def _windows_command(command):
    for start, windows in WINDOWS_FORMS:
        if command == start or command.startswith(start + " "):
            return windows + command[len(start):]
    return command


def _windows_problems(block, before):
    """A host block and the Windows form that must follow it where a command differs; before: the block above."""
    if block.kind != "host" or block.skip is not None:
        return []
    typed = [command for _, _, command in _commands(block)]
    if block.windows:
        if before is None or before.kind != "host" or before.windows:
            return [f"{block.where()}: a `windows` block is the Windows form of the host block right before it, "
                    "and there is none"]
        wanted = [windows_form(command) for _, _, command in _commands(before)]
        if typed != wanted:
            return [f"{block.where()}: this Windows form differs from the block at {before.where()}; it should "
                    f"read: {' / '.join(wanted)}"]
    return []


def _needs_windows_form(block):
    return (block.kind == "host" and not block.windows
            and any(windows_form(command) != command for _, _, command in _commands(block)))


def _block_problems(block, later):
    """The problems of one classified block; later: the blocks after it on the page."""
    found = []
    if block.kind in ("file", "excerpt") and not block.target.startswith("/"):
        found.append(f"{block.where()}: {block.kind}={block.target} must name an absolute path in the guest")
    if block.skip == "":
        found.append(f"{block.where()}: skip= needs a reason")
    if block.kind in ("guest", "host"):
        commands = _commands(block)
        if not commands:
            if not (block.kind == "guest" and block.lines):  # a guest block without prompts is told below
                found.append(f"{block.where()}: a {block.kind} block with no command in it")
        elif commands[-1][2].endswith("\\"):
            found.append(f"{block.where(commands[-1][0])}: the block ends in the middle of a command (a line ending "
                         "in \\)")
        if block.ctrl_c and len(commands) != 1:
            found.append(f"{block.where()}: a ctrl-c block holds exactly one command, this one has {len(commands)}")
        if block.exit is not None and len(commands) != 1:
            found.append(f"{block.where()}: an exit= block holds exactly the one command that fails, this one has "
                         f"{len(commands)}")
        if block.exit is not None and block.ctrl_c:
            found.append(f"{block.where()}: a ctrl-c command is interrupted, so exit= can't say how it ends")
    if block.kind == "host":
        if block.ctrl_c:
            found.append(f"{block.where()}: ctrl-c belongs on guest blocks; a program on the student's computer "
                         "that runs until Ctrl-C can't be replayed")
        for number, text in block.lines:
            if ANY_PROMPT.match(text) and not text.lstrip().startswith("#"):
                found.append(f"{block.where(number)}: a host command carries a prompt; host blocks hold the "
                             f"commands alone, and guest blocks start each with `{SHOWN_PROMPT}`")
    if block.kind == "guest" and block.lines:
        first_number, first = block.lines[0]
        if not GUEST_PROMPT.match(first):
            found.append(f"{block.where(first_number)}: a guest block starts with a command after the prompt "
                         f"`{SHOWN_PROMPT}`")
        found += _guest_problems(block)
    if block.kind == "excerpt":
        whole = [b for b in later if b.kind == "file" and b.target == block.target and b.skip is None]
        if not whole:
            found.append(f"{block.where()}: an excerpt of {block.target}, which the exercise never shows whole "
                         f"after it; add a `file={block.target}` block")
        elif not _excerpt_matches([t for _, t in block.lines], [t for _, t in whole[0].lines]):
            found.append(f"{block.where()}: this excerpt of {block.target} differs from the whole file at "
                         f"{whole[0].where()}")
    if block.windows and block.kind != "host":
        found.append(f"{block.where()}: `windows` belongs on host blocks")
    if block.kind not in ("guest", "host") and (block.input is not None or block.ctrl_c or block.exit is not None):
        found.append(f"{block.where()}: input=, ctrl-c and exit= belong on blocks of commands")
    if block.kind != "file" and (block.mode or block.owner):
        found.append(f"{block.where()}: mode= and owner= belong on file blocks")
    return found


def problems(path, step_id=None):
    """Every break of the convention in one exercise, each starting with file:line."""
    return _problems(path, *_scan(path), step_id)


def questions(path):
    """The concept questions at the end of one exercise (lab.core.questions.Question), in order."""
    return questions_mod.read(path)[0]


def _problems(path, all_blocks, found, step_id=None):
    """problems() of a page already scanned: its blocks, and the problems of the page itself."""
    found = list(found) + questions_mod.read(path, _shown(path))[1]
    cwd = None  # the folder the student's shell in the guest is in, after the commands so far
    for index, block in enumerate(all_blocks):
        found += block.problems
        if block.kind is None:
            continue
        found += _block_problems(block, all_blocks[index + 1:])
        found += _windows_problems(block, all_blocks[index - 1] if index else None)
        following = all_blocks[index + 1] if index + 1 < len(all_blocks) else None
        if _needs_windows_form(block) and not (following and following.windows):
            forms = ", ".join(f"`{w}` for `{p}`" for p, w in WINDOWS_FORMS)
            found.append(f"{block.where()}: Windows PowerShell types these commands differently ({forms}); add a "
                         "`powershell host windows` block with that form right after this one")
        if block.kind == "guest" and block.skip is None:
            moved, cwd = _folder_problems(block, cwd)
            found += moved
    if step_id is not None:
        checked = {m.group("steps") for b in all_blocks if b.kind == "host" and b.skip is None
                   for _, _, command in _commands(b) for m in [CHECK_COMMAND.match(command)] if m}
        if step_id not in checked:
            found.append(f"{_shown(path)}: no host block runs `python -m lab.check {step_id}`")
    return found


def actions(path):
    """What the student does in one exercise, in order. Raises ExerciseError if the exercise breaks the convention."""
    all_blocks, page = _scan(path)
    broken = _problems(path, all_blocks, page)
    if broken:
        raise ExerciseError(f"{broken[0]} (and {len(broken) - 1} more problem(s); run `python -m lab lint`)"
                            if len(broken) > 1 else broken[0])
    found = []
    for block in all_blocks:
        if block.skip is not None or block.windows or block.kind in ("output", "excerpt"):
            continue  # the Windows form of a host block is the one the replay ran just before
        if block.kind == "file":
            found.append(Action(block.where(), block.where(), "file", _content(block), path=block.target,
                                mode=block.mode, owner=block.owner))
            continue
        for number, cwd, command in _commands(block):
            found.append(Action(block.where(number), block.where(), block.kind, command, cwd=cwd,
                                input=block.input, ctrl_c=block.ctrl_c, exit=block.exit or 0))
    return found


def skipped(path):
    """(file:line, reason) of the blocks the student reads but a program does not run."""
    return [(b.where(), b.skip) for b in blocks(path) if b.skip is not None]
