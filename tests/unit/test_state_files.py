"""Damaged state files (.lab/progress.json, .lab/vagrant.json), in process: set aside or
looked up again, never a crash, and runs at once keep each other's scores."""

import json
import threading
from types import SimpleNamespace

import pytest

from lab.engine.progress import load, record, status_table
from lab.transports.vagrant import VagrantTransport
from tests.support.progress_files import entry, progress_text


def report(**scores):
    """A report of full steps with these scores out of 6, as record() reads it."""
    return SimpleNamespace(steps=[SimpleNamespace(step=SimpleNamespace(id=step_id), score=score, max_score=6)
                                  for step_id, score in scores.items()])


# --- progress.json of the wrong shape: set aside, never a crash -------------------------

DAMAGED = {
    "steps is a list": progress_text([]),
    "best is null": progress_text({"good": {"last": 2, "best": None, "max": 6, "checked_at": "x"}}),
    "a list": "[]",
    "a number": "7",
    "steps is null": progress_text(None),
    "an entry is a string": progress_text({"good": "6/6"}),
    "half a file": '{"format_version": 1, "steps": {"good": {"la',
    "empty": "",
    "not UTF-8": b'{"format_version": 1, "steps": {"\xff": 1}}',
    "a newer format": progress_text({"good": entry(6, 6)}, version=2),
    # Deeper than Python's recursion limit: the json module's RecursionError, not a ValueError.
    "nested too deeply": "[" * 100_000,
    "steps nested too deeply": '{"format_version": 1, "steps": ' + '{"a": ' * 100_000,
}


@pytest.mark.parametrize("content", DAMAGED.values(), ids=DAMAGED.keys())
def test_a_damaged_progress_file_is_set_aside_and_a_new_one_started(tmp_path, content):
    state = tmp_path / ".lab"
    state.mkdir()
    original = content if isinstance(content, bytes) else content.encode()
    (state / "progress.json").write_bytes(original)

    notes = record(state, report(good=4))

    aside = sorted(state.glob("progress.json.corrupt-*"))
    assert len(aside) == 1, notes
    assert aside[0].read_bytes() == original, "the damaged file is kept as it was"
    assert len(notes) == 1 and f"set aside as {aside[0]}" in notes[0]
    saved = json.loads((state / "progress.json").read_text())
    assert saved["steps"]["good"]["last"] == 4 and saved["steps"]["good"]["best"] == 4


@pytest.mark.parametrize("content", DAMAGED.values(), ids=DAMAGED.keys())
def test_the_status_table_reads_a_damaged_progress_file_as_no_scores(tmp_path, content):
    (tmp_path / "progress.json").write_bytes(content if isinstance(content, bytes) else content.encode())
    manifest = SimpleNamespace(steps=[SimpleNamespace(id="good", title="Everything passes", max_points=6)])
    lines = status_table(manifest, tmp_path)
    assert lines[2].split()[-3:] == ["-", "-", "never"]


def test_the_readable_scores_of_a_damaged_file_are_kept(tmp_path):
    (tmp_path / "progress.json").write_text(progress_text({
        "mixed": entry(3, 5), "stuck": {"last": 1, "best": "lots", "max": 4, "checked_at": "x"}}))
    notes = record(tmp_path, report(good=6))
    assert len(notes) == 1 and "set aside" in notes[0]
    steps = json.loads((tmp_path / "progress.json").read_text())["steps"]
    assert steps["mixed"] == entry(3, 5)
    assert steps["good"]["best"] == 6
    assert "stuck" not in steps
    assert load(tmp_path) == steps


def test_a_sound_progress_file_keeps_the_best_score_without_a_word(tmp_path):
    (tmp_path / "progress.json").write_text(progress_text({"good": entry(6, 6)}))
    assert record(tmp_path, report(good=2)) == []
    assert load(tmp_path)["good"] == {**load(tmp_path)["good"], "last": 2, "best": 6}
    assert not list(tmp_path.glob("*.corrupt-*"))


def test_a_progress_file_that_cannot_be_read_is_left_alone(tmp_path):
    # A folder where the file should be: unreadable as a file even for root.
    (tmp_path / "progress.json").mkdir()
    (tmp_path / "progress.json" / "inside").write_text("kept")
    notes = record(tmp_path, report(good=2))
    assert len(notes) == 1 and notes[0].startswith("progress could not be saved")
    assert str(tmp_path / "progress.json") in notes[0]
    assert (tmp_path / "progress.json" / "inside").read_text() == "kept"


def test_a_state_folder_that_cannot_be_made_means_unsaved_not_a_crash(tmp_path):
    (tmp_path / "file").write_text("")
    notes = record(tmp_path / "file" / ".lab", report(good=2))
    assert len(notes) == 1 and notes[0].startswith("progress could not be saved")


def test_runs_at_once_neither_crash_nor_lose_each_others_scores(tmp_path):
    """Each thread is a run of its own step, saving again and again in the same folder."""
    errors, notes = [], []

    def run(step_id):
        try:
            for score in range(40):
                notes.extend(record(tmp_path, report(**{step_id: score % 7})))
        except Exception as exc:  # the test reports it below, with the others
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(f"step{n}",)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and notes == []
    steps = load(tmp_path)
    assert sorted(steps) == [f"step{n}" for n in range(6)]
    assert all(s["best"] == 6 and s["last"] == 39 % 7 for s in steps.values())
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("progress.json")) == ["progress.json"]


# --- .lab/vagrant.json of the wrong types: looked up again --------------------------------

GOOD_CACHE = {"id": "abc", "host": "127.0.0.1", "port": 2222, "user": "vagrant", "key": "/k/private_key",
              "http_port": 8500, "https_port": 8443}
BAD_CACHES = {
    "a list": [GOOD_CACHE],
    "port is text": {**GOOD_CACHE, "port": "22x"},
    "port is null": {**GOOD_CACHE, "port": None},
    "port out of range": {**GOOD_CACHE, "port": 70000},
    "http_port is text": {**GOOD_CACHE, "http_port": "8500"},
    "https_port is true": {**GOOD_CACHE, "https_port": True},
    "host is a number": {**GOOD_CACHE, "host": 127},
    "key is a number": {**GOOD_CACHE, "key": 5},
    "user is a list": {**GOOD_CACHE, "user": ["vagrant"]},
}


@pytest.fixture
def vagrant_machine(tmp_path, monkeypatch):
    """A VagrantTransport for a machine with id "abc" whose lookups and connection are stand-ins."""
    machine = tmp_path / ".vagrant" / "machines" / "default" / "libvirt"
    machine.mkdir(parents=True)
    (machine / "id").write_text("abc")
    transport = VagrantTransport(tmp_path, "default", tmp_path / ".lab" / "vagrant.json")
    fresh = {**GOOD_CACHE, "port": 2200, "http_port": 8600}
    transport.lookups = []
    monkeypatch.setattr(transport, "_discover", lambda: transport.lookups.append(1) or fresh)
    monkeypatch.setattr(transport, "connect", lambda: None)
    monkeypatch.setattr(transport, "_web_port_answers", lambda port: True)
    return transport


@pytest.mark.parametrize("cache", BAD_CACHES.values(), ids=BAD_CACHES.keys())
def test_a_vagrant_cache_of_the_wrong_types_is_looked_up_again(vagrant_machine, cache):
    vagrant_machine.cache_file.parent.mkdir()
    vagrant_machine.cache_file.write_text(json.dumps(cache))
    vagrant_machine.open()
    assert vagrant_machine.lookups == [1]
    assert (vagrant_machine.port, vagrant_machine.http_base) == (2200, "http://127.0.0.1:8600")


def test_a_vagrant_cache_nested_too_deeply_is_looked_up_again(vagrant_machine):
    vagrant_machine.cache_file.parent.mkdir()
    vagrant_machine.cache_file.write_text("[" * 100_000)
    vagrant_machine.open()
    assert vagrant_machine.lookups == [1]
    assert (vagrant_machine.port, vagrant_machine.http_base) == (2200, "http://127.0.0.1:8600")


def test_vagrant_settings_nested_too_deeply_fall_back_to_the_lab_settings(tmp_path, monkeypatch):
    from lab.transports.vagrant import configured_port

    monkeypatch.delenv("LAB_HTTP_PORT", raising=False)
    (tmp_path / ".lab").mkdir()
    (tmp_path / ".lab" / "settings.json").write_text('{"http_port": ' + "[" * 100_000)
    (tmp_path / "lab.yml").write_text("http_port: 8700\n")
    assert configured_port(tmp_path, "http_port") == 8700


def test_a_kit_solved_record_nested_too_deeply_reads_as_none():
    from lab.core import solved

    assert solved.parse("[" * 100_000) == {}


def test_a_sound_vagrant_cache_is_used(vagrant_machine):
    vagrant_machine.cache_file.parent.mkdir()
    vagrant_machine.cache_file.write_text(json.dumps(GOOD_CACHE))
    vagrant_machine.open()
    assert vagrant_machine.lookups == []
    assert (vagrant_machine.port, vagrant_machine.key) == (2222, "/k/private_key")
