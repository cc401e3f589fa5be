"""The class roster of `python -m lab.grade`: a CSV file of students and their guests,
read or refused line by line, and the students --only chooses."""

import csv
import unicodedata
from dataclasses import dataclass
from urllib.parse import urlsplit

from lab.core.outcomes import CouldNotCheck

REQUIRED = ("student", "guest")
# Names Windows refuses for a file or folder, whatever the extension.
WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{n}" for n in range(1, 10)), *(f"LPT{n}" for n in range(1, 10))}


class RosterError(Exception):
    """A roster, gradebook or --only that cannot be used; the message is one line naming the file and line."""


@dataclass
class Student:
    name: str
    guest: str
    columns: dict  # the roster's own columns, as the roster spells them
    line: int
    folder: str  # a file name made from the name: the student's folder in --out


def safe_name(name):
    """A file name for a student: letters, digits, '.', '-' and '_' kept, anything else '_'.

    "" when nothing usable is left (a name of only dots, say)."""
    name = unicodedata.normalize("NFC", name)
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in name).lstrip(".-")[:100]
    if safe.strip("_") == "":
        return ""
    if safe.split(".")[0].upper() in WINDOWS_RESERVED:
        safe = "_" + safe
    return safe


def read_roster(path, reserved=()):
    """The roster's header and its students, in order; raises RosterError naming file:line.

    reserved: column names the gradebook writes itself (the step ids and TAIL),
    which a roster column may not take."""
    from lab.tools.gradebook import GRADEBOOK  # the file beside the students' folders in --out
    from lab.transports import check_url

    rows = _read_csv(path)
    if not rows:
        raise RosterError(f"{path}:1: the file is empty; its first line must be a header such as student,guest")
    header_line, header = rows[0]
    header = [name.strip() for name in header]
    folded = [name.casefold() for name in header]
    for i, name in enumerate(header):
        if not name:
            raise RosterError(f"{path}:{header_line}: column {i + 1} of the header has no name")
        if folded.index(name.casefold()) != i:
            raise RosterError(f"{path}:{header_line}: the header has the column {name!r} twice")
        if name.casefold() in {r.casefold() for r in reserved}:
            raise RosterError(f"{path}:{header_line}: the column {name!r} is one the gradebook writes itself; "
                              f"rename it")
    missing = [c for c in REQUIRED if c not in folded]
    if missing:
        raise RosterError(f"{path}:{header_line}: the header has no {' and no '.join(repr(c) for c in missing)} "
                          f"column; it needs student and guest (found {', '.join(header)})")
    name_at, guest_at = folded.index("student"), folded.index("guest")

    students, by_name, by_folder = [], {}, {GRADEBOOK.casefold(): None}
    for line, row in rows[1:]:
        where = f"{path}:{line}"
        if len(row) > len(header):
            raise RosterError(f"{where}: {len(row)} values, but the header has {len(header)} columns; "
                              f"put a value that holds a comma in double quotes")
        row = row + [""] * (len(header) - len(row))
        name, guest = row[name_at].strip(), row[guest_at].strip()
        if not name:
            raise RosterError(f"{where}: no student name")
        if name in by_name:
            raise RosterError(f"{where}: {name!r} is already on line {by_name[name].line}; "
                              f"give each student one row")
        if not guest:
            raise RosterError(f"{where}: {name} has no guest address; give ssh://user@host:port?key=PATH")
        try:
            check_url(guest)  # every part of it, before any student is graded
        except CouldNotCheck as exc:
            raise RosterError(f"{where}: {name}: {exc.one_line()}") from None
        if urlsplit(guest).scheme == "vagrant":
            raise RosterError(f"{where}: {name}'s guest is {guest}: a class is graded over SSH; "
                              f"give ssh://user@host:port?key=PATH")
        folder = safe_name(name)
        if not folder:
            raise RosterError(f"{where}: {name!r} makes no usable file name; use letters or digits in it")
        if folder.casefold() in by_folder:
            other = by_folder[folder.casefold()]
            clash = (f"{other.name!r} (line {other.line})" if other else f"the {GRADEBOOK} file")
            raise RosterError(f"{where}: {name!r} and {clash} would share the file name {folder!r}; "
                              f"make the names differ by more than case or punctuation")
        student = Student(name, guest, {h: v for h, v in zip(header, row)}, line, folder)
        student.columns[header[name_at]], student.columns[header[guest_at]] = name, guest
        students.append(student)
        by_name[name] = by_folder[folder.casefold()] = student
    if not students:
        raise RosterError(f"{path}:{header_line}: no students below the header")
    return header, students


def _read_csv(path):
    """[(line number where the row starts, [values])] of the non-blank rows."""
    rows = []
    try:
        # utf-8-sig: Excel's "CSV UTF-8" starts with a byte order mark.
        with open(path, newline="", encoding="utf-8-sig") as f:
            # strict: a double quote never closed is an error, not the rest of the file in one value.
            reader = csv.reader(f, strict=True)
            ended = 0
            for row in reader:
                if any(value.strip() for value in row):
                    rows.append((ended + 1, row))
                ended = reader.line_num
    except FileNotFoundError:
        raise RosterError(f"{path}: there is no such file") from None
    except UnicodeDecodeError:
        raise RosterError(f"{path}: not UTF-8 text; save it as CSV UTF-8") from None
    except csv.Error as exc:
        raise RosterError(f"{path}:{ended + 1}: not CSV this tool can read ({exc}); is a double quote "
                          f"left open?") from None
    except OSError as exc:
        raise RosterError(f"{path}: cannot read it: {exc.strerror or exc}") from None
    return rows


def choose(students, only, roster):
    """The students --only names, in roster order; all of them without --only."""
    if only is None:
        return students
    names = [n.strip() for n in only.split(",") if n.strip()]
    if not names:
        raise RosterError("--only names no student; write --only alice,bob")
    known = {s.name for s in students}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise RosterError(f"--only: {roster} has no student {unknown[0]!r}")
    return [s for s in students if s.name in names]
