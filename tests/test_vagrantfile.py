"""The Vagrantfile as Vagrant reads it, without booting anything: settings,
their errors, `vagrant validate` for the default VirtualBox provider, and the
preflight's refusal of CRLF files. Debian's vagrant, run on a fresh copy of the lab."""

import subprocess

import pytest

pytestmark = pytest.mark.server


@pytest.fixture
def lab(kit):
    return kit


def vagrant(lab, *args, **env):
    import os

    clean = {k: v for k, v in os.environ.items() if not k.startswith(("LAB_", "VAGRANT_"))}
    return subprocess.run(["vagrant", *args], cwd=lab, capture_output=True, text=True, timeout=300,
                          env={**clean, "VAGRANT_CHECKPOINT_DISABLE": "1", "VAGRANT_HOME": str(lab / ".vagrant.d"),
                               **env})


@pytest.fixture
def virtualbox_path(tmp_path):
    """PATH with a stand-in VBoxManage that only reports a version.

    VirtualBox can't be installed here, and Vagrant won't read a provider's
    settings unless that provider looks installed. `vagrant validate` asks
    VBoxManage for nothing but its version, then checks the Vagrantfile's
    VirtualBox block for real.
    """
    import os

    folder = tmp_path / "vbox-bin"
    folder.mkdir()
    stand_in = folder / "VBoxManage"
    stand_in.write_text('#!/bin/sh\n[ "$1" = --version ] && echo 7.0.20r163906\n')
    stand_in.chmod(0o755)
    return f"{folder}:{os.environ['PATH']}"


def test_virtualbox_configuration_validates(lab, virtualbox_path):
    run = vagrant(lab, "validate", VAGRANT_DEFAULT_PROVIDER="virtualbox", PATH=virtualbox_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Vagrantfile validated successfully." in run.stdout


def test_virtualbox_validation_is_real(lab, virtualbox_path):
    vagrantfile = lab / "Vagrantfile"
    vagrantfile.write_text(vagrantfile.read_text().replace("vb.cpus = settings", "vb.no_such_setting = 1\n    vb.cpus = settings"))
    run = vagrant(lab, "validate", VAGRANT_DEFAULT_PROVIDER="virtualbox", PATH=virtualbox_path)
    assert run.returncode != 0
    assert "The following settings shouldn't exist: no_such_setting" in run.stdout + run.stderr


def test_libvirt_configuration_validates(lab):
    run = vagrant(lab, "validate", VAGRANT_DEFAULT_PROVIDER="libvirt")
    assert run.returncode == 0, run.stdout + run.stderr


def test_first_run_creates_lab_yml_from_the_defaults(lab):
    assert not (lab / "lab.yml").exists()
    vagrant(lab, "validate")
    assert (lab / "lab.yml").read_text() == (lab / "lab.default.yml").read_text()


@pytest.mark.parametrize("env, yml, message", [
    ({"LAB_HTTP_PORT": "abc"}, None,
     'lab settings: http_port must be a whole number, got "abc" (from the environment variable LAB_HTTP_PORT)'),
    ({"LAB_MEMORY": "100"}, None,
     'lab settings: memory must be between 512 and 65536 (MiB), got "100" (from the environment variable LAB_MEMORY)'),
    ({"LAB_PROVIDER_DRIVER": "xen"}, None,
     'lab settings: provider_driver must be kvm or qemu, got "xen" (from the environment variable LAB_PROVIDER_DRIVER)'),
    ({}, "http_port: 80\n", 'lab settings: http_port must be a port number from 1024 to 65535, got 80 (from lab.yml)'),
    ({}, "colour: red\n", "lab settings: lab.yml has unknown setting(s) colour; the settings are box,"),
    ({}, "memory: [1\n", "lab settings: lab.yml is not valid YAML (line 1)"),
    ({}, "insert_key: maybe\n", 'lab settings: insert_key must be true or false, got "maybe" (from lab.yml)'),
])
def test_bad_settings_stop_with_one_sentence(lab, env, yml, message):
    if yml is not None:
        (lab / "lab.yml").write_text(yml)
    run = vagrant(lab, "validate", **env)
    assert run.returncode != 0
    output = (run.stdout + run.stderr).strip()
    assert output.startswith(message), output
    assert len(output.splitlines()) == 1


def test_settings_from_lab_yml_and_environment(lab):
    (lab / "lab.yml").write_text("http_port: 8600\nmemory: 2048\n")
    run = vagrant(lab, "validate", LAB_CPUS="4")
    assert run.returncode == 0, run.stdout + run.stderr


def test_preflight_refuses_crlf_files(lab):
    script = lab / "provision" / "base.sh"
    script.write_bytes(script.read_bytes().replace(b"\n", b"\r\n"))
    run = vagrant(lab, "up", "--provider=libvirt", LAB_BOX="no-such-box-needed")
    output = run.stdout + run.stderr
    assert run.returncode != 0
    assert "| line endings  CRLF in 1 file(s)" in output
    assert "lab preflight: CRLF line endings in provision/base.sh" in output
    assert "git config --global core.autocrlf input" in output
    assert not (lab / ".vagrant" / "machines" / "default" / "libvirt" / "id").exists()


def test_every_command_with_a_variable_has_its_powershell_form(lab):
    """`LAB_X=1 vagrant ...` is bash's; Windows students need `$env:LAB_X=1; vagrant ...`, given beside it."""
    import re

    files = [lab / "Vagrantfile", lab / "lab.default.yml", *sorted((lab / "lab" / "vagrantfile").glob("*.rb"))]
    found = 0
    for file in files:
        text = file.read_text()
        for match in re.finditer(r"(?<![$:\w])(LAB_[A-Z_]+)=(\S+) (vagrant[^`\n]*)", text):
            name, value, command = match.groups()
            found += 1
            nearby = text[match.end():match.end() + 300]
            assert f"$env:{name}={value}; {command.strip()}" in nearby, f"{file.name}: {match.group(0)}"
    assert found >= 3


def test_the_box_add_example_names_the_pinned_version(lab):
    """The Vagrantfile's `vagrant box add` line must follow lab.default.yml's box and box_version."""
    import re

    defaults = (lab / "lab.default.yml").read_text()
    box = re.search(r"^box: (\S+)$", defaults, re.M).group(1)
    version = re.search(r'^box_version: "([^"]+)"', defaults, re.M).group(1)
    assert f"vagrant box add {box} --box-version {version} --provider " in (lab / "Vagrantfile").read_text()
