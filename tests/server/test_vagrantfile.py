"""The Vagrantfile as Vagrant reads it, without booting anything, Debian's vagrant run on
a fresh copy of the lab: settings, their errors, `vagrant validate` for the default
VirtualBox provider, and the preflight's refusal of CRLF files; then the Vagrantfile on
a student's own computer: a VM name unique to each lab folder, folders named with
spaces, accents and wildcards, the resolved settings in .lab/settings.json, VBoxManage
where the Windows installer puts it, and the host ports Vagrant really forwards.

The preflight and the forwarded-port object also run under plain `ruby`
(tests/ holds only Python, so the harness is a string below), with a
stand-in for the little of Vagrant they use: no VM is needed."""

import json
import re
import shutil
import subprocess

import pytest

from tests.support.guesthost import COPY_IGNORE


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


# --- the Vagrantfile on a student's own computer -----------------------------------

SETTING_NAMES = ["box", "box_version", "name", "hostname", "memory", "cpus", "http_port", "https_port",
                 "provider_driver", "libvirt_pool", "guest_os", "insert_key", "boot_timeout"]


def resolved(lab):
    return json.loads((lab / ".lab" / "settings.json").read_text())


def copy_of(lab, folder):
    folder.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(lab, folder, ignore=COPY_IGNORE)
    return folder


@pytest.fixture
def odd_lab(kit, tmp_path):
    """The lab in a folder like a student's: a space, an accent and glob wildcards in its path."""
    return copy_of(kit, tmp_path / "Users" / "Jane Doé" / "my lab [2] {copy}")


def test_each_lab_folder_gets_its_own_stable_vm_name(kit, tmp_path, virtualbox_path):
    second = copy_of(kit, tmp_path / "second" / "kit")
    names = []
    for lab in (kit, second, kit, second):
        run = vagrant(lab, "validate", VAGRANT_DEFAULT_PROVIDER="virtualbox", PATH=virtualbox_path)
        assert run.returncode == 0, run.stdout + run.stderr
        names.append(resolved(lab)["vm_name"])
    assert re.fullmatch(r"likes-lab-[0-9a-f]{8}", names[0]), names
    assert names[0] != names[1]
    assert names[2:] == names[:2]


def test_vm_name_follows_the_name_setting(kit):
    first = vagrant(kit, "validate", VAGRANT_DEFAULT_PROVIDER="libvirt")
    default = resolved(kit)["vm_name"]
    second = vagrant(kit, "validate", VAGRANT_DEFAULT_PROVIDER="libvirt", LAB_NAME="my-vm")
    assert first.returncode == second.returncode == 0, first.stderr + second.stderr
    assert resolved(kit)["vm_name"] == "my-vm-" + default.rsplit("-", 1)[1]


def test_resolved_settings_are_typed_as_vagrant_reads_them(kit):
    (kit / "lab.yml").write_text('http_port: "8501"\ninsert_key: "no"\nmemory: 2048\n')
    run = vagrant(kit, "validate", VAGRANT_DEFAULT_PROVIDER="libvirt", LAB_CPUS="3")
    assert run.returncode == 0, run.stdout + run.stderr
    settings = resolved(kit)
    assert list(settings) == SETTING_NAMES + ["vm_name"]
    assert settings["http_port"] == 8501
    assert settings["https_port"] == 8443
    assert settings["insert_key"] is False
    assert settings["memory"] == 2048
    assert settings["cpus"] == 3
    assert settings["box_version"] == "202510.26.0"  # lab.default.yml's pin


def test_environment_variable_reaches_the_resolved_settings(kit):
    run = vagrant(kit, "validate", VAGRANT_DEFAULT_PROVIDER="libvirt", LAB_HTTP_PORT="8501")
    assert run.returncode == 0, run.stdout + run.stderr
    assert resolved(kit)["http_port"] == 8501


def test_resolved_settings_are_rewritten_only_when_they_change(kit):
    file = kit / ".lab" / "settings.json"
    vagrant(kit, "validate", VAGRANT_DEFAULT_PROVIDER="libvirt")
    before = file.stat()
    vagrant(kit, "validate", VAGRANT_DEFAULT_PROVIDER="libvirt")
    after = file.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    vagrant(kit, "validate", VAGRANT_DEFAULT_PROVIDER="libvirt", LAB_MEMORY="2048")
    assert resolved(kit)["memory"] == 2048
    assert sorted(p.name for p in file.parent.iterdir()) == ["settings.json"]  # no temp file left


def test_an_unwritable_lab_folder_does_not_stop_vagrant(kit):
    (kit / ".lab").write_text("a file where the folder should be\n")
    run = vagrant(kit, "validate", VAGRANT_DEFAULT_PROVIDER="libvirt")
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.strip() == "Vagrantfile validated successfully."


def test_odd_folder_name_validates(odd_lab, virtualbox_path):
    for env in ({"VAGRANT_DEFAULT_PROVIDER": "virtualbox", "PATH": virtualbox_path},
                {"VAGRANT_DEFAULT_PROVIDER": "libvirt"}):
        run = vagrant(odd_lab, "validate", **env)
        assert run.returncode == 0, run.stdout + run.stderr
    assert re.fullmatch(r"likes-lab-[0-9a-f]{8}", resolved(odd_lab)["vm_name"])


def test_preflight_in_odd_folder_name_finds_crlf(odd_lab):
    """The preflight's glob must not read the folder's "[2]" or "{copy}" as wildcards."""
    script = odd_lab / "provision" / "base.sh"
    script.write_bytes(script.read_bytes().replace(b"\n", b"\r\n"))
    run = vagrant(odd_lab, "up", "--provider=libvirt", LAB_BOX="no-such-box-needed")
    output = run.stdout + run.stderr
    assert run.returncode != 0
    assert "| line endings  CRLF in 1 file(s)" in output
    assert "lab preflight: CRLF line endings in provision/base.sh:" in output


@pytest.mark.parametrize("command", ["provision", "reload"])
def test_forwarded_port_trigger_runs_before_provisioning_commands(kit, command):
    """The trigger that hands the machine to the solution's LAB_HTTPS_PORT fires before `vagrant provision`
    and `reload` (and `up`, like the preflight); with no VM, Vagrant then stops as usual."""
    run = vagrant(kit, command, "--provision-with", "solution", VAGRANT_DEFAULT_PROVIDER="libvirt")
    assert "Running trigger: lab forwarded ports..." in run.stdout, run.stdout + run.stderr
    assert "Domain is not created" in run.stdout + run.stderr


HARNESS = r'''
# Loads lab/vagrantfile/preflight.rb and lab/vagrantfile/forwarded_ports.rb without Vagrant: a stand-in
# for Vagrant's error class and a fake machine described by a JSON spec.
require "json"

module Vagrant
  VERSION = ENV.fetch("FAKE_VAGRANT_VERSION", "2.3.4")
  module Errors
    class VagrantError < StandardError
      def initialize(*)
        super("vagrant error")
      end
    end
  end
end

root, mode, spec = ARGV[0], ARGV[1], JSON.parse(ARGV[2])
require File.join(root, "lab", "vagrantfile", "settings")
require File.join(root, "lab", "vagrantfile", "preflight")

# The Ruby of Errno::EACCES where Windows reserves a port (Hyper-V, WSL), or
# EADDRINUSE where a program listens: TCPServer.new raises it for these ports.
REFUSED = { "reserved" => Errno::EACCES, "in use" => Errno::EADDRINUSE }.freeze
class TCPServer
  class << self
    alias_method :real_new, :new

    def new(host, port)
      refused = JSON.parse(ARGV[2]).fetch("refused", {})[port.to_s]
      raise REFUSED.fetch(refused), "stand-in" if refused

      real_new(host, port)
    end
  end
end

class FakeProvider
  def initialize(spec)
    @spec = spec
  end

  def capability?(name)
    name == :forwarded_ports && @spec.key?("forwarded")
  end

  def capability(_name)
    raise Vagrant::Errors::VagrantError if @spec["forwarded"] == "error"
    @spec["forwarded"].to_h { |host, guest| [host.to_i, guest] }
  end
end

class FakeUI
  def info(text)
    puts text
  end
end

Machine = Struct.new(:provider_name, :provider, :state, :ui)
State = Struct.new(:id)

def machine(spec)
  Machine.new(spec.fetch("provider", "virtualbox").to_sym, FakeProvider.new(spec),
              State.new(spec.fetch("state", "not_created").to_sym), FakeUI.new)
end

RbConfig::CONFIG["host_cpu"] = spec["cpu"] if spec["cpu"]
case mode
when "preflight"
  begin
    LabPreflight.new(root, LabSettings.load(root), machine(spec)).run
  rescue LabPreflight::Failed => e
    puts "FAILED: #{e.error_message}"
  end
when "requirements"
  # What LabRequirements says on this host, for the command line in the spec.
  puts LabRequirements.unmet(root, spec.fetch("argv", []), Vagrant::VERSION) || "met"
when "provider"
  # The provider LabRequirements takes this command to use.
  puts LabRequirements.provider(root, spec.fetch("argv", []))
when "https_port"
  # One LabForwardedPort, asked once per machine in the spec's list (nil: no machine yet).
  port = LabForwardedPort.new(443, 8443)
  spec["machines"].each do |each|
    port.machine = each && machine(each)
    puts port.to_s
  end
end
'''


@pytest.fixture
def ruby(tmp_path):
    """Runs HARNESS under `ruby` on a lab folder, with PATH and VBOX_* as given."""
    harness = tmp_path / "harness.rb"
    harness.write_text(HARNESS)
    executable = shutil.which("ruby")

    def run(lab, mode, spec, **env):
        clean = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", **env}
        done = subprocess.run([executable, str(harness), str(lab), mode, json.dumps(spec)], capture_output=True,
                              text=True, timeout=60, env=clean)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    return run


@pytest.fixture
def vbox_folder(tmp_path):
    """A folder like "C:\\Program Files\\Oracle\\VirtualBox", not on PATH, for a stand-in VBoxManage."""

    def make(exe="VBoxManage"):
        folder = tmp_path / "Program Files" / "Oracle" / exe / "VirtualBox"
        folder.mkdir(parents=True)
        stand_in = folder / exe
        stand_in.write_text('#!/bin/sh\n[ "$1" = --version ] && echo 7.0.20r163906\n')
        stand_in.chmod(0o755)
        return folder

    return make


def provider_row(box):
    return next(line for line in box.splitlines() if line.startswith("| provider"))


@pytest.mark.parametrize("exe", ["VBoxManage", "VBoxManage.exe"])
def test_preflight_finds_vboxmanage_in_vbox_msi_install_path(kit, ruby, vbox_folder, tmp_path, exe):
    folder = vbox_folder(exe)
    listed = f"{tmp_path / 'no such folder'};{folder}"  # the installer may list several, ";"-separated
    box = ruby(kit, "preflight", {}, VBOX_MSI_INSTALL_PATH=listed)
    assert re.fullmatch(r"\| provider +virtualbox \(7\.0\.20r163906\) +\[ok\]", provider_row(box)), box


def test_preflight_prefers_vbox_install_path_as_vagrant_does(kit, ruby, vbox_folder, tmp_path):
    """Vagrant reads VBOX_INSTALL_PATH when it is set and VBOX_MSI_INSTALL_PATH only otherwise."""
    box = ruby(kit, "preflight", {}, VBOX_INSTALL_PATH=str(tmp_path / "old install"),
               VBOX_MSI_INSTALL_PATH=str(vbox_folder()))
    assert "virtualbox (version unknown)" in provider_row(box), box
    box = ruby(kit, "preflight", {}, VBOX_INSTALL_PATH=str(vbox_folder("VBoxManage.exe")))
    assert "[ok]" in provider_row(box), box


def test_preflight_without_vboxmanage_says_version_unknown(kit, ruby):
    """The trigger runs only once Vagrant found the provider usable (see the test below),
    so a VBoxManage the preflight can't run is no problem to report, only a version unknown."""
    box = ruby(kit, "preflight", {})
    assert re.fullmatch(r"\| provider +virtualbox \(version unknown\) *", provider_row(box)), box
    assert "| !" not in box


def test_vagrant_stops_for_a_missing_provider_before_the_preflight(kit):
    """Vagrant asks a provider whether it is usable (Vagrantfile#machine_config) before it makes the
    machine whose `before :up` trigger is the preflight: with no VirtualBox it stops on its own."""
    run = vagrant(kit, "up", "--provider=virtualbox", PATH="/usr/bin:/bin")
    output = run.stdout + run.stderr
    assert run.returncode != 0
    assert "Vagrant could not detect VirtualBox!" in output
    assert "lab preflight" not in output


def test_preflight_shows_the_ports_a_running_vm_forwards(kit, ruby):
    running = {"state": "running", "forwarded": {"2222": 22, "8500": 80, "8444": 443}}
    box = ruby(kit, "preflight", running)
    assert re.search(r"^\| port 8500 +forwarded to the guest's port 80 by this VM +\[ok\]$", box, re.M), box
    assert re.search(r"^\| port 8443 +not used: this VM forwards 8444 to the guest's port 443 +\[!!\]$", box, re.M), box
    assert ("| ! port 8443 was taken when the VM started, so the guest's port 443 is at 127.0.0.1:8444; "
            "`vagrant reload` tries 8443 again") in box


def test_preflight_says_a_port_windows_reserves_is_not_in_use(kit, ruby):
    """Windows refuses (EACCES) to bind a port in a range Hyper-V or WSL reserved, with no program on it."""
    box = ruby(kit, "preflight", {"refused": {"8500": "reserved", "8443": "in use"}})
    assert re.search(r"^\| port 8500 +refused: reserved by Windows \(Hyper-V/WSL\) or held exclusively +\[XX\]$",
                     box, re.M), box
    assert ("| ! port 8500 is refused, most likely reserved by Windows for Hyper-V/WSL (or held exclusively by "
            "another program), so the VM can't use it; list the reserved "
            "ranges with `netsh interface ipv4 show excludedportrange protocol=tcp` and set http_port in lab.yml "
            "to a port outside them") in box
    assert re.search(r"^\| port 8443 +in use by another program +\[!!\]$", box, re.M), box
    assert "| ! port 8443 is taken" in box
    assert "FAILED" not in box  # a warning: Vagrant goes on


def test_preflight_counts_provisioning_files_in_odd_folder_name(odd_lab, ruby):
    box = ruby(odd_lab, "preflight", {"provider": "libvirt"})
    patterns = ["Vagrantfile", "provision/**/*.sh", "provision/**/*.py", "provision/**/*.j2",
                "provision/**/*.service", "provision/**/*.conf", "checks/**/*.toml"]
    count = len({p for pattern in patterns for p in odd_lab.glob(pattern) if p.is_file()})
    assert count > 10
    assert re.search(rf"^\| line endings +LF in {count} provisioning files +\[ok\]$", box, re.M), box


def test_https_port_names_the_forwarded_port_when_asked(kit, ruby):
    machines = [
        None,  # the trigger hasn't run: the setting
        {"provider": "libvirt", "state": "running"},  # no forwarded_ports capability: the setting
        {"state": "running", "forwarded": {"2222": 22, "8444": 443}},  # auto_correct moved it
        {"state": "running", "forwarded": {"8443": 443}},
        {"state": "poweroff", "forwarded": {"8444": 443}},  # not running: the setting
        {"state": "running", "forwarded": {"2222": 22}},  # nothing reaches 443: the setting
        {"state": "running", "forwarded": "error"},  # VBoxManage failed: the setting
    ]
    assert ruby(kit, "https_port", {"machines": machines}).split() == [
        "8443", "8443", "8444", "8443", "8443", "8443", "8443"]


def test_vm_name_ignores_case_and_accent_spelling(kit):
    """One folder, one name: `cd` may spell it in another case (Windows, macOS), and macOS may
    spell "é" as "e" plus a combining accent. A path that isn't UTF-8 still gets a name."""
    script = (
        'require ARGV[0] + "/lab/vagrantfile/settings"\n'
        'puts LabSettings.vm_name("/no/such/Users/Jane Doe\\u0301/Lab", "likes-lab")\n'
        'puts LabSettings.vm_name("/no/such/users/jane do\\u00e9/lab", "likes-lab")\n'
        'puts LabSettings.vm_name("/no/such/users/jane doe/lab", "likes-lab")\n'
        'puts LabSettings.vm_name("/no/such/users/jane do\\xE9/lab".b, "likes-lab")\n'
    )
    done = subprocess.run([shutil.which("ruby"), "-e", script, str(kit)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    decomposed, composed, plain, latin1 = done.stdout.split()
    assert decomposed == composed
    assert len({composed, plain, latin1}) == 3
    assert all(re.fullmatch(r"likes-lab-[0-9a-f]{8}", name) for name in (composed, plain, latin1))


# --- the Vagrant version each host needs (lab/vagrantfile/requirements.rb) ------------------------------

def stand_in_vboxmanage(tmp_path, version):
    """A folder holding a VBoxManage that reports version, as VirtualBox's does."""
    folder = tmp_path / f"vbox-{version}"
    folder.mkdir()
    stand_in = folder / "VBoxManage"
    stand_in.write_text(f'#!/bin/sh\n[ "$1" = --version ] && echo {version}r165100\n')
    stand_in.chmod(0o755)
    return folder


@pytest.mark.parametrize("vagrant_version, virtualbox, needed", [
    ("2.4.1", "7.1.4", "2.4.2"),
    ("2.3.4", "7.1.4", "2.4.2"),
    ("2.4.8", "7.2.0", "2.4.9"),
])
def test_an_old_vagrant_with_a_new_virtualbox_gets_one_sentence(kit, ruby, tmp_path, vagrant_version, virtualbox,
                                                                 needed):
    path = f"{stand_in_vboxmanage(tmp_path, virtualbox)}:/usr/bin:/bin"
    said = ruby(kit, "requirements", {}, PATH=path, FAKE_VAGRANT_VERSION=vagrant_version).strip()
    assert said == (f"VirtualBox {virtualbox} needs Vagrant {needed} or newer, and this is Vagrant {vagrant_version}: "
                    "install the newest Vagrant from https://developer.hashicorp.com/vagrant/install, "
                    "then run the command again")


@pytest.mark.parametrize("vagrant_version, virtualbox", [
    ("2.4.2", "7.1.4"), ("2.4.9", "7.2.0"), ("2.4.1", "7.0.20"), ("2.3.4", "7.0.20")])
def test_a_vagrant_that_knows_the_virtualbox_is_enough(kit, ruby, tmp_path, vagrant_version, virtualbox):
    path = f"{stand_in_vboxmanage(tmp_path, virtualbox)}:/usr/bin:/bin"
    assert ruby(kit, "requirements", {}, PATH=path, FAKE_VAGRANT_VERSION=vagrant_version).strip() == "met"


@pytest.mark.parametrize("spec, env", [
    ({"argv": ["up", "--provider=libvirt"]}, {}),
    ({"argv": ["up", "--provider", "libvirt"]}, {}),
    ({"argv": ["up"]}, {"VAGRANT_DEFAULT_PROVIDER": "libvirt"}),
    ({"argv": ["status"], "created": "libvirt"}, {}),
])
def test_virtualbox_7_1_does_not_matter_to_a_libvirt_vm(kit, ruby, tmp_path, spec, env):
    """Debian's Vagrant 2.3.4 drives libvirt whatever VirtualBox is also installed."""
    if spec.pop("created", None):
        machine = kit / ".vagrant" / "machines" / "default" / "libvirt"
        machine.mkdir(parents=True)
        (machine / "id").write_text("6f1c-uuid")
    path = f"{stand_in_vboxmanage(tmp_path, '7.1.4')}:/usr/bin:/bin"
    assert ruby(kit, "requirements", spec, PATH=path, **env).strip() == "met"


def test_the_vagrantfile_and_the_checker_name_one_provider_for_one_lab_folder(kit, ruby):
    """Ids left by several providers (a VM deleted by hand, then made with another): the
    Vagrantfile's Ruby and the checker's Python read the same one."""
    from lab.transports.vagrant import created_machine

    machines = kit / ".vagrant" / "machines" / "default"
    for provider, vm_id in {"parallels": "  \n", "vmware_desktop": "a1b2\n", "virtualbox": "4d2e\n"}.items():
        (machines / provider).mkdir(parents=True)
        (machines / provider / "id").write_text(vm_id)
    said = ruby(kit, "provider", {"argv": ["status"]}).strip()
    assert said == created_machine(kit, "default")[0] == "virtualbox"  # an id of white space is none


@pytest.mark.parametrize("cpu, vagrant_version, said", [
    ("arm64", "2.3.7", "on an arm64 computer (Apple silicon) the lab needs Vagrant 2.4.0 or newer to get the arm64 "
                       "box, and this is Vagrant 2.3.7: install the newest Vagrant"),
    ("aarch64", "2.3.4", "on an arm64 computer (Apple silicon) the lab needs Vagrant 2.4.0"),
    ("arm64", "2.4.0", "met"),
    ("x86_64", "2.3.4", "met"),
])
def test_an_arm64_computer_needs_vagrant_2_4(kit, ruby, cpu, vagrant_version, said):
    answer = ruby(kit, "requirements", {"cpu": cpu, "argv": ["up", "--provider=parallels"]},
                  FAKE_VAGRANT_VERSION=vagrant_version)
    assert answer.startswith(said), answer


def test_real_vagrant_2_3_4_refuses_virtualbox_7_1_in_one_sentence(kit, tmp_path):
    """Debian's Vagrant itself, with VBoxManage reporting 7.1.4: our sentence, before Vagrant's own
    "not supported" list of versions."""
    path = f"{stand_in_vboxmanage(tmp_path, '7.1.4')}:/usr/bin:/bin"
    run = vagrant(kit, "validate", VAGRANT_DEFAULT_PROVIDER="virtualbox", PATH=path)
    output = (run.stdout + run.stderr).strip()
    assert run.returncode != 0
    assert output == ("lab requirements: VirtualBox 7.1.4 needs Vagrant 2.4.2 or newer, and this is Vagrant 2.3.4: "
                      "install the newest Vagrant from https://developer.hashicorp.com/vagrant/install, "
                      "then run the command again"), output


def test_real_vagrant_2_3_4_with_libvirt_goes_on_beside_virtualbox_7_1(kit, tmp_path):
    path = f"{stand_in_vboxmanage(tmp_path, '7.1.4')}:/usr/bin:/bin"
    run = vagrant(kit, "validate", VAGRANT_DEFAULT_PROVIDER="libvirt", PATH=path)
    assert run.returncode == 0, run.stdout + run.stderr
    # `--provider=libvirt` on the command line, read from ARGV: on to the preflight (stopped by a CRLF file).
    script = kit / "provision" / "base.sh"
    script.write_bytes(script.read_bytes().replace(b"\n", b"\r\n"))
    run = vagrant(kit, "up", "--provider=libvirt", PATH=path, LAB_BOX="no-such-box-needed")
    output = run.stdout + run.stderr
    assert "lab requirements" not in output
    assert "lab preflight: CRLF line endings in provision/base.sh" in output, output


def test_the_default_box_pin_is_dropped_for_another_box(kit):
    run = vagrant(kit, "validate", VAGRANT_DEFAULT_PROVIDER="libvirt", LAB_BOX="lab-test-debian12")
    assert run.returncode == 0, run.stdout + run.stderr
    assert resolved(kit)["box_version"] == ""
    run = vagrant(kit, "validate", VAGRANT_DEFAULT_PROVIDER="libvirt", LAB_BOX="my/box", LAB_BOX_VERSION="1.2.0")
    assert run.returncode == 0, run.stdout + run.stderr
    assert resolved(kit)["box_version"] == "1.2.0"


# --- what the Vagrantfile asks of each provider --------------------------------------------

CONFIG_HARNESS = r'''
# Loads the Vagrantfile with a Vagrant that only records: every setting and call
# on `config`, each provider's block run with a recorder for its `override`,
# printed as JSON. No provider plugin is needed, so Parallels and VMware count too.
require "json"

module Vagrant
  VERSION = "2.3.4"
  module Errors
    class VagrantError < StandardError; end
  end

  def self.require_version(*requirements)
    $required = requirements
  end

  def self.configure(_version)
    yield $config = Recorder.new
  end
end

# config.vm, config.ssh, ... are recorders; `x = value` and calls are recorded.
class Recorder
  attr_reader :settings, :calls

  def initialize
    @settings = {}
    @calls = []
    @parts = Hash.new { |parts, name| parts[name] = Recorder.new }
  end

  def method_missing(name, *args, **options, &block)
    if name.end_with?("=")
      @settings[name.to_s.chomp("=")] = args.first
    elsif args.empty? && options.empty? && block.nil?
      @parts[name]
    else
      @calls << [name.to_s, args, options, block]
    end
  end

  def respond_to_missing?(*)
    true
  end

  def []=(key, value)
    @settings[key] = value
  end

  def folders
    @calls.select { |name, _| name == "synced_folder" }.to_h { |_, args, options| [args[1], options] }
  end
end

load File.join(ARGV[0], "Vagrantfile")
vm = $config.vm
providers = vm.calls.select { |name, _| name == "provider" }.to_h do |_, (provider), _, block|
  override = Recorder.new
  block.call(Recorder.new, override)
  [provider, vm.folders.merge(override.vm.folders).fetch("/vagrant")]
end
puts JSON.generate("required" => $required, "sudo_command" => $config.ssh.settings["sudo_command"],
                   "folders" => providers)
'''

# Vagrant's own rsync arguments (plugins/synced_folders/rsync/helper.rb), which
# rsync__args replaces: the Vagrantfile must keep them.
VAGRANT_RSYNC_ARGS = ["--verbose", "--archive", "--delete", "-z", "--copy-links"]
LAB_MODES = "--chmod=ug=rwX,o="


@pytest.fixture
def vagrantfile_config(kit, tmp_path):
    harness = tmp_path / "config_harness.rb"
    harness.write_text(CONFIG_HARNESS)
    done = subprocess.run([shutil.which("ruby"), str(harness), str(kit)], capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"})
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout)


def test_each_provider_gets_the_folder_modes_it_can_set(vagrantfile_config):
    folders = vagrantfile_config["folders"]
    assert sorted(folders) == ["libvirt", "parallels", "virtualbox", "vmware_desktop"]
    # vboxsf: Vagrant adds uid and gid only (plugins/providers/virtualbox/cap/mount_options.rb).
    assert folders["virtualbox"] == {"type": "virtualbox", "mount_options": ["dmode=0770", "fmode=0660"]}
    # rsync: Vagrant's arguments, then the modes; the exclusions as before.
    assert folders["libvirt"]["type"] == "rsync"
    assert folders["libvirt"]["rsync__args"] == VAGRANT_RSYNC_ARGS + [LAB_MODES]
    assert ".git/" in folders["libvirt"]["rsync__exclude"]
    # vmhgfs-fuse (vagrant-vmware-desktop's Linux mount cap) passes mount_options to -o.
    assert folders["vmware_desktop"] == {"mount_options": ["umask=007"]}
    # vagrant-parallels raises LinuxPrlFsInvalidOptions for dmode/fmode: its share as Vagrant makes it.
    assert folders["parallels"] == {}


def test_the_rsync_modes_are_those_the_comment_promises(tmp_path):
    """rsync with the Vagrantfile's arguments, from a folder made under umask 077 (nothing for the
    group) and with an executable script: folders 770, files 660, the script 770."""
    source, copy = tmp_path / "lab", tmp_path / "guest"
    (source / "provision").mkdir(parents=True)
    (source / "README.md").write_text("read me\n")
    (source / "provision" / "run.sh").write_text("#!/bin/sh\n")
    for path, mode in ((source, 0o700), (source / "provision", 0o700), (source / "README.md", 0o600),
                       (source / "provision" / "run.sh", 0o700)):
        path.chmod(mode)
    done = subprocess.run(["rsync", *VAGRANT_RSYNC_ARGS, LAB_MODES, f"{source}/", f"{copy}/"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    modes = {str(p.relative_to(copy)): oct(p.stat().st_mode & 0o777) for p in [copy, *copy.rglob("*")]}
    assert modes == {".": "0o770", "README.md": "0o660", "provision": "0o770", "provision/run.sh": "0o770"}


def test_sudo_runs_without_the_flag_sudo_rs_warns_about(vagrantfile_config):
    """Vagrant's default is "sudo -E -H %c" (plugins/kernel_v2/config/ssh.rb); sudo-rs warns that it
    ignores -E and takes -H without a word (src/sudo/cli/mod.rs)."""
    assert vagrantfile_config["sudo_command"] == "sudo -H %c"


def test_the_vagrantfile_names_the_oldest_vagrant_it_is_tested_with(vagrantfile_config):
    assert vagrantfile_config["required"] == [">= 2.3.4"]


@pytest.mark.parametrize("provider, cpu, env, row", [
    ("virtualbox", "x86_64", {}, "bento/ubuntu-24.04 202510.26.0, virtualbox/amd64"),
    ("parallels", "arm64", {}, "bento/ubuntu-24.04 202510.26.0, parallels/arm64"),
    ("libvirt", "x86_64", {"LAB_BOX_VERSION": ""}, "bento/ubuntu-24.04 newest, libvirt/amd64"),
])
def test_preflight_names_the_box_build_this_vm_needs(kit, ruby, provider, cpu, env, row):
    """What `vagrant box add --box-version --provider --architecture` needs, when Vagrant can't find it."""
    box = ruby(kit, "preflight", {"provider": provider, "cpu": cpu}, **env)
    assert re.search(rf"^\| box +{re.escape(row)} *$", box, re.M), box
