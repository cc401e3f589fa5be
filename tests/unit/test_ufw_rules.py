"""lab/core/ufw.py, the one reader of `ufw status verbose` (steps 9 and 11 and
step 9's solution use it), on what Debian's ufw really prints."""

import subprocess

import pytest

from lab.core.ufw import enabled_at_boot, parse_ufw_status

# Each fixture is what `LC_ALL=C ufw status verbose` printed, verbatim (trailing
# spaces included), from Debian 12's ufw 0.36.2 run for real as root in a
# private network namespace, with the application profiles Debian's nginx and
# openssh-server install in /etc/ufw/applications.d/ (OpenSSH: 22/tcp; Nginx
# HTTP: 80/tcp; Nginx HTTPS: 443/tcp; Nginx Full: 80,443/tcp). The commands
# before each `ufw --force enable` are named above it.

# ufw allow OpenSSH; ufw allow 'Nginx Full' (what Ubuntu's own tutorials do)
PROFILES = """\
Status: active
Logging: on (low)
Default: deny (incoming), allow (outgoing), deny (routed)
New profiles: skip

To                         Action      From
--                         ------      ----
22/tcp (OpenSSH)           ALLOW IN    Anywhere                  
80,443/tcp (Nginx Full)    ALLOW IN    Anywhere                  
22/tcp (OpenSSH (v6))      ALLOW IN    Anywhere (v6)             
80,443/tcp (Nginx Full (v6)) ALLOW IN    Anywhere (v6)             

"""

# ufw allow 22/tcp; ufw allow 80/tcp; ufw allow 443/tcp (the exercise's commands)
EXERCISE = """\
Status: active
Logging: on (low)
Default: deny (incoming), allow (outgoing), deny (routed)
New profiles: skip

To                         Action      From
--                         ------      ----
22/tcp                     ALLOW IN    Anywhere                  
80/tcp                     ALLOW IN    Anywhere                  
443/tcp                    ALLOW IN    Anywhere                  
22/tcp (v6)                ALLOW IN    Anywhere (v6)             
80/tcp (v6)                ALLOW IN    Anywhere (v6)             
443/tcp (v6)               ALLOW IN    Anywhere (v6)             

"""

# ufw allow OpenSSH; ufw allow 'Nginx Full'; ufw allow 80,443/tcp; ufw allow 6000:6007/tcp;
# ufw limit 22/tcp; ufw allow 8080; ufw allow from 10.0.2.2 to any port 5000 proto tcp;
# ufw allow in on eth0 to any port 9000 proto tcp; ufw allow from 192.168.1.0/24;
# ufw allow to 10.0.2.15 port 3000 proto tcp; ufw allow 53/udp
EVERY_FORM = """\
Status: active
Logging: on (low)
Default: deny (incoming), allow (outgoing), deny (routed)
New profiles: skip

To                         Action      From
--                         ------      ----
22/tcp (OpenSSH)           ALLOW IN    Anywhere                  
80,443/tcp (Nginx Full)    ALLOW IN    Anywhere                  
80,443/tcp                 ALLOW IN    Anywhere                  
6000:6007/tcp              ALLOW IN    Anywhere                  
22/tcp                     LIMIT IN    Anywhere                  
8080                       ALLOW IN    Anywhere                  
5000/tcp                   ALLOW IN    10.0.2.2                  
9000/tcp on eth0           ALLOW IN    Anywhere                  
Anywhere                   ALLOW IN    192.168.1.0/24            
10.0.2.15 3000/tcp         ALLOW IN    Anywhere                  
53/udp                     ALLOW IN    Anywhere                  
22/tcp (OpenSSH (v6))      ALLOW IN    Anywhere (v6)             
80,443/tcp (Nginx Full (v6)) ALLOW IN    Anywhere (v6)             
80,443/tcp (v6)            ALLOW IN    Anywhere (v6)             
6000:6007/tcp (v6)         ALLOW IN    Anywhere (v6)             
22/tcp (v6)                LIMIT IN    Anywhere (v6)             
8080 (v6)                  ALLOW IN    Anywhere (v6)             
9000/tcp (v6) on eth0      ALLOW IN    Anywhere (v6)             
53/udp (v6)                ALLOW IN    Anywhere (v6)             

"""

# ufw allow log 22/tcp comment 'ssh from anywhere'; ufw allow 80; ufw deny 443/tcp;
# ufw route allow 8080/tcp; ufw allow out 53/udp
NOTES_AND_DIRECTIONS = """\
Status: active
Logging: on (low)
Default: deny (incoming), allow (outgoing), deny (routed)
New profiles: skip

To                         Action      From
--                         ------      ----
22/tcp                     ALLOW IN    Anywhere                   (log) # ssh from anywhere
80                         ALLOW IN    Anywhere                  
443/tcp                    DENY IN     Anywhere                  
22/tcp (v6)                ALLOW IN    Anywhere (v6)              (log) # ssh from anywhere
80 (v6)                    ALLOW IN    Anywhere (v6)             
443/tcp (v6)               DENY IN     Anywhere (v6)             

53/udp                     ALLOW OUT   Anywhere                  
53/udp (v6)                ALLOW OUT   Anywhere (v6)             

8080/tcp                   ALLOW FWD   Anywhere                  
8080/tcp (v6)              ALLOW FWD   Anywhere (v6)             

"""

# ufw allow 22/tcp; ufw allow 80/tcp; ufw insert 1 deny 80 (a deny listed first wins)
DENY_FIRST = """\
Status: active
Logging: on (low)
Default: deny (incoming), allow (outgoing), deny (routed)
New profiles: skip

To                         Action      From
--                         ------      ----
80                         DENY IN     Anywhere                  
22/tcp                     ALLOW IN    Anywhere                  
80/tcp                     ALLOW IN    Anywhere                  
80 (v6)                    DENY IN     Anywhere (v6)             
22/tcp (v6)                ALLOW IN    Anywhere (v6)             
80/tcp (v6)                ALLOW IN    Anywhere (v6)             

"""

# ufw allow 22/tcp; ufw allow 'Nginx HTTP'; ufw reject 443; ufw default reject incoming
REJECTS = """\
Status: active
Logging: on (low)
Default: reject (incoming), allow (outgoing), deny (routed)
New profiles: skip

To                         Action      From
--                         ------      ----
22/tcp                     ALLOW IN    Anywhere                  
80/tcp (Nginx HTTP)        ALLOW IN    Anywhere                  
443                        REJECT IN   Anywhere                  
22/tcp (v6)                ALLOW IN    Anywhere (v6)             
80/tcp (Nginx HTTP (v6))   ALLOW IN    Anywhere (v6)             
443 (v6)                   REJECT IN   Anywhere (v6)             

"""


def test_ufw_profiles_count_as_the_ports_they_open():
    status = parse_ufw_status(PROFILES)
    assert status.active and status.default_incoming == "deny"
    assert [(r.to, r.app, r.ports, r.protocol, r.v6) for r in status.rules] == [
        ("22/tcp (OpenSSH)", "OpenSSH", ((22, 22),), "tcp", False),
        ("80,443/tcp (Nginx Full)", "Nginx Full", ((80, 80), (443, 443)), "tcp", False),
        ("22/tcp (OpenSSH (v6))", "OpenSSH", ((22, 22),), "tcp", True),
        ("80,443/tcp (Nginx Full (v6))", "Nginx Full", ((80, 80), (443, 443)), "tcp", True),
    ]
    assert all(status.lets_in(port) for port in (22, 80, 443))
    assert not status.lets_in(8080)
    assert status.openings_beyond({22, 80, 443}) == []


def test_ufw_the_exercises_rules():
    status = parse_ufw_status(EXERCISE)
    assert [status.lets_in(port) for port in (22, 80, 443, 8080)] == [True, True, True, False]
    assert status.openings_beyond({22, 80, 443}) == []
    assert status.openings_beyond({22, 80}) and status.openings_beyond({22, 80})[0].to == "443/tcp"


def test_ufw_every_rule_form_counts_as_what_it_opens():
    status = parse_ufw_status(EVERY_FORM)
    assert len(status.rules) == 19
    limit = next(r for r in status.rules if r.action == "LIMIT")
    assert (limit.to, limit.lets_in, limit.ports) == ("22/tcp", True, ((22, 22),))
    assert next(r for r in status.rules if r.to == "6000:6007/tcp").ports == ((6000, 6007),)
    assert next(r for r in status.rules if r.to == "8080").protocol == "any"
    assert status.lets_in(6003) and status.lets_in(53, "udp") and status.lets_in(8080, "udp")
    everything = next(r for r in status.rules if r.to == "Anywhere")
    assert everything.covers(1234, "udp") and everything.source == "192.168.1.0/24"
    # Everything beyond 22, 80 and 443, each rule once (its (v6) twin is not listed again).
    extra = status.openings_beyond({22, 80, 443})
    assert [r.describe() for r in extra] == ["6000:6007/tcp", "8080", "5000/tcp from 10.0.2.2", "9000/tcp on eth0",
                                             "Anywhere from 192.168.1.0/24", "10.0.2.15 3000/tcp", "53/udp"]
    # A command to remove a rule is offered where one short command does it.
    assert [r.delete_command() for r in extra] == ["sudo ufw delete allow 6000:6007/tcp", "sudo ufw delete allow 8080",
                                                   None, None, None, None, "sudo ufw delete allow 53/udp"]


def test_ufw_the_profile_and_limit_rules_alone_are_no_extra_ports():
    status = parse_ufw_status(EVERY_FORM)
    profile_rules = [r for r in status.rules if r.app or r.action == "LIMIT" or r.to.startswith("80,443/tcp")]
    assert len(profile_rules) == 8  # four rules, each with its (v6) twin
    assert not any(r in status.openings_beyond({22, 80, 443}) for r in profile_rules)


def test_ufw_notes_directions_and_denies():
    status = parse_ufw_status(NOTES_AND_DIRECTIONS)
    ssh = status.rules[0]
    assert (ssh.to, ssh.source, ssh.ports) == ("22/tcp", "Anywhere", ((22, 22),))
    assert [(r.to, r.direction) for r in status.rules if r.direction != "IN"] == [
        ("53/udp", "OUT"), ("53/udp (v6)", "OUT"), ("8080/tcp", "FWD"), ("8080/tcp (v6)", "FWD")]
    assert status.lets_in(22) and status.lets_in(80)
    assert not status.lets_in(443)  # denied
    assert not status.lets_in(8080)  # routed to other machines, not let in here
    assert status.openings_beyond({22, 80, 443}) == []


def test_ufw_the_first_matching_rule_wins():
    status = parse_ufw_status(DENY_FIRST)
    assert status.lets_in(22)
    assert not status.lets_in(80), "ufw stops at `80 DENY IN`, before the allow"


def test_ufw_reject_refuses_and_is_a_default_too():
    status = parse_ufw_status(REJECTS)
    assert status.default_incoming == "reject"
    assert status.lets_in(80) and not status.lets_in(443)


def test_ufw_a_rule_of_unknown_shape_is_no_allowed_port():
    # Plain `ufw status` (not verbose) after `ufw allow OpenSSH`: the profile's ports aren't printed.
    status = parse_ufw_status("Status: active\n\nTo                         Action      From\n"
                              "--                         ------      ----\n"
                              "OpenSSH                    ALLOW       Anywhere                  \n")
    [rule] = status.rules
    assert (rule.to, rule.direction, rule.understood) == ("OpenSSH", "IN", False)
    assert not status.lets_in(22)
    assert status.openings_beyond({22, 80, 443}) == [rule]


def test_ufw_inactive():
    status = parse_ufw_status("Status: inactive\n")
    assert (status.active, status.default_incoming, status.rules) == (False, "", ())
    assert not status.lets_in(22)


@pytest.mark.parametrize("conf, at_boot", [
    ("# /etc/ufw/ufw.conf\nENABLED=yes\nLOGLEVEL=low\n", True),
    ("ENABLED=no\nLOGLEVEL=low\n", False),
    ('ENABLED="yes"\n', True),
    ("ENABLED=YES\n", True),
    ("ENABLED=yes  # on at boot\n", True),
    # Decoys: a comment that says yes, an assignment a later one undoes, a longer name.
    ("# ENABLED=yes\nENABLED=no\n", False),
    ("ENABLED=yes\nENABLED=no\n", False),
    ("UFW_ENABLED=yes\nENABLED=no\n", False),
    ("ENABLED=yesterday\n", False),
    ("", False),
], ids=["debian", "off", "quoted", "upper", "trailing-comment", "commented-decoy", "undone", "longer-name",
        "prefix", "empty"])
def test_ufw_conf_is_read_as_its_boot_script_reads_it(conf, at_boot, tmp_path):
    assert enabled_at_boot(conf) is at_boot
    # ufw-init sources the file with sh and ufw-init-functions tests the value: sh agrees.
    (tmp_path / "ufw.conf").write_text(conf)
    sourced = subprocess.run(["sh", "-c", '. "$1"; [ "$ENABLED" = yes ] || [ "$ENABLED" = YES ]', "sh",
                              str(tmp_path / "ufw.conf")])
    assert (sourced.returncode == 0) is at_boot
