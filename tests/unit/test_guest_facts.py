"""The guest's facts (lab/guest/system.py) from a scripted transport: the commands the
helpers send, quoted, what they read from the answers, and "no" told apart from
"could not ask": a refused sudo or a probe that fails for another reason is
CouldNotCheck, never the student's fault."""

import shlex

import pytest

from lab import CouldNotCheck
from lab.guest.system import Guest
from lab.transports.base import CommandResult, Transport
from tests.support.engine_fakes import FakeTransport

# --- the commands the helpers send, and what they read from the answers ---------------

@pytest.mark.parametrize("call, command", [
    (lambda g: g.service("nginx").is_active, "systemctl is-active nginx"),
    (lambda g: g.service("likes@1").is_enabled, "systemctl is-enabled likes@1"),
    (lambda g: g.service("likes").show("Restart"), "systemctl show --value -p Restart likes"),
    (lambda g: g.package("nginx").is_installed, "dpkg-query -W -f='${Status}' nginx"),
    (lambda g: g.user("www-data").exists, "getent passwd www-data"),
    (lambda g: g.group("vboxsf").members, "getent group vboxsf"),
    (lambda g: g.file("/etc/my file").content, "sudo -n sh -c 'cat '\"'\"'/etc/my file'\"'\"''"),
    (lambda g: g.file("/x").mode, "sudo -n sh -c 'stat -L -c '\"'\"'%F|%a|%U|%G|%s'\"'\"' /x'"),
    (lambda g: g.socket("tcp://127.0.0.1:8080").is_listening, "sudo -n sh -c 'ss -Hltnp'"),
    (lambda g: g.socket("unix:///run/likes/gunicorn.sock").is_listening, "sudo -n sh -c 'ss -Hlxp'"),
])
def test_helpers_build_quoted_commands(call, command):
    transport = FakeTransport()
    call(Guest(transport))
    assert transport.commands == [command]


def test_helpers_read_answers():
    stat = "sudo -n sh -c 'stat -L -c '\"'\"'%F|%a|%U|%G|%s'\"'\"' /etc/nginx/nginx.conf'"
    guest = Guest(FakeTransport({
        "systemctl is-active nginx": (3, "inactive\n"),
        "dpkg-query -W -f='${Status}' nginx": (0, "install ok installed"),
        stat: (0, "regular file|644|root|root|1447\n"),
        "sudo -n sh -c 'ss -Hltnp'": (0, "LISTEN 0 511 127.0.0.1:8080 0.0.0.0:* users:((\"python3\",pid=812,fd=3))\n"
                                         "LISTEN 0 511 [::]:80 [::]:* users:((\"nginx\",pid=90,fd=7),"
                                         "(\"nginx\",pid=91,fd=7))\n"),
        "sudo -n sh -c 'ss -Hlxp'": (0, "u_str LISTEN 0 2048 /run/likes-1/gunicorn.sock 31337 * 0 "
                                        "users:((\"gunicorn\",pid=700,fd=5),(\"gunicorn\",pid=701,fd=5))\n"),
        "cat /etc/os-release": (0, 'ID=ubuntu\nPRETTY_NAME="Ubuntu 24.04 LTS"\n'),
    }))
    assert guest.service("nginx").state == "inactive"
    assert not guest.service("nginx").is_active
    assert guest.package("nginx").is_installed
    nginx_conf = guest.file("/etc/nginx/nginx.conf")
    assert (nginx_conf.mode, nginx_conf.owner, nginx_conf.is_file) == (0o644, "root", True)
    before = len(guest.transport.commands)
    st = nginx_conf.stat()
    assert (st.kind, st.mode, st.owner, st.group, st.size) == ("regular file", 0o644, "root", "root", 1447)
    assert len(guest.transport.commands) == before + 1  # every fact from one probe
    assert guest.file("/no/such/file").stat() is None
    assert guest.socket("tcp://127.0.0.1:8080").is_listening
    assert not guest.socket("tcp://0.0.0.0:8080").is_listening
    assert guest.socket("tcp://80").is_listening
    assert guest.socket("unix:///run/likes-1/gunicorn.sock").is_listening
    assert not guest.socket("unix:///run/likes/gunicorn.sock").is_listening
    assert guest.listeners() == [("tcp", "127.0.0.1:8080", {812}), ("tcp", "[::]:80", {90, 91}),
                                 ("unix", "/run/likes-1/gunicorn.sock", {700, 701})]
    assert guest.os_release()["PRETTY_NAME"] == "Ubuntu 24.04 LTS"


# --- "no" and "could not ask" ---------------------------------------------------------------

REFUSED = (1, "", "sudo: a password is required\n")


class ScriptedTransport(Transport):
    """Answers each command with (rc, stdout, stderr): the first rule whose text the command contains wins."""

    scheme = "scripted"

    def __init__(self, rules):
        self.rules = rules
        self.commands = []

    def run_command(self, command, timeout):
        self.commands.append(command)
        rc, out, err = next((answer for part, answer in self.rules if part in command), (0, "", ""))
        return CommandResult(command, rc, out, err)


def guest(*rules):
    return Guest(ScriptedTransport(list(rules)))


@pytest.mark.parametrize("fact", [
    lambda g: g.file("/etc/nginx/nginx.conf").exists,
    lambda g: g.file("/etc/nginx/nginx.conf").mode,
    lambda g: g.file("/etc/nginx/nginx.conf").content,
    lambda g: g.file("/etc/nginx/nginx.conf").contains("gzip"),
    lambda g: g.file("/vagrant/static/app.css").readable_by("www-data"),
    lambda g: g.socket("tcp://127.0.0.1:8080").is_listening,
    lambda g: g.socket("unix:///run/likes/gunicorn.sock").is_listening,
    lambda g: g.listeners(),
    lambda g: g.sudo("nginx -t"),
], ids=["exists", "mode", "content", "contains", "readable_by", "tcp", "unix", "listeners", "sudo"])
def test_refused_sudo_is_could_not_check_with_the_remedy(fact):
    with pytest.raises(CouldNotCheck) as refused:
        fact(guest(("sudo -n sh -c", REFUSED)))
    assert "sudo in the guest refused to run" in refused.value.reason
    assert "a password is required" in refused.value.reason
    assert "sudo without a password" in refused.value.remedy


@pytest.mark.parametrize("stderr", [
    "sudo: interactive authentication is required\n",  # sudo-rs, -n where a password is needed
    "sudo: I'm sorry vagrant. I'm afraid I can't do that\n",  # sudo-rs, no sudoers rule for the user
    "sudo: A terminal is required to authenticate\n",  # sudo-rs
    "sudo: a terminal is required to read the password; either use the -S option to read from standard input "
    "or configure an askpass helper\n",  # GNU sudo
], ids=["sudo-rs password", "sudo-rs authentication failed", "sudo-rs terminal", "gnu terminal"])
def test_sudo_rs_refusals_are_could_not_check_too(stderr):
    with pytest.raises(CouldNotCheck) as refused:
        guest(("sudo -n sh -c", (1, "", stderr))).file("/x").exists
    assert stderr.strip() in refused.value.reason
    assert "sudo without a password" in refused.value.remedy


def test_readable_by_opens_the_file_as_the_user_with_runuser_not_test():
    g = guest(("runuser -u", (0, "", "")))
    assert g.file("/vagrant/it's my.css").readable_by("www-data")
    sudo, inner = shlex.split(g.transport.commands[0])[:4], shlex.split(g.transport.commands[0])[4]
    assert sudo == ["sudo", "-n", "sh", "-c"]
    assert shlex.split(inner) == ["runuser", "-u", "www-data", "--", "sh", "-c", 'true < "$1" || exit 3', "sh",
                                  "/vagrant/it's my.css"]
    assert not guest(("runuser -u", (3, "", "sh: 1: cannot open /x: Permission denied\n"))).file("/x") \
        .readable_by("www-data")
    with pytest.raises(CouldNotCheck, match="exit code 1 .runuser: user nginx does not exist"):
        guest(("runuser -u", (1, "", "runuser: user nginx does not exist or the user entry does not contain all "
                                     "the required fields\n"))).file("/x").readable_by("nginx")


def test_sudo_missing_altogether_is_could_not_check():
    with pytest.raises(CouldNotCheck, match="sudo: not found"):
        guest(("sudo -n sh -c", (127, "", "sh: 1: sudo: not found\n"))).file("/x").exists


@pytest.mark.parametrize("fact, rule", [
    (lambda g: g.service("nginx").is_active,
     ("systemctl is-active", (1, "", "System has not been booted with systemd as init system (PID 1). "
                                     "Can't operate.\nFailed to connect to bus: Host is down\n"))),
    (lambda g: g.service("nginx").is_enabled, ("systemctl is-enabled", (1, "", "Failed to connect to bus\n"))),
    (lambda g: g.service("likes").main_pid, ("systemctl show", (1, "", "Failed to connect to bus\n"))),
    (lambda g: g.package("nginx").is_installed, ("dpkg-query", (2, "", "dpkg-query: error: parsing file\n"))),
    (lambda g: g.package("nginx").version, ("dpkg-query", (2, "", "dpkg-query: error: parsing file\n"))),
    (lambda g: g.file("/x").exists, ("stat", (127, "", "sh: 1: stat: not found\n"))),
    (lambda g: g.file("/x").content, ("cat", (126, "", "sh: 1: cat: Permission denied\n"))),
    (lambda g: g.user("www-data").exists, ("getent", (1, "", "Unknown database: passwd\n"))),
    (lambda g: g.group("vboxsf").members, ("getent", (1, "", "Unknown database: group\n"))),
    (lambda g: g.listeners("tcp"), ("ss -Hltnp", (127, "", "sh: 1: ss: not found\n"))),
], ids=["is_active", "is_enabled", "main_pid", "is_installed", "version", "stat", "cat", "user", "group",
        "ss"])
def test_a_probe_that_breaks_is_could_not_check(fact, rule):
    with pytest.raises(CouldNotCheck) as broken:
        fact(guest(rule))
    assert f"exit code {rule[1][0]}" in broken.value.reason
    assert rule[1][2].splitlines()[0] in broken.value.reason
    assert broken.value.remedy


def test_gnu_sudos_unresolved_host_warning_is_not_the_reason():
    with pytest.raises(CouldNotCheck) as broken:
        guest(("ss -Hltnp", (127, "", "sudo: unable to resolve host lab: Name or service not known\n"
                                      "sh: 1: ss: not found\n"))).listeners("tcp")
    assert "(sh: 1: ss: not found)" in broken.value.reason


def test_the_answer_no_is_still_an_answer():
    g = guest(
        ("systemctl is-active nginx", (3, "inactive\n", "")),
        ("systemctl is-active nosuch", (3, "inactive\n", "")),
        ("systemctl is-enabled likes", (1, "disabled\n", "")),
        ("systemctl is-enabled nosuch", (1, "", "Failed to get unit file state for nosuch.service: "
                                                "No such file or directory\n")),
        ("stat", (1, "", "stat: cannot statx '/etc/missing': No such file or directory\n")),
        ("cat", (1, "", "cat: /etc/missing: No such file or directory\n")),
        ("runuser -u", (3, "", "sh: 1: cannot open /etc/missing: No such file\n")),
        ("dpkg-query", (1, "", "dpkg-query: no packages found matching apache2\n")),
        ("getent", (2, "", "")),
        ("id -", (1, "", "id: 'nobody2': no such user\n")),
    )
    assert g.service("nginx").state == "inactive"
    assert not g.service("nosuch").is_active
    assert not g.service("likes").is_enabled
    assert not g.service("nosuch").is_enabled
    assert g.file("/etc/missing").stat() is None
    assert not g.file("/etc/missing").exists
    assert g.file("/etc/missing").content is None
    assert not g.file("/etc/missing").readable_by("www-data")
    assert not g.package("apache2").is_installed
    assert g.package("apache2").version is None
    assert not g.user("nobody2").exists
    assert g.user("nobody2").groups == set() and g.user("nobody2").uid is None
    assert not g.group("nogroup2").exists and g.group("nogroup2").members == set()


# -- the engine's facts that the checks name the app with ---------------------------------

PS = """\
    1       0 root     /sbin/init
  812       1 likes    /usr/bin/python3 /usr/bin/gunicorn --config /etc/likes/gunicorn.conf.py sample_app.wsgi:application
  815     812 likes    /usr/bin/python3 /usr/bin/gunicorn --config /etc/likes/gunicorn.conf.py sample_app.wsgi:application
  900       1 vagrant  python3 -m sample_app --host 127.0.0.1 --port 8080
  950     900 vagrant  ps -eo pid=,ppid=,user=,args=
"""
SS_TCP = ("LISTEN 0 511 0.0.0.0:80 0.0.0.0:* users:((\"nginx\",pid=700,fd=6))\n"
          "LISTEN 0 128 [::1]:8080 [::]:* users:((\"python3\",pid=900,fd=3))\n"
          "LISTEN 0 128 127.0.0.1:8080 0.0.0.0:* users:((\"python3\",pid=900,fd=4))\n")
SS_UNIX = ("u_str LISTEN 0 2048 /run/likes/gunicorn.sock 1234 * 0 users:((\"gunicorn\",pid=812,fd=5),"
           "(\"gunicorn\",pid=815,fd=5))\n")


def test_processes_read_ps_once_and_leave_the_probe_out():
    g = guest(("ps -eo", (0, PS, "")))
    assert [(p.pid, p.ppid, p.user) for p in g.processes(r"sample_app|gunicorn")] == [
        (812, 1, "likes"), (815, 812, "likes"), (900, 1, "vagrant")]
    assert len(g.processes()) == 4


def test_listeners_held_by_the_apps_processes_and_how_to_reach_them():
    g = guest(("ps -eo", (0, PS, "")), ("-Hltnp", (0, SS_TCP, "")), ("-Hlxp", (0, SS_UNIX, "")))
    held = g.listeners(held_by=g.processes("sample_app|gunicorn"))
    assert [(seen.kind, seen.address, seen.on_loopback) for seen in held] == [
        ("tcp", "[::1]:8080", True), ("tcp", "127.0.0.1:8080", True), ("unix", "/run/likes/gunicorn.sock", True)]
    assert [seen.reachable for seen in held if seen.kind == "tcp"] == ["[::1]:8080", "127.0.0.1:8080"]
    everywhere = [seen for seen in g.listeners("tcp") if seen.address.startswith("0.0.0.0")][0]
    assert (everywhere.on_loopback, everywhere.reachable) == (False, "127.0.0.1:80")


def test_units_and_where_a_process_writes():
    g = guest(("list-units", (0, "likes@1.service loaded active running likes app server 1\n"
                                 "\u25cf likes@2.service not-found failed failed likes@2.service\n", "")),
              ("/proc/815/cgroup", (0, "0::/system.slice/system-likes.slice/likes@1.service\n", "")),
              ("/proc/900/cgroup", (0, "0::/user.slice/user-1000.slice/session-3.scope\n", "")),
              ("readlink /proc/815/fd/1", (0, "socket:[4242]\n", "")),
              ("readlink /proc/900/fd/1", (0, "/home/vagrant/likes.log\n", "")))
    assert g.units("likes.service", "likes@*.service") == ["likes@1.service", "likes@2.service"]
    assert g.unit_of(815) == "likes@1.service" and g.unit_of(900) is None
    assert g.output_of(815) == ("journal", "likes@1.service")
    assert g.output_of(900) == ("file", "/home/vagrant/likes.log")


def test_a_service_serves_once_one_of_its_processes_listens():
    control_group = ("-p ControlGroup", (0, "/system.slice/likes@3.service\n", ""))
    procs = ("cat /sys/fs/cgroup/system.slice/likes@3.service/cgroup.procs", (0, "1405\n1416\n1418\n", ""))
    active = ("systemctl is-active", (0, "active\n", ""))
    listening = ("ss -Hlxp", (0, 'u_str LISTEN 0 2048 /run/likes-3/gunicorn.sock 1 * 0 '
                                 'users:(("gunicorn",pid=1416,fd=5),("gunicorn",pid=1405,fd=5))\n', ""))
    service = guest(control_group, procs, active, listening, ("ss -Hltnp", (0, "", ""))).service("likes@3")
    assert service.pids == [1405, 1416, 1418]
    assert service.is_serving
    # Started, but still importing the app: active, and no socket yet.
    starting = guest(control_group, procs, active, ("ss -H", (0, "", ""))).service("likes@3")
    assert starting.is_active and not starting.is_serving
    # Stopped: systemd names no control group, and nothing is asked of ss.
    stopped = guest(("-p ControlGroup", (0, "\n", "")), ("systemctl is-active", (3, "inactive\n", "")))
    assert stopped.service("likes@3").pids == [] and not stopped.service("likes@3").is_serving
    assert not any("ss -H" in command for command in stopped.transport.commands)
    # No cgroup v2 file: the main process and what descends from it (a wrapper shell's python).
    v1 = guest(control_group, ("cgroup.procs", (1, "", "cat: No such file or directory\n")),
               ("-p MainPID", (0, "1405\n", "")),
               ("ps -eo", (0, "    1     0 root /sbin/init\n 1405     1 likes /bin/sh -c . venv/bin/activate && "
                              "python app.py\n 1406  1405 likes python app.py\n 1407  1406 likes python app.py\n"
                              " 1500     1 root /usr/sbin/sshd\n", "")))
    assert v1.service("likes@3").pids == [1405, 1406, 1407]


@pytest.mark.parametrize("policy, restarts", [("on-failure", True), ("always", True), ("on-abnormal", True),
                                              ("no", False), ("on-success", False), ("on-abort", False)])
def test_a_units_restart_policy_says_whether_a_crash_brings_it_back(policy, restarts):
    guest = Guest(FakeTransport({"systemctl show --value -p Restart likes": (0, policy + "\n")}))
    assert guest.service("likes").restart_policy == (policy, restarts)
