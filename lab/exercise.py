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

and, on guest or host blocks:

    input=y     what the student types at the commands' prompts (apt's [Y/n], ufw's y|n)
    ctrl-c      the one command runs until the student presses Ctrl-C (a server
                in the foreground, `journalctl -f`): it must still be running
                after a few seconds, then it is interrupted

and, on file blocks, `mode=0640` and `owner=root:likes` where they matter.

In a guest block the prompt `vagrant@lab:DIR$ ` starts each command, and DIR
is the folder it runs in (`~` is the home folder). A line ending in `\\`
continues on the next one. Other lines are output, shown and not run.

`python -m lab lint` enforces the convention (problems()); `python -m lab
replay` follows the actions (actions()).
"""

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

GUEST_USER, GUEST_HOST = "vagrant", "lab"
GUEST_PROMPT = re.compile(rf"^{GUEST_USER}@{GUEST_HOST}:(?P<cwd>[^$\s]+)\$ (?P<command>.*)$")
# Anything shaped like a shell prompt: a host block must not carry one.
ANY_PROMPT = re.compile(r"^(\S+@\S+:\S*[$#]|\$|#|PS>|>) ")
FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
KINDS = ("guest", "host", "file", "excerpt", "output")
# An excerpt line that stands for lines left out: "..." or a comment "# ... the rest".
ELLIPSIS = re.compile(r"^(#\s*)?\.\.\.")
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
    kind: str  # "guest", "host" or "file"
    text: str  # the command as written (continuations joined by newlines), or the file's content
    cwd: str = None  # guest commands: the folder in the prompt
    path: str = None  # files: where in the guest
    mode: str = None
    owner: str = None
    input: str = None
    ctrl_c: bool = False

    def describe(self):
        if self.kind == "file":
            lines = self.text.count("\n")
            extra = "".join(f", {k} {v}" for k, v in (("mode", self.mode), ("owner", self.owner)) if v)
            return f"write {self.path} ({lines} lines{extra})"
        prompt = f"{GUEST_USER}@{GUEST_HOST}:{self.cwd}$ " if self.kind == "guest" else "host$ "
        notes = [f"answering {self.input!r}"] * bool(self.input) + [f"Ctrl-C after {CTRL_C_AFTER} s"] * self.ctrl_c
        return prompt + self.text.replace("\n", "\n    ") + (f"   [{'; '.join(notes)}]" if notes else "")


def _shown(path):
    """A path as the instructor knows it: relative to the kit or the current folder when it can be."""
    path = Path(path)
    for base in (Path(__file__).resolve().parent.parent, Path.cwd()):
        try:
            return str(path.resolve().relative_to(base))
        except ValueError:
            continue
    return str(path)


def _classify(block, words):
    kinds = []
    for word in words:
        key, sep, value = word.partition("=")
        if key in ("guest", "host", "output") and not sep:
            kinds.append(key)
        elif key in ("file", "excerpt") and sep:
            kinds.append(key)
            block.target = value
        elif key == "skip" and sep:
            block.skip = value
        elif key == "input" and sep:
            block.input = value
        elif key == "ctrl-c" and not sep:
            block.ctrl_c = True
        elif key in ("mode", "owner") and sep:
            setattr(block, key, value)
        else:
            block.problems.append(f"{block.where()}: unknown word {word!r} in the block's info string")
    if len(kinds) != 1:
        what = "says nothing" if not kinds else f"says {' and '.join(kinds)}"
        block.problems.append(f"{block.where()}: a code block says what it is after its language word: one of "
                              f"guest, host, file=PATH, excerpt=PATH or output; this one {what}")
        return
    block.kind = kinds[0]


def blocks(path):
    """The fenced code blocks of one exercise, classified; a block's problems are in .problems."""
    path = Path(path)
    found, block, fence = [], None, None
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if block is None:
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
        elif raw.strip().startswith(fence[0] * len(fence)) and not raw.strip().strip(fence[0]):
            found.append(block)
            block = None
        else:
            # A block indented in a list loses that indentation; a line indented less loses what it has.
            text = raw[block.indent:] if not raw[:block.indent].strip() else raw.lstrip()
            block.lines.append((number, text))
    if block is not None:
        block.problems.append(f"{block.where()}: this code block is never closed")
        found.append(block)
    return found


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


def problems(path, step_id=None):
    """Every break of the convention in one exercise, each starting with file:line."""
    found = []
    all_blocks = blocks(path)
    for index, block in enumerate(all_blocks):
        found += block.problems
        if block.kind is None:
            continue
        if block.kind in ("file", "excerpt") and not block.target.startswith("/"):
            found.append(f"{block.where()}: {block.kind}={block.target} must name an absolute path in the guest")
        if block.kind in ("guest", "host"):
            commands = _commands(block)
            if not block.lines:
                found.append(f"{block.where()}: a {block.kind} block with no command in it")
            if block.ctrl_c and len(commands) != 1:
                found.append(f"{block.where()}: a ctrl-c block holds exactly one command, this one has "
                             f"{len(commands)}")
        if block.kind == "host":
            for number, text in block.lines:
                if ANY_PROMPT.match(text):
                    found.append(f"{block.where(number)}: a host command carries a prompt; host blocks hold the "
                                 "commands alone, and guest blocks start each with vagrant@lab:DIR$")
        if block.kind == "host" and block.lines and not commands:
            found.append(f"{block.where()}: a host block with no command in it, only comments")
        if block.kind == "guest" and block.lines:
            first_number, first = block.lines[0]
            if not GUEST_PROMPT.match(first):
                found.append(f"{block.where(first_number)}: a guest block starts with a command after the prompt "
                             f"`{GUEST_USER}@{GUEST_HOST}:DIR$ `")
        if block.kind == "excerpt":
            later = [b for b in all_blocks[index + 1:] if b.kind == "file" and b.target == block.target]
            if not later:
                found.append(f"{block.where()}: an excerpt of {block.target}, which the exercise never shows whole "
                             f"after it; add a `file={block.target}` block")
            elif not _excerpt_matches([t for _, t in block.lines], [t for _, t in later[0].lines]):
                found.append(f"{block.where()}: this excerpt of {block.target} differs from the whole file at "
                             f"{later[0].where()}")
        if block.kind not in ("guest", "host") and (block.input or block.ctrl_c):
            found.append(f"{block.where()}: input= and ctrl-c belong on guest or host blocks")
        if block.kind != "file" and (block.mode or block.owner):
            found.append(f"{block.where()}: mode= and owner= belong on file blocks")
    if step_id is not None:
        checked = {m.group("steps") for b in all_blocks if b.kind == "host"
                   for _, _, command in _commands(b) for m in [CHECK_COMMAND.match(command)] if m}
        if step_id not in checked:
            found.append(f"{_shown(path)}: no host block runs `python -m lab.check {step_id}`")
    return found


def actions(path):
    """What the student does in one exercise, in order. Raises ExerciseError if the exercise breaks the convention."""
    broken = problems(path)
    if broken:
        raise ExerciseError(f"{broken[0]} (and {len(broken) - 1} more problem(s); run `python -m lab lint`)"
                            if len(broken) > 1 else broken[0])
    found = []
    for block in blocks(path):
        if block.skip or block.kind in ("output", "excerpt"):
            continue
        if block.kind == "file":
            found.append(Action(block.where(), "file", _content(block), path=block.target, mode=block.mode,
                                owner=block.owner))
            continue
        for number, cwd, command in _commands(block):
            found.append(Action(block.where(number), block.kind, command, cwd=cwd, input=block.input,
                                 ctrl_c=block.ctrl_c))
    return found


def skipped(path):
    """(file:line, reason) of the blocks the student reads but a program does not run."""
    return [(b.where(), b.skip) for b in blocks(path) if b.skip]
