#!/usr/bin/env python3
"""Throughput of the likes app behind each kind of server, measured with wrk.

    python3 bench/app_throughput.py [--seconds 10] [--connections 32]

Starts each server on 127.0.0.1, loads it with wrk for a fixed time and prints
a table of requests per second and p50/p99 latency. Run it by hand; the
numbers depend on the machine, so no test asserts them.
"""

import argparse
import os
import platform
import re
import subprocess
import sys
import tempfile
from contextlib import ExitStack

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import requests

from tests.support.localservers import DevServer, Gunicorn, Nginx

# Goals from the curriculum: a reverse proxy with real app servers should be
# far faster than the development server, and nginx far faster at static files.
GOALS = [
    ("GET /likes", "nginx -> gunicorn (3 workers)", "Bottle dev server", 4),
    ("GET /static/style.css", "nginx", "Bottle dev server", 10),
]


def to_ms(text):
    value, unit = float(re.match(r"([\d.]+)", text).group(1)), re.search(r"(us|ms|s)$", text).group(1)
    return value * {"us": 0.001, "ms": 1, "s": 1000}[unit]


def run_wrk(url, seconds, connections):
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url],
        capture_output=True, text=True, check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = to_ms(re.search(r"\s50%\s+(\S+)", out).group(1))
    p99 = to_ms(re.search(r"\s99%\s+(\S+)", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, p50, p99, int(errors.group(1)) if errors else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="load time per row (default: %(default)s)")
    parser.add_argument("--connections", type=int, default=32, help="concurrent connections (default: %(default)s)")
    args = parser.parse_args()

    rows = []
    with tempfile.TemporaryDirectory() as work, ExitStack() as stack:
        db = os.path.join(work, "likes.db")
        dev = stack.enter_context(DevServer(os.path.join(work, "dev"), db))
        requests.post(dev.url + "/likes", json={"likes": [f"like {i}" for i in range(20)]}, timeout=5)
        gunicorn = stack.enter_context(Gunicorn(os.path.join(work, "gunicorn"), db, workers=3))
        nginx = stack.enter_context(Nginx(os.path.join(work, "nginx"), [f"127.0.0.1:{gunicorn.port}"]))
        targets = [
            ("GET /likes", "Bottle dev server", dev.url + "/likes"),
            ("GET /likes", "gunicorn (3 workers)", gunicorn.url + "/likes"),
            ("GET /likes", "nginx -> gunicorn (3 workers)", nginx.url + "/likes"),
            ("GET /static/style.css", "Bottle dev server", dev.url + "/static/style.css"),
            ("GET /static/style.css", "gunicorn (3 workers)", gunicorn.url + "/static/style.css"),
            ("GET /static/style.css", "nginx", nginx.url + "/static/style.css"),
        ]
        for request, server, url in targets:
            print(f"measuring {request} on {server} ...", file=sys.stderr, flush=True)
            rows.append((request, server) + run_wrk(url, args.seconds, args.connections))

    print(f"\n{platform.node()}: {os.cpu_count()} cores, {platform.python_implementation()} "
          f"{platform.python_version()}, {args.connections} connections, {args.seconds}s each\n")
    print(f"| {'request':<22} | {'server':<30} | {'req/s':>9} | {'p50 ms':>8} | {'p99 ms':>8} | {'errors':>6} |")
    print(f"|{'-' * 24}|{'-' * 32}|{'-' * 11}|{'-' * 10}|{'-' * 10}|{'-' * 8}|")
    for request, server, rps, p50, p99, errors in rows:
        print(f"| {request:<22} | {server:<30} | {rps:>9.0f} | {p50:>8.2f} | {p99:>8.2f} | {errors:>6} |")
    print()
    rate = {(r[0], r[1]): r[2] for r in rows}
    for request, fast, slow, goal in GOALS:
        ratio = rate[(request, fast)] / rate[(request, slow)]
        verdict = "met" if ratio >= goal else "MISSED"
        print(f"{request}: {fast} is {ratio:.1f}x {slow} (goal >= {goal}x: {verdict})")


if __name__ == "__main__":
    main()
