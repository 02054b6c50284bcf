#!/usr/bin/env python3
"""Instructions per request for each route of `make bench`, counted by callgrind (`make bench`, after the wrk
table; alone: `python3 t/bench/callgrind.py`).

nginx runs as a single process (`master_process off`) under `valgrind --tool=callgrind` with instrumentation off.
For each route: after a warm-up, the counters are zeroed, instrumentation turned on for exactly REQUESTS requests on
one keep-alive connection, turned off, and the counts dumped; the same for an idle period as long as the
slowest route took (the timers and the epoch ticker a worker runs anyway), which is subtracted pro rata.
Instruction counts do not move with the machine's noise: the same binary gives the same count to well under 1%,
so they compare builds. Each count is split by where the instructions ran: nginx, the lua module and LuaJIT,
this module's own code, wasmtime (code of this module's object whose function is wasmtime's or cranelift's), JIT
code (outside any object: the guest as wasmtime compiled it, and LuaJIT's traces), and the C library with the
rest.

Settings (environment): CALLGRIND_REQUESTS (default 2000), BENCH_PLUGIN (as bench.py).
"""

import http.client
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  (the routes, the configuration and the checks of the wrk bench)

REQUESTS = int(os.environ.get("CALLGRIND_REQUESTS", "2000"))
WARMUP = 200
OUT = bench.PREFIX + "callgrind/"


def requests(path, n):
    conn = http.client.HTTPConnection("127.0.0.1", 9180, timeout=60)
    for _ in range(n):
        conn.request("GET", path)
        r = conn.getresponse()
        r.read()
        if r.status != 200:
            bench.die(f"{path} answered {r.status} under callgrind")
    conn.close()


def control(pid, *args):
    subprocess.run(["callgrind_control", *args, str(pid)], check=True, capture_output=True)


def latest_dump(pid, before):
    files = [f for f in os.listdir(OUT) if f.startswith(f"callgrind.out.{pid}.") and f not in before]
    if not files:
        bench.die("callgrind wrote no dump")
    return OUT + max(files, key=lambda f: int(f.rsplit(".", 1)[1]))


def measure(pid, action):
    """Counts of `action` run with collection on: total instructions and self instructions by category."""
    before = set(os.listdir(OUT))
    control(pid, "-z")
    control(pid, "-i", "on")
    t0 = time.monotonic()
    action()
    elapsed = time.monotonic() - t0
    control(pid, "-i", "off")
    control(pid, "-d")
    return parse(latest_dump(pid, before)), elapsed


CATEGORIES = ["nginx", "lua", "module", "wasmtime", "JIT code", "libc and other"]


def category(obj, fn):
    name = os.path.basename(obj)
    if obj in ("", "???") or name.startswith("???"):
        return "JIT code"
    if name == "nginx":
        return "nginx"
    if "lua" in name:
        return "lua"
    if "proxy_wasm" in name:
        return "wasmtime" if re.search(r"wasmtime|cranelift|wasmparser|pulley", fn) else "module"
    return "libc and other"


def parse(path):
    """Self cost (Ir) by category from a callgrind dump (name compression resolved; the cost line after a
    `calls=` line is the call's inclusive cost and is skipped)."""
    names = {"ob": {}, "fn": {}}
    obj, fn = "", ""
    totals = dict.fromkeys(CATEGORIES, 0)
    skip = False
    with open(path, errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            m = re.match(r"^(c?ob|c?fn|fl|fi|fe|cfi|cfl)=(?:\((\d+)\))?\s*(.*)$", line)
            if m:
                kind, ident, name = m.groups()
                table = "ob" if kind.endswith("ob") else "fn" if kind.endswith("fn") else None
                if table and ident is not None:
                    if name:
                        names[table][ident] = name
                    name = names[table].get(ident, name)
                if kind == "ob":
                    obj = name
                elif kind == "fn":
                    fn = name
                continue
            if line.startswith("calls="):
                skip = True
                continue
            if line and (line[0].isdigit() or line[0] in "+-*"):
                if skip:
                    skip = False
                    continue
                parts = line.split()
                if len(parts) >= 2:
                    totals[category(obj, fn)] += int(parts[1])
    return totals


def main():
    if not os.path.exists("/usr/bin/valgrind"):
        bench.die("valgrind is not installed (make deps)")
    conf_path = bench.write_conf()
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        os.remove(OUT + f)
    # Fill the compiled-code cache outside valgrind (compiling under it takes minutes).
    subprocess.run([bench.NGINX, "-t", "-q", "-p", bench.PREFIX, "-c", conf_path, "-e", bench.PREFIX + "logs/error.log"],
                   check=True)
    vg = subprocess.Popen(
        ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={OUT}callgrind.out.%p",
         bench.NGINX, "-p", bench.PREFIX, "-c", conf_path, "-e", bench.PREFIX + "logs/error-callgrind.log",
         "-g", "daemon off; master_process off;"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(600):
            try:
                requests("/limit", 1)
                break
            except OSError:
                time.sleep(0.2)
        else:
            bench.die("nginx did not start under callgrind")
        bench.check_routes()
        rows = []
        for path, label in bench.ROUTES:
            requests(path, WARMUP)
            totals, elapsed = measure(vg.pid, lambda: requests(path, REQUESTS))
            rows.append((path, label, totals, elapsed))
        slowest = max(r[3] for r in rows)
        idle, idle_elapsed = measure(vg.pid, lambda: time.sleep(slowest))
    finally:
        vg.send_signal(signal.SIGQUIT)
        vg.wait(timeout=120)

    lines = [
        f"Instructions per request (callgrind, single process, {REQUESTS} requests per route on one keep-alive "
        f"connection after {WARMUP} of warm-up, the idle process's count subtracted pro rata), "
        f"{time.strftime('%Y-%m-%d')}:",
        "",
        "| route | instructions/request | " + " | ".join(CATEGORIES) + " |",
        "|---|---:|" + "---:|" * len(CATEGORIES),
    ]
    for path, label, totals, elapsed in rows:
        share = elapsed / idle_elapsed if idle_elapsed else 0
        per = {c: max(0.0, (totals[c] - idle[c] * share) / REQUESTS) for c in CATEGORIES}
        total = sum(per.values())
        lines.append(f"| {label} (`{path}`) | {total:,.0f} | " +
                     " | ".join(f"{per[c]:,.0f}" for c in CATEGORIES) + " |")
    table = "\n".join(lines) + "\n"
    with open(bench.PREFIX + "instructions.md", "w") as f:
        f.write(table)
    print(table)


if __name__ == "__main__":
    main()
