"""Check functions and the registry each check module keeps them in."""

import inspect

# The kinds of guest a check can be about, as their transports' URL schemes.
GUEST_KINDS = ("vagrant", "ssh", "local")


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

    ``Registry(facts=module)`` lets docstrings name facts defined elsewhere, as
    ``{DB_PATH}``: the student reads the value, and the fact stays defined once.
    A dict of names works too, for a step's own values beside the deployment's.
    """

    def __init__(self, facts=None):
        self.checks = []
        names = facts if isinstance(facts, dict) or facts is None else vars(facts)
        self.facts = None if names is None else {k: v for k, v in names.items() if not k.startswith("_")}

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
        if self.facts is not None:
            try:
                check.description = check.description.format_map(self.facts)
            except (KeyError, IndexError, ValueError) as exc:
                raise TypeError(f"{where}: its docstring names {exc} between braces, which is no fact") from None
        self.checks.append(check)
        return check

    def __iter__(self):
        return iter(self.checks)

    def __len__(self):
        return len(self.checks)
