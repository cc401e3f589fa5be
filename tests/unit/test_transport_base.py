"""The transports' shared base (lab/transports/base.py): every argument of a guest command is shell-quoted."""

from lab.transports.base import quote_command


def test_arguments_are_shell_quoted():
    assert quote_command("systemctl is-active %s", "nginx") == "systemctl is-active nginx"
    assert quote_command("cat %s", "/tmp/a b; rm -rf /") == "cat '/tmp/a b; rm -rf /'"
    assert quote_command("echo %s", "$(id)") == "echo '$(id)'"
    assert quote_command("uptime") == "uptime"
