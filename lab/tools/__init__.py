"""The instructors' tools behind `python -m lab` and `python -m lab.grade`:
the exercise convention and its reader, lint, the step scaffold, the replay
of exercises as written, the class roster and the gradebook."""
