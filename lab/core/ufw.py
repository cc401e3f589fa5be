"""ufw's rules as `sudo ufw status verbose` prints them, read into what they let in,
and whether /etc/ufw/ufw.conf turns ufw on at boot.

The one reader of that output: steps 9 and 11 judge the firewall with it, and
step 9's reference solution imports it in the guest, where it runs under
Debian's python3 with nothing else installed. So it needs only the standard
library, and nothing from the lab package.

Students write rules in many forms, and every form counts as the ports it
opens: `ufw allow 22/tcp`, `ufw allow 80` (TCP and UDP), `ufw allow 80,443/tcp`,
`ufw allow 6000:6007/tcp`, `ufw limit 22/tcp`, and the application profiles
of Debian's packages (`ufw allow OpenSSH`, `ufw allow 'Nginx Full'`). In
verbose status ufw prints a profile rule with the ports its profile names,
e.g. `80,443/tcp (Nginx Full)`, so the profiles need not be read here.
"""

import re
from dataclasses import dataclass

LETS_IN = ("ALLOW", "LIMIT")  # LIMIT allows, but refuses an address that connects 6 times in 30 s
ANYWHERE = "Anywhere"

# "To  Action  From", each rule on a line: ufw pads the columns with spaces, and
# the To column ("80,443/tcp (Nginx Full (v6))") may itself hold spaces.
RULE_LINE = re.compile(r"^(?P<to>\S.*?)\s+(?P<action>ALLOW|DENY|REJECT|LIMIT)(?: (?P<direction>IN|OUT|FWD))?"
                       r"(?:\s+(?P<source>\S.*?))?\s*$")
# A port list as ufw prints it: "22", "80,443", "6000:6007", "80,6000:6007", with an optional "/tcp".
PORTS = re.compile(r"^(?P<ports>\d+(?::\d+)?(?:,\d+(?::\d+)?)*)(?:/(?P<protocol>\w+))?$")


@dataclass(frozen=True)
class UfwRule:
    """One line of the rules table."""

    to: str            # the To column as printed, e.g. "80,443/tcp (Nginx Full)"
    action: str        # ALLOW, LIMIT, DENY or REJECT
    direction: str     # IN, OUT or FWD (routed)
    source: str        # the From column: "Anywhere" or an address, maybe with " (v6)"
    ports: tuple       # ((first, last), ...) port ranges; () when the rule covers every port
    protocol: str      # "tcp", "udp", or "any" for both
    v6: bool           # the IPv6 twin ufw adds beside most IPv4 rules
    app: str           # the application profile, e.g. "Nginx Full"; "" for none
    narrowed: bool     # only for one destination address or one network interface
    understood: bool   # False when the To column had a shape this reader doesn't know

    @property
    def lets_in(self):
        return self.direction == "IN" and self.action in LETS_IN

    @property
    def from_anywhere(self):
        return self.source.startswith(ANYWHERE)

    def covers(self, port, protocol="tcp"):
        """Whether this rule applies to connections to `port` over `protocol`."""
        if not self.understood or self.protocol not in ("any", protocol):
            return False
        return not self.ports or any(first <= port <= last for first, last in self.ports)

    def only_within(self, ports):
        """Whether every port this rule covers is one of `ports` (a set of port numbers)."""
        if not self.ports or not self.understood:
            return False
        return all(last - first < len(ports) and set(range(first, last + 1)) <= ports for first, last in self.ports)

    def describe(self):
        """The rule as a student recognises it: its To column without the (v6) marks, and its source."""
        text = self.to.replace(" (v6)", "")
        if not self.from_anywhere:
            text += f" from {self.source.replace(' (v6)', '')}"
        return text

    def delete_command(self):
        """The ufw command that removes this rule (and its IPv6 twin), where one short command can."""
        if self.narrowed or not self.from_anywhere or not self.understood or not self.ports:
            return None
        action = self.action.lower()
        if self.app:
            return f"sudo ufw delete {action} '{self.app}'"
        return f"sudo ufw delete {action} {self.to.replace(' (v6)', '')}"


@dataclass(frozen=True)
class UfwStatus:
    active: bool
    default_incoming: str  # "deny", "reject" or "allow"; "" when ufw didn't say (inactive)
    rules: tuple

    def lets_in(self, port, protocol="tcp"):
        """Whether a connection to `port` gets in, over IPv4 or IPv6.

        ufw takes the first rule that matches a connection, so a DENY (or
        REJECT) for everyone listed before an ALLOW wins over it. Rules for
        one source address count as letting in: the lab's connections all
        come from one address, the host's.
        """
        for v6 in (False, True):
            for rule in self.rules:
                if rule.v6 != v6 or rule.direction != "IN" or not rule.covers(port, protocol):
                    continue
                if rule.lets_in:
                    return True
                if rule.from_anywhere and not rule.narrowed:
                    break  # refused for everyone before any rule allows it
        return False

    def openings_beyond(self, ports):
        """The rules that let in anything besides `ports` (a set of port numbers), once each
        (an IPv6 twin is not listed again)."""
        found = {}
        for rule in self.rules:
            if rule.lets_in and not rule.only_within(set(ports)):
                found.setdefault(rule.describe(), rule)
        return list(found.values())


def parse_ufw_status(text):
    """Read what `ufw status verbose` printed into a UfwStatus.

    (Plain `ufw status` names a profile rule without its ports, "OpenSSH":
    such a rule is kept, marked not understood, and counted as an extra opening.)
    """
    active = bool(re.search(r"^Status: active\s*$", text, re.M))
    default = re.search(r"^Default: (\w+) \(incoming\)", text, re.M)
    rules = []
    in_table = False
    for line in text.splitlines():
        if re.match(r"^--\s+-+\s+--", line):  # the dashes under "To  Action  From"
            in_table = True
            continue
        match = RULE_LINE.match(line) if in_table else None
        if match:
            rules.append(_rule(match))
    return UfwStatus(active, default.group(1) if default else "", tuple(rules))


def _rule(match):
    to = match.group("to")
    source = _without_notes(match.group("source") or ANYWHERE)
    rest, narrowed = to, False
    on = re.search(r" on \S+$", rest)  # "80/tcp on eth0": one interface only
    if on:
        rest, narrowed = rest[:on.start()], True
    v6 = rest.endswith(" (v6)")
    if v6:
        rest = rest[:-len(" (v6)")]
    app = ""
    profile = re.search(r" \((?P<app>.+)\)$", rest)  # "22/tcp (OpenSSH)", "22/tcp (OpenSSH (v6))"
    if profile:
        app, rest = profile.group("app"), rest[:profile.start()]
        if app.endswith(" (v6)"):
            app, v6 = app[:-len(" (v6)")], True
    v6 = v6 or source.endswith("(v6)")
    ports, protocol, understood = (), "any", True
    words = rest.split()
    if len(words) == 2:  # "192.168.1.5 8080/tcp": one destination address only
        narrowed = True
        words = words[1:]
    target = words[0] if len(words) == 1 else ""
    port_list = PORTS.match(target)
    if port_list:
        ports = tuple(_port_range(part) for part in port_list.group("ports").split(","))
        protocol = port_list.group("protocol") or "any"
    elif target.split("/")[0] == ANYWHERE:  # every port, maybe of one protocol: "Anywhere/tcp"
        protocol = target.partition("/")[2] or "any"
    elif re.fullmatch(r"[0-9A-Fa-f.:]+(/\d+)?", target):  # an address alone: every port of that address
        narrowed = True
    else:
        understood = False
    return UfwRule(to, match.group("action"), match.group("direction") or "IN", source, ports, protocol, v6,
                   app, narrowed, understood)


def _port_range(text):
    first, _, last = text.partition(":")
    return int(first), int(last or first)


def _without_notes(source):
    """The From column without a rule's comment ("# ssh") and logging note ("(log)")."""
    source = source.split(" # ", 1)[0].strip()
    return re.sub(r"\s+\((?:log|log-all)[^)]*\)$", "", source)


# A line of ufw.conf that sets ENABLED, quoted or not, with nothing after it but a comment.
ENABLED_LINE = re.compile(r"""^\s*ENABLED=(["']?)(?P<value>[^"'\s#]*)\1\s*(#.*)?$""")


def enabled_at_boot(conf_text):
    """Whether ufw.conf's text turns ufw on at boot: its last ENABLED= assignment says yes.

    ufw's boot script (/lib/ufw/ufw-init) sources the file as sh does, so a comment
    counts for nothing and the last of several assignments wins; ufw-init-functions
    then starts the firewall for "yes" or "YES"."""
    values = [m.group("value") for m in map(ENABLED_LINE.match, conf_text.splitlines()) if m]
    return bool(values) and values[-1] in ("yes", "YES")
