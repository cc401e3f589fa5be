#!/usr/bin/env python3
"""How fast the checker reaches the guest, per probe, by each way of getting there.

    python3 bench/checker_latency.py [--probes 40] [--vagrant-root DIR] [--vagrant-probes 5]

Compares 40 trivial probes (`true`) over the checker's one persistent SSH
connection with one `ssh` process per probe, against a real sshd started on
127.0.0.1. When a Vagrant guest is up (--vagrant-root, default: this
checkout), it also measures one `vagrant ssh -c` per probe and the persistent
connection to that guest. It also times a whole run of 40 one-probe checks
once connected, and the cold start of `python -m lab.check --list`.
Run it by hand; the numbers depend on the machine, so no test asserts them.
"""

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from lab import Registry  # noqa: E402
from lab.engine.context import Settings  # noqa: E402
from lab.engine.runner import run_checks  # noqa: E402
from lab.transports import open_transport  # noqa: E402
from tests.support.sshd import Sshd  # noqa: E402


def per_probe_ms(probe, count):
    started = time.perf_counter()
    for _ in range(count):
        probe()
    return (time.perf_counter() - started) * 1000 / count


def whole_run_ms(transport, settings, count):
    """A run of `count` checks of one probe each, on an open connection."""
    check = Registry()
    for n in range(count):
        def probe(ctx):
            assert ctx.guest.run("true").ok
        probe.__name__, probe.__doc__ = f"probe_{n}", "a trivial probe"
        check(probe)
    for c in check:
        c.step = "bench"
    started = time.perf_counter()
    results = run_checks(list(check), transport, settings)
    elapsed = (time.perf_counter() - started) * 1000
    assert all(r.status == "passed" for r in results.values())
    return elapsed


def cold_start_ms(runs=10):
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "lab.check", "--list"], cwd=REPO, check=True,
                       stdout=subprocess.DEVNULL)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def vagrant_guest_up(root):
    machines = Path(root) / ".vagrant" / "machines" / "default"
    return any(p.read_text().strip() for p in machines.glob("*/id"))


@contextlib.contextmanager
def login_user(work):
    """As root, a throwaway user with Debian's stock shell start-up files.

    Over SSH, Debian's bash reads ~/.bashrc even for one command. The stock
    one (and the guest's vagrant user's) returns at once when not interactive;
    a developer's own may start pyenv or conda and cost far more than the
    probe itself, which would measure their dotfiles instead of the checker.
    """
    if os.geteuid() != 0:
        yield None
        return
    name = f"labbench{os.getpid()}"
    os.chmod(work, 0o755)  # sshd reads authorized_keys as that user
    # "*" as the password: no password login, but not a locked account, which sshd refuses.
    subprocess.run(["useradd", "--password", "*", "--create-home", "--home-dir", f"{work}/home",
                    "--shell", "/bin/bash", name], check=True)
    try:
        yield name
    finally:
        subprocess.run(["userdel", name], check=False)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--probes", type=int, default=40)
    parser.add_argument("--vagrant-root", default=str(REPO))
    parser.add_argument("--vagrant-probes", type=int, default=5, help="`vagrant ssh -c` takes seconds each")
    args = parser.parse_args()

    rows = []
    with tempfile.TemporaryDirectory() as work, login_user(work) as user, \
            Sshd(Path(work) / "sshd", user=user) as sshd:
        settings = Settings(root=Path(work))
        connected = time.perf_counter()
        transport = open_transport(sshd.url(), settings)
        connect_ms = (time.perf_counter() - connected) * 1000
        persistent = per_probe_ms(lambda: transport.run("true"), args.probes)
        run_ms = whole_run_ms(transport, settings, args.probes)
        transport.close()
        ssh_cmd = ["ssh", "-q", "-i", str(sshd.key), "-p", str(sshd.port), "-o", "StrictHostKeyChecking=no",
                   "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", f"{sshd.user}@127.0.0.1", "true"]
        per_process = per_probe_ms(lambda: subprocess.run(ssh_cmd, check=True), args.probes)
        rows += [("local sshd", "one persistent connection (lab.check)", persistent),
                 ("local sshd", "one `ssh` process per probe", per_process)]

    vagrant = None
    if vagrant_guest_up(args.vagrant_root):
        settings = Settings(root=Path(args.vagrant_root))
        transport = open_transport("vagrant://default", settings)
        vagrant_persistent = per_probe_ms(lambda: transport.run("true"), args.probes)
        vagrant_run_ms = whole_run_ms(transport, settings, args.probes)
        transport.close()
        vagrant_ssh = per_probe_ms(lambda: subprocess.run(["vagrant", "ssh", "-c", "true"], cwd=args.vagrant_root,
                                                          check=True, capture_output=True), args.vagrant_probes)
        rows += [("vagrant guest", "one persistent connection (lab.check)", vagrant_persistent),
                 ("vagrant guest", "one `vagrant ssh -c` per probe", vagrant_ssh)]
        vagrant = (vagrant_ssh / vagrant_persistent, vagrant_run_ms)

    cold = cold_start_ms()
    print(f"\n{os.uname().nodename}: {os.cpu_count()} cores, Python {sys.version.split()[0]}, "
          f"{args.probes} probes of `true`\n")
    print(f"| {'guest':<14} | {'how':<40} | {'ms per probe':>12} |")
    print(f"|{'-' * 16}|{'-' * 42}|{'-' * 14}|")
    for guest, how, ms in rows:
        print(f"| {guest:<14} | {how:<40} | {ms:>12.2f} |")
    print()
    print(f"connecting to the local sshd: {connect_ms:.0f} ms (once per run)")
    print(f"a whole run of {args.probes} one-probe checks, connected, local sshd: {run_ms:.0f} ms "
          f"(goal < 1000 ms: {'met' if run_ms < 1000 else 'MISSED'})")
    print(f"persistent connection vs one ssh process per probe: {per_process / persistent:.1f}x faster")
    if vagrant:
        ratio, vagrant_run_ms = vagrant
        print(f"persistent connection vs `vagrant ssh -c`: {ratio:.0f}x faster (goal >= 50x: "
              f"{'met' if ratio >= 50 else 'MISSED'})")
        print(f"a whole run of {args.probes} one-probe checks on the guest: {vagrant_run_ms:.0f} ms "
              f"(goal < 1000 ms: {'met' if vagrant_run_ms < 1000 else 'MISSED'})")
    else:
        print("no Vagrant guest is up here: `vagrant up` first to compare with `vagrant ssh -c`")
    print(f"cold start of `python -m lab.check --list`: {cold:.0f} ms median of 10 "
          f"(goal <= 150 ms: {'met' if cold <= 150 else 'MISSED'})")


if __name__ == "__main__":
    main()
