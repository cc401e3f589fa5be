"""lab/core/schema.py: the one table-driven check of the manifest's entries, a saved results
dictionary and the kit's cached settings."""

from lab.core import schema
from lab.core.schema import Field, Problem

TABLE = {
    "name": Field((str,), allowed=bool, wanted="a name"),
    "port": Field((int,), allowed=range(1, 65536)),
    "mode": Field((str,), required=False, allowed=("a", "b")),
    "note": Field((str, type(None))),
}


def test_a_sound_dictionary_has_no_problems():
    assert schema.problems({"name": "x", "port": 22, "note": None}, TABLE) == []
    assert schema.problems({"name": "x", "port": 22, "note": None, "extra": 1}, TABLE) == []


def test_problems_come_shape_first_then_values_then_unknown_keys():
    data = {"extra": 1, "name": "", "port": "22", "mode": "c"}
    assert [(p.key, p.kind) for p in schema.problems(data, TABLE, others_allowed=False)] == [
        ("port", schema.WRONG_TYPE), ("note", schema.MISSING),
        ("name", schema.NOT_ALLOWED), ("mode", schema.NOT_ALLOWED), ("extra", schema.UNKNOWN)]
    assert schema.problems({"name": "x", "port": 0, "note": ""}, TABLE) == [
        Problem("port", schema.NOT_ALLOWED, 0, TABLE["port"])]


def test_true_and_false_are_no_numbers():
    assert not schema.fits(True, TABLE["port"])
    assert schema.is_a(True, (bool,)) and schema.is_a(True, (object,))
    assert not schema.is_a(1, (float,)) and schema.is_a(1.5, (int, float))


def test_one_of_reads_as_a_sentence():
    assert schema.one_of(("count", "flag", "zero")) == 'one of "count", "flag" or "zero"'
    assert schema.one_of(("only",)) == '"only"'
