"""lab.default.yml and lab.yml as Python reads them, and the facts read from them and from
provision/facts.py rather than written again."""

import subprocess
import sys

import pytest

from lab.core import labyml
from lab.tools import exercise
from provision import facts
from tests.support.localservers import REPO


@pytest.mark.parametrize("text, name, value", [
    ("hostname: lab\n", "hostname", "lab"),
    ("http_port: 8600  # mine\n", "http_port", "8600"),
    ('box_version: "202510.26.0"\n', "box_version", "202510.26.0"),  # quoted, as lab.default.yml pins it
    ("libvirt_pool: ''\n", "libvirt_pool", ""),
    ("name: likes-lab\nhostname: web1\n", "hostname", "web1"),
    ("# hostname: old\nhostname: new\n", "hostname", "new"),  # a commented-out line is no setting
    ("  hostname: nested\n", "hostname", None),  # not top level
    ("name: lab\n", "hostname", None),
])
def test_a_setting_is_read_as_yaml_reads_it(text, name, value):
    assert labyml.read_value(text, name) == value


def test_the_students_file_wins_over_the_kits(tmp_path):
    (tmp_path / labyml.DEFAULTS_FILE).write_text("http_port: 8500\nhttps_port: 8443\n")
    (tmp_path / labyml.OWN_FILE).write_text("https_port: 9443\n")
    assert labyml.values(tmp_path, "https_port") == ["9443", "8443"]
    assert labyml.values(tmp_path, "http_port") == ["8500"]
    assert labyml.values(tmp_path / "gone", "http_port") == []


def test_the_exercises_prompt_is_the_kits_guest_user_and_host_name():
    hostname = labyml.read_value((REPO / "lab.default.yml").read_text(encoding="utf-8"), "hostname")
    assert exercise.SHOWN_PROMPT == f"{facts.GUEST_USER}@{hostname}:DIR$ "
    assert exercise.GUEST_PROMPT.match(f"{facts.GUEST_USER}@{hostname}:~$ ls").group("command") == "ls"


def test_the_exercise_tools_leave_provision_facts_to_the_checks():
    # Imported early, provision.facts would keep the LAB_FOLDER of before a course's manifest sets it.
    code = "import sys, lab.tools.exercise; print('provision.facts' in sys.modules)"
    run = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "False"
