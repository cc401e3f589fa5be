"""`python -m lab new stepNN-name`: scaffold a step, its exercise, its check module and
its reference solution, and add it to the manifest: all of it, or nothing."""

import re
from pathlib import Path

from lab.core import manifest as manifest_mod
from lab.tools import relative, say

NAME = re.compile(r"^step(\d+)-([a-z][a-z0-9-]*)$")


def paths_for(root, name):
    number, short = NAME.match(name).groups()
    number = int(number)
    return {
        "id": f"step{number}",
        "exercise": root / "exercises" / f"step{number:02d}-{short}.md",
        "checks": root / "checks" / f"step{number:02d}_{short.replace('-', '_')}.py",
        "solution": root / "provision" / "solutions" / f"step{number:02d}-{short}.py",
    }


def example_name(root, name):
    """A well-formed name for the next step, made of the words the instructor typed."""
    words = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    words = re.sub(r"^step-?\d*-?", "", words) or "topic"
    if not words[0].isalpha():
        words = "topic-" + words
    try:
        numbers = [int(i[4:]) for i in manifest_mod.load(Path(root) / "checks" / manifest_mod.MANIFEST_NAME,
                                                         import_checks=False).ids() if i[4:].isdigit()]
    except Exception:  # a broken manifest is lint's to report; the example only needs a number
        numbers = []
    return f"step{max(numbers, default=0) + 1:02d}-{words}"


def new_step(name, title=None, root=manifest_mod.REPO):
    """Create the three files of a new step and add it to checks/steps.toml: all of it or,
    when anything cannot be written, nothing (a manifest naming a step whose files are
    missing would break every later run)."""
    root = Path(root)
    if not NAME.match(name):
        say(f"a step's name looks like {example_name(root, name)} (stepNN-words), not {name!r}")
        return 2
    if title is not None and ("\n" in title or "\r" in title):
        say("a title is one line: leave the line breaks out of --title")
        return 2
    paths = paths_for(root, name)
    manifest_file = root / "checks" / manifest_mod.MANIFEST_NAME
    shown = relative(manifest_file, root)
    try:
        existing = manifest_mod.load(manifest_file, import_checks=False).ids()
    except manifest_mod.ManifestError as exc:
        say(f"{exc}; fix {shown} first (`python -m lab lint` says more); nothing was written")
        return 2
    except OSError as exc:
        say(f"cannot read {shown}: {exc.strerror or exc}; nothing was written")
        return 2
    if paths["id"] in existing:
        say(f"{paths['id']} is already in {manifest_file}")
        return 2
    taken = [p for key, p in paths.items() if key != "id" and p.exists()]
    if taken:
        say(f"{taken[0]} already exists; nothing was written")
        return 2
    title = title or name.split("-", 1)[1].replace("-", " ").capitalize()
    short = NAME.match(name).group(2)
    files = {
        paths["exercise"]: EXERCISE.format(id=paths["id"], title=title),
        paths["checks"]: CHECKS.format(id=paths["id"], docstring=_docstring_text(title),
                                       check_docstring=_docstring_text(title, of_a_check=True),
                                       short=short.replace("-", "_")),
        paths["solution"]: SOLUTION.format(id=paths["id"], docstring=_docstring_text(title)),
    }
    entry = {"id": paths["id"], "title": title, "exercise": f"../exercises/{paths['exercise'].name}",
             "checks": paths["checks"].name, "solution": f"../provision/solutions/{paths['solution'].name}",
             "writes": []}
    try:
        _write_all_or_nothing(manifest_file, entry, files)
    except manifest_mod.ManifestError as exc:
        say(f"{exc}; {shown} is as it was, and nothing was written")
        return 2
    except OSError as exc:
        failed = Path(exc.filename) if exc.filename else manifest_file
        where = relative(failed, root)
        # A new file that cannot be made is its folder's fault.
        fix = relative(failed.parent, root) if failed in files else where
        say(f"cannot write {where}: {exc.strerror or exc}; nothing was written and {shown} is as it was: "
            f"make {fix} writable, then run it again")
        return 2
    for path in files:
        say(f"wrote {relative(path, root)}")
    say(f"added {paths['id']} to {shown}; fill in the three files, then "
        f"`python -m lab lint` and `python -m lab.selftest {paths['id']}`")
    return 0



def _write_all_or_nothing(manifest_file, entry, files):
    """Write the new files and append the entry to the manifest; on any failure, remove the
    files written and put the manifest's old text back, then raise.

    The manifest is opened for writing first, so that a read-only one stops
    everything before a file is made; it is changed in place, never replaced,
    so that its owner, mode and links stay as they were."""
    written = []
    with open(manifest_file, "r+b") as manifest:
        before = manifest.read()
        try:
            for path, text in files.items():
                with open(path, "x", encoding="utf-8", newline="\n") as f:  # "x": never over another's file
                    written.append(path)
                    f.write(text)
            manifest.write(manifest_table(entry, after=before))
            manifest.flush()
            manifest_mod.load(manifest_file, import_checks=False)  # it must still read, with the new step
        except BaseException:
            manifest.truncate(len(before))
            for path in written:
                path.unlink(missing_ok=True)
            raise


def manifest_table(entry, after=b""):
    """The bytes of one [[steps]] table for the manifest, to follow its text after."""
    import tomli_w  # only `lab new` writes TOML; the checker and the guest only read it

    fields = {key: value for key, value in entry.items() if key != "writes"}
    table = "[[steps]]\n" + tomli_w.dumps(fields)
    if "writes" in entry:
        table += ("# The [shared] things its solution installs, e.g. [\"site\"] (see [shared] at the top).\n"
                  + tomli_w.dumps({"writes": entry["writes"]}))
    separator = b"\n" if after.endswith(b"\n") or not after else b"\n\n"
    return separator + table.encode("utf-8")


def _docstring_text(title, of_a_check=False):
    """The title as it can stand inside a triple-quoted docstring. A check's docstring names
    facts between braces, so there a brace of the title's own is doubled: the student reads it
    as written, and the Registry finds no fact missing."""
    text = title.replace("\\", "\\\\").replace('"', '\\"')
    return text.replace("{", "{{").replace("}", "}}") if of_a_check else text


EXERCISE = """# {title}

<!-- {id}: what the student builds in this step, and why it matters. -->

## What you will do

1. ...

## Check your work

First answer the questions under "Check your understanding" at the end of this page
(`python -m lab answer {id}` asks them), then run the check, which grades them too.

```sh host
python -m lab.check {id}
```

The checker verifies that ...

## Troubleshooting

- **A symptom.** Its cause, and how to fix it.

## Check your understanding

Answer with `python -m lab answer {id}`; `python -m lab.check {id}` grades
your answers along with your work.

**q1.** A question on why the step works as it does?

- a) the right answer
- b) a wrong one a student might give

<!-- key q1: a
if b: why b is wrong, without giving the right answer away
-->
"""

CHECKS = '''"""{id}: {docstring}."""

from lab import Fail, Registry

check = Registry()


@check(points=1)
def {short}_done(ctx):
    """{check_docstring}: the first thing the student must get right"""
    raise Fail("this check is not written yet", hint="write the check in this module, then run "
               "`python -m lab.selftest {id}`")
'''

# A Python solution, as every solution of the kit is: provision/solve.py runs it with the
# guest's python3, with provision/ (facts, guestconf, deployment) and the kit's core on its path.
SOLUTION = '''"""Reference solution of {id}: {docstring}.

provision/solve.py runs it as root in the guest, after the solutions of the steps
before it. It must be idempotent: it changes only what is not yet as the step
wants it, and reports each change with guestconf.record(), so that a second run
reports nothing. guestconf's helpers (apt_install, install_template, enable_now)
already work that way. A file other steps' solutions write too is a [shared]
thing: list it in this step's `writes` in checks/steps.toml, and install it only
`if installs("its name")` (from deployment).
"""

import sys

# For each thing the step wants: look first, and only if it is not so yet, change it
# and say what changed with record("...") (from guestconf), which solve.py counts.
sys.exit("{id}: the solution is not written yet; write it in this file, then run "
         "`python -m lab.selftest {id}`")
'''
