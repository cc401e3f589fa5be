"""What a reference solution installs is what the exercise hands out: a student who
runs `LAB_SOLVE_TO=stepN vagrant provision --provision-with solution` finds the
files the exercise describes. The kit's templates carry comments of their own, so
a unit or a config is compared by its settings (every line that is not a comment
or blank); a program, by its text."""

import pytest

from lab.core.manifest import load
from lab.tools.exercise import actions
from tests.support.provision import deployment, guestconf

MANIFEST = load()


def written(step_id, path):
    """The content of the file the step's exercise writes at path (its last whole-file block)."""
    blocks = [a.text for a in actions(MANIFEST.step(step_id).exercise) if a.kind == "file" and a.path == path]
    assert blocks, f"{step_id}'s exercise writes no {path}"
    return blocks[-1]


def settings(text, comment="#"):
    return [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith(comment)]


@pytest.mark.parametrize("step_id, path, template, compare", [
    ("step12", deployment.HELLO_FILE, "wsgi/hello.py.j2", "text"),
    ("step12", f"/etc/systemd/system/{deployment.CHEROOT_SERVICE}", "systemd/likes-cheroot.service.j2", "settings"),
], ids=["step12-hello.py", "step12-cheroot-unit"])
def test_the_solution_installs_what_the_exercise_writes(step_id, path, template, compare):
    exercise, solution = written(step_id, path), guestconf.render(template)
    if compare == "text":
        assert solution == exercise
    else:
        assert settings(solution) == settings(exercise)


def test_the_upstream_of_step_12_lists_cheroot_after_the_instances(monkeypatch):
    monkeypatch.setenv("LAB_SOLVE_STEPS", " ".join(MANIFEST.ids()))
    assert deployment.app_servers() == [f"unix:{deployment.instance_socket(n)}" for n in ("1", "2", "3")] + \
        [f"unix:{deployment.CHEROOT_SOCKET}"]
    monkeypatch.setenv("LAB_SOLVE_STEPS", " ".join(MANIFEST.ids()[:-1]))
    assert f"unix:{deployment.CHEROOT_SOCKET}" not in deployment.app_servers()
