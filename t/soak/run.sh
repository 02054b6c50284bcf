#!/usr/bin/env bash
# Soak of the failure semantics (issue 14): SOAK_REQUESTS requests (default 100000) with wrk through a Rust plugin
# (t/plugins/hostile.wasm) that panics in proxy_on_request_headers on every request, once under
# proxy_wasm_failure closed and once under open. Asserts that every answer is 500 (closed) / the upstream's 200
# (open), that exactly SOAK_REQUESTS answers came back, that the workers are the same processes at the end as at
# the start (no worker died and was respawned: same pids, no "exited on signal" / [alert] / [crit] in the log),
# and reports the time taken, the rate, how many requests actually entered the plugin and trapped (the host holds
# a plugin back for 5 s after more than 10 traps in 10 s, and fails those requests without entering it), and the
# workers' memory before and after. SOAK_PLUGINS (default 16) plugins are declared from the same file and the
# requests rotate over them, so more requests reach a live instance that then traps.
#
# Run from the repository root after `make build plugins` (`make soak` does both). Not part of `make test`.
# Traffic goes to 127.0.0.1 only; wrk stops after SOAK_REQUESTS answers or after SOAK_MAX_SECONDS (default 600).
set -euo pipefail

cd "$(dirname "$0")/../.."
NGINX=${NGINX_BINARY:-/usr/sbin/nginx}
MODULE=$PWD/target/release/libngx_http_proxy_wasm_module.so
PLUGIN=$PWD/t/plugins/hostile.wasm
REQUESTS=${SOAK_REQUESTS:-100000}
PLUGINS=${SOAK_PLUGINS:-16}
PORT=${SOAK_PORT:-19480}
MAX_SECONDS=${SOAK_MAX_SECONDS:-600}
THREADS=2
CONNECTIONS=16
ROOT=$PWD/build/soak

for f in "$MODULE" "$PLUGIN"; do
    [ -f "$f" ] || { echo "soak: $f is missing: run make build plugins first" >&2; exit 1; }
done
command -v wrk >/dev/null || { echo "soak: wrk is missing (apt-get install wrk)" >&2; exit 1; }
if (( REQUESTS % THREADS != 0 )); then
    echo "soak: SOAK_REQUESTS must be a multiple of $THREADS" >&2
    exit 1
fi

rm -rf "$ROOT"
mkdir -p "$ROOT/logs" "$ROOT/conf"

# wrk: each thread stops after its share of answers (the few already in flight are counted too); statuses are
# counted per thread and summed at the end.
cat >"$ROOT/soak.lua" <<'EOF'
local threads = {}

function setup(thread)
    thread:set("id", #threads)
    threads[#threads + 1] = thread
end

function init(args)
    limit = tonumber(args[1])
    plugins = tonumber(args[2])
    marker = args[3] .. "/done-" .. id
    answered, ok200, err500, other = 0, 0, 0, 0
    i = id
end

function request()
    i = i + 1
    return wrk.format("GET", "/p" .. (i % plugins))
end

function response(status, headers, body)
    answered = answered + 1
    if status == 200 and body == "upstream\n" then
        ok200 = ok200 + 1
    elseif status == 500 then
        err500 = err500 + 1
    else
        other = other + 1
    end
    if answered == limit then
        -- wrk sleeps for its whole duration even when every thread stopped: tell the script, which interrupts it.
        local f = io.open(marker, "w")
        f:close()
        wrk.thread:stop()
    end
end

function done(summary, latency, requests)
    local a, s200, s500, so = 0, 0, 0, 0
    for _, t in ipairs(threads) do
        a = a + t:get("answered")
        s200 = s200 + t:get("ok200")
        s500 = s500 + t:get("err500")
        so = so + t:get("other")
    end
    io.write(string.format("SOAK answered=%d ok200=%d err500=%d other=%d socket_errors=%d\n", a, s200, s500, so,
        summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
EOF

worker_pids() {
    local master
    master=$(cat "$ROOT/logs/nginx.pid")
    pgrep -P "$master" | sort -n | tr '\n' ' '
}

rss_kib() {
    local total=0 p
    for p in $1; do
        total=$((total + $(ps -o rss= -p "$p")))
    done
    echo "$total"
}

failed=0
for policy in closed open; do
    {
        echo "load_module $MODULE;"
        echo "worker_processes 2;"
        echo "master_process on;"
        echo "daemon on;"
        echo "pid $ROOT/logs/nginx.pid;"
        echo "error_log $ROOT/logs/error-$policy.log warn;"
        echo "events { worker_connections 1024; }"
        echo "http {"
        echo "    access_log off;"
        echo "    upstream self { server 127.0.0.1:$PORT; keepalive 16; }"
        for ((p = 0; p < PLUGINS; p++)); do
            echo "    wasm_plugin h$p $PLUGIN time_limit=20ms memory_limit=16m;"
        done
        echo "    server {"
        echo "        listen 127.0.0.1:$PORT;"
        echo "        proxy_wasm_failure $policy;"
        echo "        proxy_http_version 1.1;"
        echo "        proxy_set_header Connection \"\";"
        for ((p = 0; p < PLUGINS; p++)); do
            echo "        location = /p$p { proxy_wasm h$p '{\"fail\": \"request_headers\", \"how\": \"panic\"}'; proxy_pass http://self/upstream; }"
        done
        echo "        location = /upstream { return 200 \"upstream\\n\"; }"
        echo "    }"
        echo "}"
    } >"$ROOT/conf/nginx-$policy.conf"

    "$NGINX" -p "$ROOT/" -c "$ROOT/conf/nginx-$policy.conf" -e "$ROOT/logs/error-$policy.log"
    for _ in $(seq 50); do [ -s "$ROOT/logs/nginx.pid" ] && [ -n "$(worker_pids)" ] && break; sleep 0.1; done
    sleep 0.5
    before=$(worker_pids)
    rss_before=$(rss_kib "$before")

    start=$(date +%s.%N)
    rm -f "$ROOT"/done-*
    wrk -t$THREADS -c$CONNECTIONS -d"${MAX_SECONDS}s" -s "$ROOT/soak.lua" "http://127.0.0.1:$PORT" \
        -- $((REQUESTS / THREADS)) "$PLUGINS" "$ROOT" >"$ROOT/wrk-$policy.out" 2>&1 &
    wrk_pid=$!
    while kill -0 $wrk_pid 2>/dev/null && [ "$(ls "$ROOT" | grep -c '^done-')" -lt $THREADS ]; do
        sleep 0.05
    done
    end=$(date +%s.%N)
    kill -INT $wrk_pid 2>/dev/null || true
    wait $wrk_pid || true
    out=$(cat "$ROOT/wrk-$policy.out")
    after=$(worker_pids)
    rss_after=$(rss_kib "$after")

    master=$(cat "$ROOT/logs/nginx.pid")
    kill -QUIT "$master"
    for _ in $(seq 100); do kill -0 "$master" 2>/dev/null || break; sleep 0.1; done

    log=$ROOT/logs/error-$policy.log
    line=$(grep '^SOAK ' <<<"$out" || true)
    answered=$(sed -n 's/.*answered=\([0-9]*\).*/\1/p' <<<"$line")
    ok200=$(sed -n 's/.*ok200=\([0-9]*\).*/\1/p' <<<"$line")
    err500=$(sed -n 's/.*err500=\([0-9]*\).*/\1/p' <<<"$line")
    other=$(sed -n 's/.*other=\([0-9]*\).*/\1/p' <<<"$line")
    sockerr=$(sed -n 's/.*socket_errors=\([0-9]*\).*/\1/p' <<<"$line")
    trapped=$(grep -c 'proxy_on_request_headers trapped: ' "$log" || true)
    held=$(grep -c 'held back after\|not restarted for' "$log" || true)
    fresh=$(grep -c 'a fresh instance replaces the one that trapped' "$log" || true)
    deaths=$(grep -c 'exited on signal\|\[alert\]\|\[crit\]\|\[emerg\]' "$log" || true)
    seconds=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
    rate=$(awk -v n="${answered:-0}" -v s="$seconds" 'BEGIN { printf "%.0f", n / s }')

    echo "soak $policy: ${answered:-?} answers in ${seconds} s (${rate}/s): 200=${ok200:-?} 500=${err500:-?} other=${other:-?}," \
        "socket errors ${sockerr:-?}; the plugin trapped $trapped times (fresh instances: $fresh; requests failed while it was held back: $held);" \
        "workers [$before] -> [$after], RSS ${rss_before} -> ${rss_after} KiB; deaths/alerts in the log: $deaths"

    want=$err500
    [ "$policy" = open ] && want=$ok200
    fail=""
    [ -n "$line" ] || fail+=" no wrk summary ($out);"
    [ "${answered:-0}" -ge "$REQUESTS" ] || fail+=" $REQUESTS answers expected;"
    [ "${want:-0}" = "${answered:-}" ] || fail+=" every answer must be $([ "$policy" = open ] && echo 200 || echo 500);"
    [ "${sockerr:-1}" = 0 ] || fail+=" socket errors;"
    [ -n "$before" ] && [ "$before" = "$after" ] || fail+=" the workers changed;"
    [ "$deaths" = 0 ] || fail+=" the log has worker deaths or alerts;"
    [ "$trapped" -gt 0 ] || fail+=" the plugin never trapped;"
    if [ -n "$fail" ]; then
        echo "soak $policy: FAILED:$fail" >&2
        failed=$((failed + 1))
    fi
done

echo "$((2 - failed)) passed, $failed failed"
[ $failed = 0 ]
