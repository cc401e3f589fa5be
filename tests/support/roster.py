"""A roster as an instructor writes one, for the tests of `python -m lab.grade`."""


def write_roster(folder, text):
    path = folder / "roster.csv"
    path.write_text(text, encoding="utf-8")
    return path
