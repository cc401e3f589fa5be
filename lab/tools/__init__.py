"""The instructors' tools behind `python -m lab` and `python -m lab.grade`:
the exercise convention and its reader, lint, the step scaffold, the replay
of exercises as written, the class roster and the gradebook."""


def say(message):
    """One line of `python -m lab`'s own, as its tools all speak."""
    print(f"lab: {message}", flush=True)


def relative(path, root):
    """path as the instructor reads it, from the kit's folder when it is inside it."""
    try:
        return path.relative_to(root)
    except ValueError:
        return path
