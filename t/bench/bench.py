#!/usr/bin/env python3
"""Side-by-side throughput of the fault-injection workload in one nginx (`make bench`).

Starts nginx (one worker) with t/bench/nginx.conf, then drives each route with wrk in interleaved rounds (the
order rotating from round to round) so that machine drift hits every route alike. Per route: the median over
rounds of requests/s, p50/p99 latency and worker CPU microseconds per request (utime + stime of the worker from
/proc over the requests served), and the ratios to native Lua and to nginx's own `return 200` in that worker
CPU per request, as the issue defines its targets (native Lua's CPU per request over the route's: 0.95 means
the route costs the worker 1/0.95 of native Lua's CPU), each the median of the ratios taken within one round
(neighbouring runs: what a noisy machine changes between rounds cancels out). Checks the targets of the issue, writes
build/bench/results.md and build/bench/results.svg, and prints the table.

Then a soak: BENCH_SOAK requests (default 1000000; 0 skips it) through the directive route, with the worker's RSS
sampled before and after every 10-second wrk run, to show it stays flat. Last, the worker RSS of the same nginx
without this module (t/bench/nginx-baseline.conf), for comparison.

Settings (environment): BENCH_DURATION (seconds per run, default 4), BENCH_CONNECTIONS (default 50),
BENCH_ROUNDS (default 5), BENCH_PLUGIN (wasm file under t/plugins, default fault_injection.wasm), BENCH_SOAK.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PREFIX = os.path.join(ROOT, "build", "bench") + "/"
NGINX = os.environ.get("NGINX_BINARY", "/usr/sbin/nginx")
DURATION = int(os.environ.get("BENCH_DURATION", "4"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "50"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
PLUGIN = os.environ.get("BENCH_PLUGIN", "fault_injection.wasm")
SOAK = int(os.environ.get("BENCH_SOAK", "1000000"))
ROUTES = [
    ("/limit", "nginx return 200 (ceiling)"),
    ("/lua", "native Lua fault injection (access + header filter)"),
    ("/wasm-lua", "Wasm through Lua, APISIX shape (access + header-filter calls)"),
    ("/wasm-lua-c", "same, plugin in C"),
    ("/wasm-directive", "Wasm through directives"),
    ("/wasm-as", "same, plugin in AssemblyScript"),
    ("/wasm-c", "same, plugin in C"),
]
BASE = "http://127.0.0.1:9180"


def die(msg):
    print(f"bench: {msg}", file=sys.stderr)
    sys.exit(1)


def clock_ticks():
    return os.sysconf("SC_CLK_TCK")


def worker_pid(master):
    out = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True).stdout.split()
    if not out:
        die("no nginx worker found")
    return int(out[0])


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # utime and stime are fields 14 and 15 of stat; after the ")" they are at index 11 and 12.
    return (int(fields[11]) + int(fields[12])) / clock_ticks()


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def private_kib(pid):
    """Memory only this process holds (private clean + dirty pages): what one more worker costs. RSS also counts
    the pages a worker shares with the master (compiled plugins, the heap the master filled before fork)."""
    total = 0
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith(("Private_Clean:", "Private_Dirty:")):
                total += int(line.split()[1])
    return total


def to_ms(value, unit):
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def run_wrk(path, duration=None):
    out = subprocess.run(
        ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{duration or DURATION}s", "--latency", BASE + path],
        capture_output=True, text=True, check=True,
    ).stdout
    reqs = int(re.search(r"(\d+) requests in", out).group(1))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = {m.group(1): to_ms(m.group(2), m.group(3))
           for m in re.finditer(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)}
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        die(f"{path}: {errors.group(1)} non-2xx responses")
    return reqs, rps, lat.get("50", 0.0), lat.get("99", 0.0)


def write_conf():
    """Check the build is there and write build/bench/nginx.conf; returns its path."""
    module = os.path.join(ROOT, "target", "release", "libngx_http_proxy_wasm_module.so")
    if not os.path.exists(module):
        die(f"{module} is missing: run `make build` first")
    if not os.path.exists(os.path.join(ROOT, "t", "plugins", PLUGIN)):
        die(f"t/plugins/{PLUGIN} is missing: run `make plugins` first")
    os.makedirs(PREFIX + "logs", exist_ok=True)
    with open(os.path.join(ROOT, "t", "bench", "nginx.conf")) as f:
        conf = f.read().replace("PLUGIN_FILE", PLUGIN)
    conf_path = PREFIX + "nginx.conf"
    with open(conf_path, "w") as f:
        f.write(conf)
    return conf_path


def check_routes():
    """Every route answers 200 "hello world" before anything is measured."""
    for path, _ in ROUTES:
        try:
            body = urllib.request.urlopen(BASE + path).read()
        except OSError as e:
            die(f"{path} does not answer 200: {e} (see {PREFIX}logs/error.log)")
        if body.strip() != b"hello world":
            die(f"{path} answered {body!r}, not hello world")


BASELINE_SECONDS = 5


def baseline_rss():
    """Worker RSS and private memory of nginx with the lua module but without this module, after serving the
    native Lua route."""
    conf_path = PREFIX + "nginx-baseline.conf"
    shutil.copy(os.path.join(ROOT, "t", "bench", "nginx-baseline.conf"), conf_path)
    subprocess.run([NGINX, "-p", PREFIX, "-c", conf_path, "-e", PREFIX + "logs/error-baseline.log"], check=True)
    pid_file = PREFIX + "logs/nginx-baseline.pid"
    try:
        time.sleep(0.5)
        with open(pid_file) as f:
            worker = worker_pid(int(f.read()))
        subprocess.run(["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{BASELINE_SECONDS}s", "http://127.0.0.1:9181/lua"],
                       capture_output=True, check=True)
        return rss_kib(worker), private_kib(worker)
    finally:
        with open(pid_file) as f:
            os.kill(int(f.read()), signal.SIGQUIT)


def median(values):
    v = sorted(values)
    n = len(v)
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


def main():
    if not shutil.which("wrk"):
        die("wrk is not installed (apt-get install wrk, or `make deps`)")
    conf_path = write_conf()
    subprocess.run([NGINX, "-p", PREFIX, "-c", conf_path, "-e", PREFIX + "logs/error.log"], check=True)
    try:
        time.sleep(0.5)
        with open(PREFIX + "logs/nginx.pid") as f:
            master = int(f.read())
        worker = worker_pid(master)
        check_routes()
        rss_before = rss_kib(worker)
        totals = {p: {"cpu_us": [], "rps": [], "p50": [], "p99": [], "x_lua": [], "x_limit": []}
                  for p, _ in ROUTES}
        for rnd in range(ROUNDS):
            order = ROUTES[rnd % len(ROUTES):] + ROUTES[:rnd % len(ROUTES)]
            this_round = {}
            for path, _ in order:
                cpu0 = cpu_seconds(worker)
                reqs, rps, p50, p99 = run_wrk(path)
                cpu1 = cpu_seconds(worker)
                t = totals[path]
                t["cpu_us"].append((cpu1 - cpu0) / reqs * 1e6 if reqs else 0.0)
                t["rps"].append(rps)
                t["p50"].append(p50)
                t["p99"].append(p99)
                this_round[path] = t["cpu_us"][-1]
                print(f"round {rnd + 1}/{ROUNDS} {path:16} {rps:10.0f} req/s {this_round[path]:5.2f} µs/req",
                      file=sys.stderr)
            for path, _ in ROUTES:
                totals[path]["x_lua"].append(this_round["/lua"] / this_round[path])
                totals[path]["x_limit"].append(this_round["/limit"] / this_round[path])
        rss_after = rss_kib(worker)
        private_after = private_kib(worker)
        soak = []
        done = 0
        while done < SOAK:
            reqs, _, _, _ = run_wrk("/wasm-directive", 10)
            done += reqs
            soak.append((done, rss_kib(worker)))
            print(f"soak {done:9d} requests, worker RSS {soak[-1][1] / 1024:.1f} MiB", file=sys.stderr)
    finally:
        with open(PREFIX + "logs/nginx.pid") as f:
            os.kill(int(f.read()), signal.SIGQUIT)
    rss_baseline, private_baseline = baseline_rss()

    rows = []
    for path, label in ROUTES:
        t = totals[path]
        rows.append({
            "path": path, "label": label,
            **{k: median(t[k]) for k in ("rps", "p50", "p99", "cpu_us", "x_lua", "x_limit")},
        })
    by = {r["path"]: r for r in rows}
    lines = [
        f"`make bench`: one nginx worker, `wrk -t1 -c{CONNECTIONS} -d{DURATION}s` per run, {ROUNDS} interleaved "
        f"rounds (medians; ratios of worker CPU per request, taken within each round), plugin `t/plugins/{PLUGIN}`, "
        f"{time.strftime('%Y-%m-%d')}.",
        "",
        "| route | req/s | × native Lua | × return 200 | p50 ms | p99 ms | worker CPU µs/req |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['label']} (`{r['path']}`) | {r['rps']:.0f} | {r['x_lua']:.2f} | {r['x_limit']:.2f} "
            f"| {r['p50']:.2f} | {r['p99']:.2f} | {r['cpu_us']:.1f} |"
        )
    targets = [
        ("Wasm through Lua ≥ 0.95 × native Lua", by["/wasm-lua"]["x_lua"], 0.95),
        ("the same with the C plugin ≥ 0.98 × native Lua", by["/wasm-lua-c"]["x_lua"], 0.98),
        ("Wasm through directives ≥ 1.05 × native Lua", by["/wasm-directive"]["x_lua"], 1.05),
        ("Wasm through directives ≥ 0.9 × return 200", by["/wasm-directive"]["x_limit"], 0.9),
    ]
    lines += ["", "Targets: " + "; ".join(
        f"{name}: {value:.2f} ({'met' if value >= goal else 'not met'})" for name, value, goal in targets) + "."]
    lines += ["", f"Worker RSS: {rss_before / 1024:.1f} MiB before the runs, {rss_after / 1024:.1f} MiB after, of "
                  f"which {private_after / 1024:.1f} MiB private to the worker (the rest shared with the master). "
                  f"The same nginx without this module and its plugins (t/bench/nginx-baseline.conf, after "
                  f"{BASELINE_SECONDS} s of `/lua`): {rss_baseline / 1024:.1f} MiB, {private_baseline / 1024:.1f} "
                  f"MiB private."]
    if soak:
        samples = ", ".join(f"{kib / 1024:.1f}" for _, kib in soak)
        lines += ["", f"Soak: {soak[-1][0]} requests through `/wasm-directive`; worker RSS (MiB) "
                      f"{rss_after / 1024:.1f} before, then after each 10 s run: {samples}."]
    table = "\n".join(lines) + "\n"
    with open(os.path.join(ROOT, "build", "bench", "results.md"), "w") as f:
        f.write(table)
    with open(os.path.join(ROOT, "build", "bench", "results.svg"), "w") as f:
        f.write(svg(rows))
    print(table)


def svg(rows):
    width, bar_h, gap, left = 640, 26, 12, 250
    top = max(r["rps"] for r in rows)
    height = len(rows) * (bar_h + gap) + gap + 20
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="13">']
    for i, r in enumerate(rows):
        y = gap + i * (bar_h + gap)
        w = (width - left - 90) * r["rps"] / top
        parts.append(f'<text x="{left - 8}" y="{y + 17}" text-anchor="end">{r["label"]}</text>')
        parts.append(f'<rect x="{left}" y="{y}" width="{w:.0f}" height="{bar_h}" fill="#3b7dd8"/>')
        parts.append(f'<text x="{left + w + 6:.0f}" y="{y + 17}">{r["rps"]:.0f} req/s</text>')
    parts.append(f'<text x="{left}" y="{height - 6}" fill="#555">requests per second, one nginx worker (higher is better)</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


if __name__ == "__main__":
    main()
