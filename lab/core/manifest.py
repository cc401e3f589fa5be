"""The ordered list of steps, read from checks/steps.toml and a course's override.

    format_version = 1

    [[steps]]
    id = "step1"
    title = "The virtual machine"
    exercise = "exercises/step01-vm.md"
    checks = "checks/step01_vm.py"
    solution = "provision/solutions/step01-vm.py"
    writes = []

Several steps' solutions change the same files; the manifest names them in a
[shared] table, and each step lists in `writes` the ones its solution
installs. In one run of provision/solve.py, each is installed only by the last
step being solved that writes it (see Manifest.last_writers).

A course folder (--course DIR or $LAB_COURSE) has a steps.toml of its own. Its
steps replace the kit's steps of the same id, or are added: at the end, or
after the step named by `after`. `omit = ["step11"]` at the top leaves kit
steps out; with `replace = true`, the course's steps are the whole list. Its
[shared] names add to the kit's (with `replace = true`, they are all there
is). Paths are relative to the manifest's folder.

A step may say when Gradescope shows its checks to the student (VISIBILITIES):
`visibility = "after_due_date"` for all of them, or a table for some,
`visibility = { proxies_to_app = "after_due_date" }`; the others are "visible".

A course's [course] table holds its settings (COURSE_SETTINGS):

    [course]
    lab_folder = "/home/student/lab"   # where the lab folder is in the guest (default /vagrant)
    kit_solutions = "zero"             # what a step the kit's solution applied earns: count, flag, zero
    questions = "separate"             # what a step's concept questions earn: count, practice, separate

Reading the manifest needs only the standard library (and tomli before Python
3.11): provision/solve.py reads it inside the guest with Debian's python3.
"""

import importlib
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from lab.core import labyml, schema
from lab.core.registry import Registry
from lab.core.schema import Field

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

FORMAT_VERSION = 1
MANIFEST_NAME = "steps.toml"
REPO = labyml.KIT  # the kit's folder, which holds checks/ and lab.default.yml
DEFAULT_MANIFEST = REPO / "checks" / MANIFEST_NAME

_ID = re.compile(r"^[a-z][a-z0-9_-]*$")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")  # a shared name travels to the solutions in a space-separated list
# When Gradescope shows a check to the student, in its own words (its autograder
# specification): a course may keep some checks back until the due date.
VISIBILITIES = ("visible", "after_due_date", "after_published", "hidden")
# What a course may make of a step the kit's reference solution applied (the
# `kit_solutions` course setting): its points count as earned, count but are
# flagged in the gradebook (the default), or count for nothing.
KIT_SOLUTION_POLICIES = ("count", "flag", "zero")
DEFAULT_KIT_POLICY = "flag"
# What a step's concept questions (lab/core/questions.py) earn, the `questions` course setting:
# a point each in the step's score (the default); nothing, graded with feedback, for practice; or a
# point each in a score of their own, the questions' score, apart from the deployment's.
QUESTION_POLICIES = ("count", "practice", "separate")
DEFAULT_QUESTION_POLICY = "count"


class ManifestError(Exception):
    """The manifest or a check module is not usable; the message says where and why."""


@dataclass
class Step:
    id: str
    title: str
    exercise: Path
    checks_path: Path
    solution: Path
    root: Path
    reboot: bool = False  # its solution takes effect only after the guest restarts
    checks: list = field(default_factory=list)
    writes: tuple = ()  # the [shared] things its solution installs, when it is the last to write them
    source: Path = None  # the manifest file it comes from, for messages
    # When Gradescope shows its checks: one of VISIBILITIES for all of them, or {check name: visibility}.
    visibility: object = None

    @property
    def max_points(self):
        """The step's points, without its questions' when they are a score of their own."""
        return sum(c.points for c in self.checks if not c.separate)

    @property
    def question_points(self):
        """The points of its questions that are a score of their own (questions = "separate")."""
        return sum(c.points for c in self.checks if c.separate)

    def visibility_of(self, check_name):
        """When Gradescope shows the student this step's check of that name."""
        if isinstance(self.visibility, dict):
            return self.visibility.get(check_name, "visible")
        return self.visibility or "visible"


# A [[steps]] entry's keys; `wanted` is what a value must be, in the words of the messages.
_TEXT = "a quoted string"
_STEP_FIELDS = {
    **{key: Field((str,), wanted=_TEXT) for key in ("id", "title", "exercise", "checks", "solution")},
    "after": Field((str,), required=False, wanted=_TEXT),
    "reboot": Field((bool,), required=False, wanted="true or false"),
    "writes": Field((list,), required=False, allowed=lambda names: all(isinstance(n, str) for n in names),
                    wanted='a list of [shared] names, e.g. writes = ["site"]'),
    "visibility": Field((object,), required=False),  # _check_visibility says what it must be
}

# The [course] settings, and their defaults.
COURSE_SETTINGS = {
    # The lab folder's path in the guest: /vagrant on a Vagrant VM (provision/facts.py's
    # default), elsewhere where students clone the lab on a server of their own.
    "lab_folder": Field((str,), required=False, allowed=lambda v: v.startswith("/") and "\n" not in v,
                        wanted='an absolute path in the guest, e.g. "/home/student/lab"'),
    # What a step the kit's reference solution applied earns (KIT_SOLUTION_POLICIES).
    "kit_solutions": Field((str,), required=False, allowed=KIT_SOLUTION_POLICIES,
                           wanted=schema.one_of(KIT_SOLUTION_POLICIES)),
    # What the concept questions earn (QUESTION_POLICIES).
    "questions": Field((str,), required=False, allowed=QUESTION_POLICIES, wanted=schema.one_of(QUESTION_POLICIES)),
}
COURSE_DEFAULTS = {"lab_folder": None, "kit_solutions": DEFAULT_KIT_POLICY, "questions": DEFAULT_QUESTION_POLICY}


@dataclass
class Manifest:
    steps: list
    shared: dict = field(default_factory=dict)  # name -> what it is, from the [shared] tables
    course: dict = field(default_factory=lambda: dict(COURSE_DEFAULTS))

    def step(self, step_id):
        for step in self.steps:
            if step.id == step_id:
                return step
        raise ManifestError(f"there is no step {step_id!r}; the steps are {', '.join(self.ids())}")

    def ids(self):
        return [s.id for s in self.steps]

    def select(self, selectors):
        """Steps named by selectors such as "step3", "3", "step1..step4" or "all", in manifest order."""
        wanted = set()
        for sel in selectors or ["all"]:
            if sel == "all":
                wanted.update(self.ids())
            elif ".." in sel:
                first, last = (self._resolve(part) for part in sel.split("..", 1))
                ids = self.ids()
                lo, hi = ids.index(first), ids.index(last)
                if lo > hi:
                    raise ManifestError(f"{sel!r} runs backwards: {first} comes after {last}")
                wanted.update(ids[lo:hi + 1])
            else:
                wanted.add(self._resolve(sel))
        return [s for s in self.steps if s.id in wanted]

    def up_to(self, name):
        """The steps from the first through the one named ("step4", "4", or "all" for every step)."""
        if name == "all":
            return list(self.steps)
        last = self.step(self._resolve(name))
        return self.steps[:self.steps.index(last) + 1]

    def last_writers(self, steps):
        """{shared name: the id of the last of `steps` that writes it}; names no step writes are left out.

        Each shared thing is installed by that step alone, so an early step never
        undoes a later one, and solving twice changes nothing the second time.
        """
        return {name: step.id for step in steps for name in step.writes}

    def _resolve(self, name):
        name = f"step{name}" if name.isdigit() else name
        return self.step(name).id

    def all_checks(self):
        return [c for s in self.steps for c in s.checks]

    def find_check(self, name):
        """A check by "name" or "step.name"."""
        found = [c for c in self.all_checks() if name in (c.name, c.id)]
        if not found:
            raise ManifestError(f"there is no check {name!r}; `python -m lab.check --list` lists them")
        if len(found) > 1:
            raise ManifestError(f"{name!r} names several checks ({', '.join(c.id for c in found)}); "
                                f"write it as step.name")
        return found[0]


def _kind(value):
    """A TOML value as a message names it: the number 5, the string 'x', a list, true."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the string {value!r}"
    return {list: "a list", dict: "a table"}.get(type(value), f"a {type(value).__name__}")


def _read(path):
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise ManifestError(f"{path} does not exist") from None
    except OSError as exc:
        raise ManifestError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise ManifestError(f"{path}, line {line}: this is not UTF-8 text; save the file as UTF-8") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ManifestError(f"{path} is not valid TOML: {exc}") from None
    version = data.get("format_version")
    if version != FORMAT_VERSION:
        raise ManifestError(f"{path} has format_version {version!r}; this checker reads format_version "
                            f"{FORMAT_VERSION} (update the kit with `git pull` if the manifest is newer)")
    unknown = set(data) - {"format_version", "steps", "replace", "omit", "shared", "course"}
    if unknown:
        raise ManifestError(f"{path}: unknown top-level key(s) {', '.join(sorted(unknown))}")
    shared = data.get("shared", {})
    if not isinstance(shared, dict):
        raise ManifestError(f"{path}: shared must be a [shared] table of name = \"what it is\", found {_kind(shared)}")
    for name, about in shared.items():
        if not _NAME.match(name):
            raise ManifestError(f"{path}: the shared name {name!r} must be lower case letters, digits or _")
        if not isinstance(about, str):
            raise ManifestError(f"{path}: shared.{name} must say in a quoted string what it is, found {_kind(about)}")
    entries = data.get("steps", [])
    if not isinstance(entries, list):
        raise ManifestError(f"{path}: steps must be a list of [[steps]] tables")
    if not isinstance(data.get("replace", False), bool):
        raise ManifestError(f"{path}: replace must be true or false, found {_kind(data['replace'])}")
    root = Path(path).resolve().parent
    steps, afters = [], {}
    for n, entry in enumerate(entries, 1):
        where = f"{path}, step #{n}"
        if not isinstance(entry, dict):
            raise ManifestError(f"{path}: step #{n} must be a [[steps]] table, found {_kind(entry)}")
        _check_entry(entry, where)
        if not _ID.match(entry["id"]):
            raise ManifestError(f"{where}: id {entry['id']!r} must be lower case letters, digits, - or _")
        if any(s.id == entry["id"] for s in steps):
            raise ManifestError(f"{path}: step id {entry['id']!r} is used twice")
        writes = entry.get("writes", [])
        if len(set(writes)) != len(writes):
            raise ManifestError(f"{where}: writes names the same thing twice: {writes}")
        steps.append(Step(entry["id"], entry["title"], root / entry["exercise"], root / entry["checks"],
                          root / entry["solution"], root, entry.get("reboot", False), writes=tuple(writes),
                          source=Path(path), visibility=entry.get("visibility")))
        if entry.get("after"):
            afters[entry["id"]] = entry["after"]
    omit = data.get("omit", [])
    if not isinstance(omit, list) or not all(isinstance(i, str) for i in omit):
        raise ManifestError(f"{path}: omit must be a list of step ids, e.g. omit = [\"step11\"]")
    course = data.get("course", {})
    if not isinstance(course, dict):
        raise ManifestError(f"{path}: course must be a [course] table of settings, found {_kind(course)}")
    for problem in schema.problems(course, COURSE_SETTINGS, others_allowed=False):
        if problem.kind == schema.UNKNOWN:
            raise ManifestError(f"{path}: [course] has no setting {problem.key!r}; the settings are "
                                f"{', '.join(COURSE_SETTINGS)}")
        raise ManifestError(f"{path}: [course] {problem.key} must be {problem.field.wanted}, found {problem.value!r}")
    return _File(steps, afters, data.get("replace", False), omit, shared, course)


@dataclass
class _File:
    """One steps.toml as read, before a course's is merged over the kit's."""
    steps: list
    afters: dict
    replace: bool
    omit: list
    shared: dict
    course: dict = field(default_factory=dict)


def merge(base, course, afters, replace, omit=()):
    """Apply a course's steps over the kit's: leave out, replace by id, insert after, or append."""
    if replace:
        return list(course)
    unknown = [i for i in omit if i not in {s.id for s in base}]
    if unknown:
        raise ManifestError(f"the course omits {', '.join(map(repr, unknown))}, which is not a step of the kit")
    merged = [s for s in base if s.id not in omit]
    for step in course:
        ids = [s.id for s in merged]
        if step.id in ids and step.id not in afters:
            merged[ids.index(step.id)] = step
            continue
        if step.id in ids:
            merged.pop(ids.index(step.id))
            ids.remove(step.id)
        anchor = afters.get(step.id)
        if anchor is None:
            merged.append(step)
        elif anchor in ids:
            merged.insert(ids.index(anchor) + 1, step)
        else:
            raise ManifestError(f"step {step.id!r} is to come after {anchor!r}, which is not a step")
    return merged


def load(path=None, course=None, import_checks=True, questions=False):
    """The manifest with its check modules imported and their checks attached to each step.

    With import_checks=False, only the steps: no check module is imported, so
    nothing beyond the standard library is needed (as in the guest). With
    questions=True, each step's checks end with its exercise's concept questions
    (lab/core/questions.py), as the student's and the class's grading want them;
    the selftest, which proves solutions, leaves them out.
    """
    course = course or os.environ.get("LAB_COURSE") or None
    if course:
        course_file = Path(course) / MANIFEST_NAME
        if not course_file.exists():
            raise ManifestError(f"the course folder {course} has no {MANIFEST_NAME}")
        extra = _read(course_file)
        base = _File([], {}, False, [], {}) if extra.replace else _read(path or DEFAULT_MANIFEST)
        steps = merge(base.steps, extra.steps, extra.afters, extra.replace, extra.omit)
        shared = {**base.shared, **extra.shared}
        settings = {**base.course, **extra.course}
    else:
        kit = _read(path or DEFAULT_MANIFEST)
        steps, shared, settings = kit.steps, kit.shared, kit.course
    _check_writes(steps, shared)
    manifest = Manifest(steps, shared)
    manifest.course.update(settings)
    if manifest.course["lab_folder"]:
        # provision/facts.py takes the lab folder from here, in the checker (whose
        # check modules are imported below) and in the solutions solve.py runs.
        os.environ["LAB_FOLDER"] = manifest.course["lab_folder"]
    if import_checks:
        for step in manifest.steps:
            step.checks = _import_checks(step)
            if questions:
                from lab.core import questions as questions_mod

                policy = manifest.course["questions"]
                step.checks += questions_mod.checks_for(step, 0 if policy == "practice" else 1,
                                                        separate=policy == "separate")
            _check_visibility_names(step)
        _check_graph(manifest)
    return manifest


def _check_entry(entry, where):
    """A [[steps]] entry's keys and the types of their values, by _STEP_FIELDS."""
    found = schema.problems(entry, _STEP_FIELDS, others_allowed=False)
    unknown = sorted(p.key for p in found if p.kind == schema.UNKNOWN)
    if unknown:
        raise ManifestError(f"{where}: unknown key(s) {', '.join(unknown)}")
    for problem in found:
        if problem.kind in (schema.WRONG_TYPE, schema.NOT_ALLOWED):
            raise ManifestError(f"{where}: {problem.key} must be {problem.field.wanted}, found {_kind(problem.value)}")
    if "visibility" in entry:
        _check_visibility(entry["visibility"], where)
    # An empty string is as good as none: a step without a title is missing one.
    missing = [key for key, each in _STEP_FIELDS.items() if each.required and not entry.get(key)]
    if missing:
        raise ManifestError(f"{where}: missing {', '.join(missing)}")


def _check_visibility(value, where):
    """A step's visibility: one of VISIBILITIES for every check, or a table of check name = visibility."""
    choices = ", ".join(f'"{v}"' for v in VISIBILITIES)
    example = 'visibility = "after_due_date", or visibility = { proxies_to_app = "after_due_date" }'
    if isinstance(value, dict):
        for name, each in value.items():
            if each not in VISIBILITIES:
                raise ManifestError(f"{where}: visibility.{name} must be one of {choices}, found {_kind(each)}")
    elif value not in VISIBILITIES:
        raise ManifestError(f"{where}: visibility must be one of {choices} for every check of the step, or a "
                            f"table of check names, e.g. {example}; found {_kind(value)}")


def _check_visibility_names(step):
    """Every check a step's visibility table names is one of the step's checks."""
    if isinstance(step.visibility, dict):
        names = [c.name for c in step.checks]
        unknown = [name for name in step.visibility if name not in names]
        if unknown:
            raise ManifestError(f"{step.source or 'the manifest'}: step {step.id}: visibility names "
                                f"{', '.join(map(repr, unknown))}, which is not a check of the step; "
                                f"its checks are {', '.join(names)}")


def _check_writes(steps, shared):
    """Every name a step writes is one the [shared] tables declare."""
    for step in steps:
        unknown = [name for name in step.writes if name not in shared]
        if unknown:
            where = f"{step.source}:{_line_of(step.source, step.id, unknown[0])}" if step.source else "the manifest"
            raise ManifestError(f"{where}: step {step.id} writes {', '.join(map(repr, unknown))}, which "
                                f"[shared] does not declare; the shared things are "
                                f"{', '.join(sorted(shared)) or 'none yet'}")


def _line_of(path, step_id, name):
    """The line of `name` in the entry of step_id: TOML readers give values, not where they were."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError:
        return "?"
    id_line = re.compile(r"""\s*id\s*=\s*["']%s["']""" % re.escape(step_id))
    quoted = re.compile(r"""["']%s["']""" % re.escape(name))
    start = next((n for n, line in enumerate(lines) if id_line.match(line)), None)
    if start is None:
        return "?"
    for n in range(start + 1, len(lines)):
        if lines[n].lstrip().startswith("["):  # the next table: the name was not on a line of its own
            break
        if quoted.search(lines[n]):
            return n + 1
    return start + 1


def module_name(path):
    """(the folder to import from, the dotted name) of a check module: the name follows the
    packages (folders with __init__.py) around the file, as checks/step04_proxy.py is
    `checks.step04_proxy`."""
    path = Path(path).resolve()
    parts, folder = [path.stem], path.parent
    while (folder / "__init__.py").exists():
        parts.insert(0, folder.name)
        folder = folder.parent
    return folder, ".".join(parts)


def _import_checks(step):
    """Import a step's check module by its full dotted name.

    The name follows the packages around the file (module_name). Importing by
    name, not by file, means a module that imports another step's checks to
    depend on them gets the very same Check objects.
    """
    path = step.checks_path.resolve()
    if not path.exists():
        raise ManifestError(f"step {step.id}: its check module {step.checks_path} does not exist")
    folder, name = module_name(path)
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    # Every check module's docstrings may name the deployment's facts (provision.facts, which the
    # Registry imports): a course that replaces every step imports no kit module that puts the kit here.
    if str(REPO) not in sys.path:
        sys.path.append(str(REPO))
    try:
        module = importlib.import_module(name)
    except Exception as exc:  # a broken check module is the instructor's to fix: say where
        raise ManifestError(f"step {step.id}: cannot import {path}: {type(exc).__name__}: {exc}") from exc
    if Path(module.__file__).resolve() != path:
        raise ManifestError(f"step {step.id}: importing {name} found {module.__file__}, not {path}; "
                            f"give the course's check folder a name of its own")
    registries = [v for v in vars(module).values() if isinstance(v, Registry)]
    if len(registries) != 1:
        raise ManifestError(f"step {step.id}: {path} must define exactly one Registry, found {len(registries)}")
    checks = list(registries[0])
    if not checks:
        raise ManifestError(f"step {step.id}: {path} registers no checks")
    for check in checks:
        if check.step not in (None, step.id):
            raise ManifestError(f"{check.name} in {path} is already part of step {check.step}")
        check.step = step.id
    return checks


def _check_graph(manifest):
    known = set(manifest.all_checks())
    for check in known:
        for dep in check.depends:
            if dep not in known:
                raise ManifestError(f"{check.id} depends on {dep.name}, which is in no step of the manifest")
    order_checks(list(known))  # raises on a cycle


def order_checks(checks):
    """Checks sorted so that each comes after what it depends on; ties keep the given order."""
    position = {c: n for n, c in enumerate(checks)}
    done, ordered, visiting = set(), [], []

    def visit(check):
        if check in done:
            return
        if check in visiting:
            cycle = " -> ".join(c.id for c in visiting[visiting.index(check):] + [check])
            raise ManifestError(f"checks depend on each other in a circle: {cycle}")
        visiting.append(check)
        for dep in sorted(check.depends, key=lambda d: position.get(d, -1)):
            visit(dep)
        visiting.pop()
        done.add(check)
        ordered.append(check)

    for check in checks:
        visit(check)
    return ordered
