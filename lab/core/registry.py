"""Check functions and the registry each check module keeps them in."""

import importlib
import inspect
import string

from lab.core.guests import GUEST_KINDS

# The deployment's facts (provision/facts.py), which every check's docstring may name, as
# {APP}. By module name, imported only when a docstring first names one: the guest
# (solve.py) reads the manifest without importing a check module, and facts.py reads
# $LAB_FOLDER, which the manifest's loader sets from a course's settings first.
DEPLOYMENT_FACTS = "provision.facts"


class Check:
    """A check: a function of a context, with points, dependencies and a timeout.

    Its name is the function's name; its description, which the student reads,
    is the function's docstring.
    """

    def __init__(self, func, points, depends, timeout, applies_to=None):
        self.func = func
        # The kinds of guest (transport schemes) the check is about, or None for every kind.
        self.applies_to = applies_to
        self.name = func.__name__
        self.description = " ".join((inspect.getdoc(func) or "").split("\n\n")[0].split())
        self.points = points
        self.depends = depends
        self.timeout = timeout
        self.step = None  # set by the manifest loader
        # Its points are the questions' score, apart from the step's (a concept question of a course
        # whose questions = "separate"); set by lab/core/questions.py.
        self.separate = False

    @property
    def id(self):
        return f"{self.step}.{self.name}" if self.step else self.name

    def applies_on(self, scheme):
        """Whether the check is about a guest of this kind (its transport's scheme, "ssh")."""
        return self.applies_to is None or scheme in self.applies_to

    def __call__(self, ctx):
        return self.func(ctx)

    def __repr__(self):
        return f"<Check {self.id}>"


class Registry:
    """The checks of one module, in the order they are defined.

    Use an instance as the decorator: ``check = Registry()`` then
    ``@check(points=2, depends=nginx_running, timeout=10)``.

    A docstring names the deployment's facts between braces, as ``{DB_PATH}``:
    the student reads the value, and the fact stays defined once. A brace the
    student should read is written twice, ``{{`` or ``}}``. A name that is no
    fact stops the import of the module, so a typo never reaches a student.
    ``Registry(facts=...)`` adds a step's own values (a dict, or a module's
    public names) beside the deployment's.
    """

    def __init__(self, facts=None):
        self.checks = []
        names = {} if facts is None else facts if isinstance(facts, dict) else vars(facts)
        self.own_facts = _public(names)
        self._facts = None  # the deployment's with the module's own over them, read when first needed

    @property
    def facts(self):
        """Every name a docstring of this registry's checks may use."""
        if self._facts is None:
            self._facts = {**_public(vars(importlib.import_module(DEPLOYMENT_FACTS))), **self.own_facts}
        return self._facts

    def __call__(self, func=None, *, points=1, depends=(), timeout=30, applies_to=None):
        """``applies_to=("vagrant",)``: the check is about something only those kinds of
        guest have (a Vagrant VM's shared folder); on others it is not applicable and
        counts neither way."""
        if func is not None:  # used bare, as @check
            return self._register(func, points, depends, timeout, applies_to)
        return lambda f: self._register(f, points, depends, timeout, applies_to)

    def _register(self, func, points, depends, timeout, applies_to=None):
        where = f"check {func.__module__}.{func.__name__}"
        if not inspect.getdoc(func):
            raise TypeError(f"{where} has no docstring: its first line is what the student reads")
        if isinstance(points, bool) or not isinstance(points, int) or points <= 0:
            raise TypeError(f"{where}: points must be a positive whole number, got {points!r}")
        if not isinstance(timeout, (int, float)) or timeout <= 0:
            raise TypeError(f"{where}: timeout must be a positive number of seconds, got {timeout!r}")
        if isinstance(depends, Check):
            depends = (depends,)
        depends = tuple(depends)
        for dep in depends:
            if not isinstance(dep, Check):
                raise TypeError(f"{where}: depends must name checks, got {dep!r}")
        if applies_to is not None:
            applies_to = (applies_to,) if isinstance(applies_to, str) else tuple(applies_to)
            unknown = [kind for kind in applies_to if kind not in GUEST_KINDS]
            if unknown or not applies_to:
                raise TypeError(f"{where}: applies_to names kinds of guest, from {', '.join(GUEST_KINDS)}; "
                                f"got {applies_to!r}")
        check = Check(func, points, depends, timeout, applies_to)
        check.description = self._with_facts(check.description, where)
        self.checks.append(check)
        return check

    def _with_facts(self, text, where):
        """text with each {NAME} replaced by the fact's value; TypeError, saying which name, if one is no fact."""
        if "{" not in text and "}" not in text:
            return text  # nothing to look up: a module whose docstrings name no fact needs none
        doubled = "write {{ or }} for a brace the student reads"
        try:
            fields = [name for _, name, _, _ in string.Formatter().parse(text) if name is not None]
        except ValueError:
            raise TypeError(f"{where}: its docstring has a single {{ or }} that opens or closes nothing; "
                            f"{doubled}") from None
        for field in fields:
            # {APP}, or {APP.upper} and {PORTS[0]}: the fact is the name before any . or [.
            name = field.split(".", 1)[0].split("[", 1)[0]
            if name not in self.facts:
                import difflib  # only to suggest a name, when a docstring has a typo

                close = difflib.get_close_matches(name, list(self.facts), n=1)
                guess = f"; did you mean {{{close[0]}}}?" if close else ""
                raise TypeError(f"{where}: its docstring names {{{field}}}, and {name or 'an empty name'!r} is no "
                                f"fact of the deployment (provision/facts.py) or of the module{guess} "
                                f"({doubled})")
        try:
            return text.format_map(self.facts)
        except (AttributeError, LookupError, TypeError, ValueError) as exc:  # {APP.nope}, {PORTS[9]}, {APP:d}
            raise TypeError(f"{where}: its docstring's braces cannot show a fact: {type(exc).__name__}: {exc} "
                            f"({doubled})") from None

    def __iter__(self):
        return iter(self.checks)

    def __len__(self):
        return len(self.checks)


def _public(names):
    return {k: v for k, v in names.items() if not k.startswith("_")}
