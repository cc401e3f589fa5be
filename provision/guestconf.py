"""Install configuration in the guest the careful way, for the reference solutions.

Each file is rendered from a commented Jinja2 template under templates/ and
written only when its content differs, so running a solution twice changes
nothing. Every change is reported, nginx's configuration is tested with
`nginx -t` before any reload, and systemd is told about changed units.
Runs as root inside the guest, with Debian's python3.
"""

import grp
import os
import pwd
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import facts

# The kit's guest-safe core (lab/core/) is in the lab folder, the one above this
# one. It goes last on the path, after the standard library, so that no file a
# student leaves in the shared folder (a random.py, a secrets.py) can stand in
# for a module Python or Jinja2 imports. Every solution imports this module, so
# this is the one place that says where the core is.
sys.path.append(str(Path(__file__).resolve().parent.parent))
from lab.core.files import write_atomically  # found through the line above

TEMPLATES = Path(__file__).resolve().parent / "templates"
APT = ["apt-get", "-o", f"DPkg::Lock::Timeout={facts.APT_LOCK_TIMEOUT}"]


def say(message):
    print(message, flush=True)


def run(*command, check=True, **kwargs):
    """Run a command given as separate arguments (no shell, so nothing to quote)."""
    return subprocess.run(command, check=check, **kwargs)


def apt_install(*packages):
    """Install Debian packages that are missing; report which."""
    missing = [p for p in packages if run("dpkg-query", "-W", f"-f={facts.PACKAGE_STATUS_FORMAT}", p, check=False,
                                          capture_output=True, text=True).stdout != facts.PACKAGE_INSTALLED]
    if not missing:
        return False
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    commands = [[*APT, "install", "-y", "-qq", "--no-install-recommends", *missing]]
    if not package_lists_fresh():
        commands.insert(0, [*APT, "update", "-qq"])
    for command in commands:
        # apt's progress lines would drown what the solution changed; show them only if it fails.
        result = run(*command, check=False, env=env, capture_output=True, text=True)
        if result.returncode != 0:
            sys.exit(f"{' '.join(command)} failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}")
    record(f"installed {' '.join(missing)}")
    return True


def package_lists_fresh(max_age=3600):
    """Whether `apt-get update` ran within the last hour (it takes a while on a slow guest)."""
    lists = Path("/var/lib/apt/lists")
    stamps = [p.stat().st_mtime for p in lists.glob("*_Packages*")] if lists.is_dir() else []
    return bool(stamps) and time.time() - max(stamps) < max_age


def record(change):
    """Report one change; solve.py counts these lines to say when nothing changed."""
    say(f"  changed: {change}")


def render(template, **values):
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), undefined=jinja2.StrictUndefined,
                             keep_trailing_newline=True)
    # Every template may name the deployment's facts, as {{ facts.DB_PATH }}.
    env.globals["facts"] = facts
    env.filters["dirname"] = lambda path: os.path.dirname(str(path))
    return env.get_template(template).render(**values)


def install_file(path, content, mode=0o644, owner="root", group="root"):
    """Write content to path if it differs; returns True when something changed."""
    path = Path(path)
    if path.exists() and path.read_text() == content:
        changed = False
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, content)  # a reader (nginx, systemd) sees the old file or the new one, never half
        changed = True
    changed |= set_owner_and_mode(path, owner, group, mode)
    if changed:
        record(f"wrote {path}")
    return changed


def set_owner_and_mode(path, owner, group, mode):
    """Give path its owner, group and permission bits; True when any of them changed."""
    uid, gid = pwd.getpwnam(owner).pw_uid, grp.getgrnam(group).gr_gid
    stat = path.stat()
    if (stat.st_mode & 0o7777, stat.st_uid, stat.st_gid) == (mode, uid, gid):
        return False
    os.chown(path, uid, gid)
    path.chmod(mode)
    return True


def install_template(template, path, mode=0o644, **values):
    return install_file(path, render(template, **values), mode=mode)


def link(target, path):
    path = Path(path)
    if path.is_symlink() and os.readlink(path) == str(target):
        return False
    if path.exists() or path.is_symlink():
        path.unlink()
    path.symlink_to(target)
    record(f"linked {path} -> {target}")
    return True


def remove(path):
    path = Path(path)
    if not (path.exists() or path.is_symlink()):
        return False
    path.unlink()
    record(f"removed {path}")
    return True


def reload_nginx():
    """Test the whole nginx configuration, then reload; a broken config is never loaded."""
    test = run("nginx", "-t", check=False, capture_output=True, text=True)
    if test.returncode != 0:
        sys.exit(f"nginx -t failed, nginx was not reloaded:\n{test.stderr}")
    run("systemctl", "reload-or-restart", "nginx")
    say("  nginx -t passed; nginx reloaded")


def port_answers(port, host="127.0.0.1"):
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def wait_until(ready, failure, timeout=90):
    """Poll ready() once a second until it is true; stop the solution with `failure` after timeout seconds."""
    for _ in range(timeout):
        if ready():
            return
        time.sleep(1)
    sys.exit(failure)


def daemon_reload():
    run("systemctl", "daemon-reload")
    say("  systemd reloaded its units")


def systemctl_state(verb, unit):
    return run("systemctl", verb, unit, check=False, capture_output=True, text=True).stdout.strip()


def enable_now(unit, restart=False):
    """Enable a unit for boot and make sure it runs (restarted when its config changed)."""
    if systemctl_state("is-enabled", unit) != "enabled":
        run("systemctl", "enable", "--quiet", unit)
        record(f"enabled {unit}")
    if restart:
        run("systemctl", "restart", unit)
        record(f"restarted {unit}")
    elif systemctl_state("is-active", unit) != "active":
        run("systemctl", "start", unit)
        record(f"started {unit}")


def disable_now(unit):
    changed = False
    if systemctl_state("is-active", unit) in ("active", "activating", "failed"):
        run("systemctl", "stop", unit)
        changed = True
    if systemctl_state("is-enabled", unit) == "enabled":
        run("systemctl", "disable", "--quiet", unit)
        changed = True
    if changed:
        record(f"stopped and disabled {unit}")
    return changed


def ensure_system_user(name, home, groups=()):
    """A system account for a service: no password, no login shell."""
    try:
        pwd.getpwnam(name)
    except KeyError:
        run("useradd", "--system", "--home-dir", home, "--no-create-home", "--shell", "/usr/sbin/nologin", name)
        record(f"created system user {name}")
    for group in groups:
        if name not in grp.getgrnam(group).gr_mem:
            run("usermod", "--append", "--groups", group, name)
            record(f"added {name} to group {group}")


def ensure_dir(path, owner="root", group="root", mode=0o755):
    path = Path(path)
    changed = not path.is_dir()
    path.mkdir(parents=True, exist_ok=True)
    changed |= set_owner_and_mode(path, owner, group, mode)
    if changed:
        record(f"prepared {path} ({owner}:{group} {mode:o})")
    return changed


def chown_tree(path, owner, group):
    """Hand every file below path to owner:group (e.g. the database after a change of user)."""
    uid, gid = pwd.getpwnam(owner).pw_uid, grp.getgrnam(group).gr_gid
    changed = False
    for folder, _subfolders, files in os.walk(path):
        for name in [folder, *(os.path.join(folder, f) for f in files)]:
            stat = os.lstat(name)
            if (stat.st_uid, stat.st_gid) != (uid, gid):
                os.chown(name, uid, gid)
                changed = True
    if changed:
        record(f"gave {path} to {owner}:{group}")
    return changed


def sync_tree(source, target):
    """Make target an exact copy of source (no __pycache__); report whether anything changed.

    The app runs from this guest-local copy: the shared folder is mounted too
    late at boot for a service to run from it.
    """
    source, target = Path(source), Path(target)
    wanted = {p.relative_to(source) for p in source.rglob("*")
              if "__pycache__" not in p.parts and (p.is_file() or p.is_dir())}
    changed = []
    for rel in sorted(wanted):
        src, dst = source / rel, target / rel
        if src.is_dir():
            dst.mkdir(parents=True, exist_ok=True)
        elif not dst.is_file() or dst.read_bytes() != src.read_bytes():
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)
            changed.append(str(rel))
    for extra in sorted(target.rglob("*"), reverse=True):
        rel = extra.relative_to(target)
        if "__pycache__" not in rel.parts and rel not in wanted:
            shutil.rmtree(extra) if extra.is_dir() else extra.unlink()
            changed.append(f"-{rel}")
    if changed:
        record(f"copied {source} to {target} ({len(changed)} file(s) changed)")
    return bool(changed)
