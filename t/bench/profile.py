#!/usr/bin/env python3
"""Where the time goes (`make profile`): worker CPU per request, split by component, for each benchmark route.

Starts nginx with t/bench/nginx.conf (as `make bench` does) and PROXY_WASM_PERFMAP=1, so that wasmtime names
the guest functions it compiles for perf. For each route, drives wrk and samples the worker with `perf record`
in the middle of the run, then divides the samples of each component by the requests served meanwhile:

  kernel         the TCP work of every request (the same syscalls on every route)
  nginx          nginx itself (request parsing, phases, filters, pools)
  libc           malloc/free and memcpy called by anyone
  lua            LuaJIT, its compiled traces and the lua module
  host           this module: nginx glue, host core, wasmtime's call machinery
  guest          the plugin's compiled code (wasm functions, trampolines, wasmtime builtins)

Routes are sampled in interleaved rounds; each cell is the median over rounds.

Settings (environment): PROFILE_SECONDS (sampling window per route, default 4), PROFILE_ROUNDS (default 3),
PROFILE_ROUTES (default
/limit,/lua,/wasm-lua,/wasm-directive,/wasm-c). Needs `perf` (Debian package linux-perf) with permission to
sample the worker (kernel.perf_event_paranoid <= 1, or root). Writes build/bench/profile.md.
"""

import glob
import os
import re
import signal
import shutil
import subprocess
import sys
import time

import bench

SECONDS = int(os.environ.get("PROFILE_SECONDS", "4"))
ROUNDS = int(os.environ.get("PROFILE_ROUNDS", "3"))
ROUTES = os.environ.get("PROFILE_ROUTES", "/limit,/lua,/wasm-lua,/wasm-directive,/wasm-c").split(",")
FREQ = 4000
COMPONENTS = ["kernel", "nginx", "libc", "lua", "host", "guest", "other"]


def component(dso, sym):
    if dso.startswith("[kernel"):
        return "kernel"
    if dso == "nginx":
        return "nginx"
    if dso.startswith("libc.") or dso.startswith("ld-linux"):
        return "libc"
    if "luajit" in dso or dso.startswith("ngx_http_lua_module") or dso.startswith("ndk_http"):
        return "lua"
    if dso.startswith("libngx_http_proxy_wasm_module"):
        return "host"
    if dso.startswith("[JIT]"):
        # Named by the wasmtime perf map: guest code. Unnamed JIT code: LuaJIT's traces.
        return "guest" if sym.startswith(("wasm[", "wasmtime", "signatures[")) else "lua"
    return "other"


def profile_route(worker, path):
    wrk = subprocess.Popen(
        ["wrk", "-t1", f"-c{bench.CONNECTIONS}", f"-d{SECONDS + 3}s", bench.BASE + path],
        stdout=subprocess.PIPE, text=True,
    )
    time.sleep(1.5)
    data = os.path.join(bench.PREFIX, f"perf{path.replace('/', '-')}.data")
    rec = subprocess.run(
        ["perf", "record", "-q", "-F", str(FREQ), "-p", str(worker), "-o", data, "--", "sleep", str(SECONDS)],
        capture_output=True, text=True,
    )
    out, _ = wrk.communicate()
    if rec.returncode != 0:
        bench.die(f"perf record failed (permission? see kernel.perf_event_paranoid): {rec.stderr.strip()}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    report = subprocess.run(
        ["perf", "report", "-i", data, "--stdio", "-n", "--sort", "dso,sym", "-g", "none"],
        capture_output=True, text=True, check=True,
    ).stdout
    samples = dict.fromkeys(COMPONENTS, 0)
    for line in report.splitlines():
        m = re.match(r"\s*[\d.]+%\s+(\d+)\s+(\[JIT\] tid \d+|\S+)\s+\[.\]\s+(.*)", line)
        if m:
            samples[component(m.group(2), m.group(3).strip())] += int(m.group(1))
    requests = rps * SECONDS
    return {k: v / FREQ / requests * 1e9 for k, v in samples.items()}, rps


def main():
    for tool in ("wrk", "perf"):
        if not shutil.which(tool):
            bench.die(f"{tool} is not installed (perf: apt-get install linux-perf)")
    conf_path = bench.write_conf()
    env = dict(os.environ, PROXY_WASM_PERFMAP="1")
    starter = subprocess.Popen([bench.NGINX, "-p", bench.PREFIX, "-c", conf_path, "-e",
                                bench.PREFIX + "logs/error.log"], env=env)
    if starter.wait() != 0:
        bench.die("nginx did not start")
    try:
        time.sleep(0.5)
        with open(bench.PREFIX + "logs/nginx.pid") as f:
            master = int(f.read())
        worker = bench.worker_pid(master)
        bench.check_routes()
        # Guest code compiled while nginx read its configuration is named in the starting process's map; the
        # worker's own map (plugins loaded from Lua) is appended to it for perf.
        maps = [f"/tmp/perf-{starter.pid}.map", f"/tmp/perf-{worker}.map"]
        names = "".join(open(m).read() for m in maps if os.path.exists(m))
        with open(f"/tmp/perf-{worker}.map", "w") as f:
            f.write(names)
        runs = {path: [] for path in ROUTES}
        for rnd in range(ROUNDS):
            for path in ROUTES:
                ns, rps = profile_route(worker, path)
                runs[path].append((ns, rps))
                print(f"round {rnd + 1}/{ROUNDS} {path:16} {sum(ns.values()) / 1000:6.1f} µs/req", file=sys.stderr)
        rows = []
        for path in ROUTES:
            ns = {c: bench.median([r[0][c] for r in runs[path]]) for c in COMPONENTS}
            rows.append((path, ns, bench.median([r[1] for r in runs[path]])))
    finally:
        with open(bench.PREFIX + "logs/nginx.pid") as f:
            os.kill(int(f.read()), signal.SIGQUIT)
        for m in glob.glob(f"/tmp/perf-{starter.pid}.map"):
            os.remove(m)

    lines = [
        f"`make profile`: worker CPU per request by component (µs; medians of {ROUNDS} interleaved rounds), perf "
        f"sampling {SECONDS} s per route at {FREQ} Hz under `wrk -t1 -c{bench.CONNECTIONS}`, "
        f"{time.strftime('%Y-%m-%d')}.",
        "",
        "| route | req/s | " + " | ".join(COMPONENTS) + " | total |",
        "|---|---:|" + "---:|" * (len(COMPONENTS) + 1),
    ]
    for path, ns, rps in rows:
        cells = " | ".join(f"{ns[c] / 1000:.2f}" for c in COMPONENTS)
        lines.append(f"| `{path}` | {rps:.0f} | {cells} | {sum(ns.values()) / 1000:.1f} |")
    table = "\n".join(lines) + "\n"
    with open(os.path.join(bench.PREFIX, "profile.md"), "w") as f:
        f.write(table)
    print(table)


if __name__ == "__main__":
    main()
