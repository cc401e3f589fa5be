"""`python -m lab lint`: the curriculum's content checked.

The rules live here, in code: every step has its exercise, check module and
solution; the manifest and the folders agree; every exercise's code blocks
follow the convention of lab/tools/exercise.py and it runs its step's check;
every Fail (and Mismatch) has a hint; a step's check module imports another
step's module for its checks only, never for a helper; a solution asks
installs() for what its step writes, and the manifest declares those names; no
file has CRLF line endings; points are positive; ids are unique.
"""

import ast
import inspect
import re
import subprocess
import textwrap
from pathlib import Path

from lab.core import manifest as manifest_mod
from lab.tools import exercise, relative, say

TEXT_SUFFIXES = {".py", ".sh", ".j2", ".md", ".toml", ".yml", ".rb", ".conf", ".service", ".js", ".css", ".tpl",
                 ".html", ".txt", ".cfg"}


def lint(root=manifest_mod.REPO, course=None):
    """Print every problem with the curriculum's content; 0 when there is none, 1 otherwise."""
    root = Path(root)
    problems = []
    try:
        manifest = manifest_mod.load(root / "checks" / manifest_mod.MANIFEST_NAME, course=course)
    except (manifest_mod.ManifestError, TypeError) as exc:
        say(f"problem: {exc}")
        return 1
    problems += _missing_files(manifest)
    problems += _unlisted_files(root, manifest)
    for step in manifest.steps:
        ids = [c.name for c in step.checks]
        problems += [f"{step.id}: two checks are named {n}" for n in sorted({n for n in ids if ids.count(n) > 1})]
        problems += [f"{step.id}.{c.name}: points must be positive" for c in step.checks if c.points <= 0]
    problems += [p for step in manifest.steps if step.exercise.is_file()
                 for p in exercise.problems(step.exercise, step.id)]
    problems += _questions_problems(manifest)
    check_folders = {step.checks_path.resolve().parent for step in manifest.steps}
    problems += _unparsable([*(p for folder in sorted(check_folders) for p in sorted(folder.glob("*.py"))),
                             *(s.solution for s in manifest.steps if s.solution.suffix == ".py")], root)
    problems += _fails_without_hint(check_folders)
    problems += _helpers_from_other_steps(manifest)
    problems += _installs_match_writes(manifest)
    problems += _applies_by_declaration(manifest)
    problems += _env_prefix_without_windows_form(manifest)
    problems += _crlf(root)
    for problem in problems:
        say(f"problem: {problem}")
    checks = sum(len(s.checks) for s in manifest.steps)
    asked = sum(len(exercise.questions(s.exercise)) for s in manifest.steps if s.exercise.is_file())
    say(f"{len(manifest.steps)} steps, {checks} checks" + (f" and {asked} questions" if asked else "") + ": " +
        ("no problems" if not problems else f"{len(problems)} problem(s)"))
    return 1 if problems else 0


def _questions_problems(manifest):
    """A step's questions are graded as checks named by their ids, so an id must be no check's name; and a
    page with questions tells the student how to answer them, `python -m lab answer stepN`."""
    problems = []
    for step in manifest.steps:
        asked = exercise.questions(step.exercise) if step.exercise.is_file() else []
        if not asked:
            continue
        names = {c.name for c in step.checks}
        problems += [f"{exercise._shown(step.exercise)}:{q.line}: the question id {q.id} is also the name of a check "
                     f"of {step.id}" for q in asked if q.id in names]
        told = f"python -m lab answer {step.id}"
        if told not in step.exercise.read_text(encoding="utf-8"):
            problems.append(f"{exercise._shown(step.exercise)}: it has questions, and never tells the student to "
                            f"answer them with `{told}`")
    return problems


def _missing_files(manifest):
    return [f"{step.id}: its {kind} {path} does not exist"
            for step in manifest.steps
            for kind, path in (("exercise", step.exercise), ("check module", step.checks_path),
                               ("solution", step.solution))
            if not path.is_file()]


def _unlisted_files(root, manifest):
    listed = {p.resolve() for s in manifest.steps for p in (s.exercise, s.checks_path, s.solution)}
    candidates = [*(root / "exercises").glob("step*"), *(root / "checks").glob("step*.py"),
                  *(root / "provision" / "solutions").glob("step*")]
    return [f"{p.relative_to(root)} belongs to no step in the manifest" for p in sorted(candidates)
            if p.resolve() not in listed]


def _python(path):
    """The syntax tree of a Python file, or None when it can't be read as Python (_unparsable
    reports that once; every other rule skips the file)."""
    try:
        # Bytes, so that Python decodes them as it would (UTF-8, or the file's coding line).
        return ast.parse(path.read_bytes(), str(path))
    except (OSError, SyntaxError, ValueError):  # ValueError: a null byte, on Python before 3.12
        return None


def _unparsable(paths, root):
    """A check module or a solution that Python can't read: where, and why."""
    problems = []
    for path in dict.fromkeys(p.resolve() for p in paths):  # in order, each once
        if not path.is_file():
            continue  # _missing_files says so
        shown = relative(path, root.resolve())
        try:
            data = path.read_bytes()
            ast.parse(data, str(path))
        except OSError as exc:
            problems.append(f"{shown}: cannot read it: {exc.strerror or exc}")
        except (SyntaxError, ValueError) as exc:
            line = getattr(exc, "lineno", None)
            if line is None and b"\0" in data:  # Python names no line for a null byte
                line = data[:data.index(b"\0")].count(b"\n") + 1
            why = exc.msg if isinstance(exc, SyntaxError) else str(exc)
            problems.append(f"{shown}{f':{line}' if line else ''}: Python cannot read it: {why}")
    return problems


def _fails_without_hint(folders):
    """Every Fail(...) and Mismatch(...) in the check modules must give the student a hint."""
    problems = []
    for folder in sorted(folders):
        for path in sorted(folder.glob("*.py")):
            tree = _python(path)
            if tree is None:
                continue
            for node in ast.walk(tree):
                failure = getattr(node.func, "id", None) if isinstance(node, ast.Call) else None
                if failure in ("Fail", "Mismatch"):
                    if len(node.args) < 2 and not any(k.arg == "hint" for k in node.keywords):
                        problems.append(f"{path.name}:{node.lineno}: {failure}(...) without a hint for the student")
    return problems


def _helpers_from_other_steps(manifest):
    """A step's module imports another step's module only for its checks, to depend on them.

    A helper or a value taken from another step's module ties the two steps' insides
    together: one step's rewrite, or a course that omits it, breaks the other."""
    by_module = {manifest_mod.module_name(s.checks_path)[1]: s for s in manifest.steps if s.checks_path.is_file()}
    problems = []
    for own, step in by_module.items():
        tree = _python(step.checks_path)
        if tree is None:
            continue

        def refuse(line, name, module, step=step):  # called within this round of the loop
            other = by_module[module]
            problems.append(f"{exercise._shown(step.checks_path)}:{line}: takes {name} from {module}, "
                            f"{other.id}'s module, and it is not one of {other.id}'s checks: a step's module "
                            "imports another step's only for the checks it depends on; code two steps share "
                            "belongs in lab/guest (a probe of the guest) or the engine (lab/engine), and a value "
                            "of the deployment in provision/facts.py")

        def checks_of(module):
            return {c.name for c in by_module[module].checks}

        whole = {}  # the name a module of another step is bound to here -> that module
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                package = own.split(".")[:-1]
                base = ".".join([*package[:len(package) - node.level + 1], *([node.module] if node.module else [])]
                                if node.level else [node.module])
                for alias in node.names:
                    if base in by_module and base != own:
                        if alias.name == "*" or alias.name not in checks_of(base):
                            refuse(node.lineno, alias.name, base)
                    elif f"{base}.{alias.name}" in by_module and f"{base}.{alias.name}" != own:
                        whole[alias.asname or alias.name] = f"{base}.{alias.name}"  # from checks import step02_nginx
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name in by_module and alias.name != own:
                        whole[alias.asname or alias.name] = alias.name
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and _dotted(node.value) in whole:
                module = whole[_dotted(node.value)]
                if node.attr not in checks_of(module):
                    refuse(node.lineno, node.attr, module)
    return problems


def _dotted(node):
    """"a.b.c" of a name or a chain of attributes; None for anything else."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        head = _dotted(node.value)
        return f"{head}.{node.attr}" if head else None
    return None


INLINE_CODE = re.compile(r"`([^`]+)`")
FENCED = re.compile(r"^ {0,3}(`{3,}|~{3,}).*?^ {0,3}\1\s*$", re.MULTILINE | re.DOTALL)


def _texts_for_students(manifest):
    """(where, text) of what students read outside code blocks: each exercise's prose, and each
    string in the check modules (rationales and hints)."""
    for step in manifest.steps:
        if step.exercise.is_file():
            yield exercise._shown(step.exercise), FENCED.sub("", step.exercise.read_text(encoding="utf-8"))
        tree = _python(step.checks_path) if step.checks_path.is_file() else None
        if tree is not None:
            strings = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
            yield exercise._shown(step.checks_path), "\n".join(strings)


# Variables a student sets on their own computer: the lab's settings and Vagrant's. Prose can't
# say which machine an inline command is for, and a guest command (`LC_ALL=C sort`) or a unit
# line (`ExecStart=/usr/bin/gunicorn --workers 3`) looks the same, so the name decides.
HOST_VARIABLES = ("LAB_", "VAGRANT_")


def _env_prefix_without_windows_form(manifest):
    """A command in running text that sets a host variable the sh way (`LAB_SOLVE_TO=8 vagrant
    provision`) also shows its PowerShell form (exercise.windows_form), which Windows students type."""
    problems = []
    for where, text in _texts_for_students(manifest):
        flat = " ".join(text.split())
        for span in INLINE_CODE.findall(flat):
            command = " ".join(span.split())
            setting = exercise.ENV_PREFIX.match(command)
            if setting is None or not setting.group("name").startswith(HOST_VARIABLES):
                continue
            windows = exercise.windows_form(command)
            if f"`{windows}`" not in flat:
                problems.append(f"{where}: `{command}` sets its variable the sh way, which PowerShell can't "
                                f"type; show its PowerShell form too, `{windows}`")
    return problems


def _applies_by_declaration(manifest):
    """A check about one kind of guest says so with applies_to, so that elsewhere it is
    "not applicable" and counts neither way; a check that looks at the transport's
    scheme itself and returns early would pass for nothing."""
    problems = []
    for step in manifest.steps:
        for check in step.checks:
            try:
                tree = ast.parse(textwrap.dedent(inspect.getsource(check.func)))
            except (OSError, TypeError, SyntaxError):
                continue
            for node in ast.walk(tree):
                if isinstance(node, ast.Attribute) and node.attr == "scheme":
                    problems.append(f"{step.id}.{check.name}: it asks which kind of guest it runs on "
                                    f"(`.scheme`, line {check.func.__code__.co_firstlineno + node.lineno - 1}); "
                                    "declare the kinds it is about instead: @check(applies_to=(\"vagrant\",))")
                    break
    return problems


def _installs_match_writes(manifest):
    """A Python solution asks installs("x") for exactly the shared things its step's `writes` lists:
    a name missing from `writes` would never be installed, and one never asked for never is either."""
    problems = []
    for step in manifest.steps:
        if step.solution.suffix != ".py" or not step.solution.is_file():
            continue  # a shell solution reads $LAB_INSTALLS itself
        tree = _python(step.solution)
        if tree is None:
            continue
        asked = {}
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "installs"
                    and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
                asked.setdefault(node.args[0].value, node.lineno)
        problems += [f"{step.solution.name}:{line}: installs({name!r}), but {step.id}'s writes in the manifest "
                     f"does not list {name!r}, so it never installs it" for name, line in sorted(asked.items())
                     if name not in step.writes]
        problems += [f"{step.id}: writes {name!r} in the manifest, but {step.solution.name} never asks "
                     f"installs({name!r})" for name in step.writes if name not in asked]
    return problems


def _tracked_files(root):
    try:
        out = subprocess.run(["git", "ls-files", "-z"], cwd=root, capture_output=True, check=True).stdout
        return [root / name for name in out.decode().split("\0") if name]
    except (OSError, subprocess.CalledProcessError):
        return [p for p in root.rglob("*") if ".git" not in p.parts and ".venv" not in p.parts]


def _crlf(root):
    problems = []
    for path in _tracked_files(root):
        if path.is_file() and (path.suffix in TEXT_SUFFIXES or path.name in ("Vagrantfile", "run")):
            if b"\r\n" in path.read_bytes():
                problems.append(f"{path.relative_to(root)} has CRLF line endings")
    return problems
