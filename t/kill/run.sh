#!/usr/bin/env bash
# Workers killed under traffic (`make test-kill`): nginx with 2 workers runs the shared_state plugin, which on
# every request adds 1 to a shared-data counter (a 256 KiB value, so that a good part of each request runs
# under the shared memory's lock) and then to a metric; wrk keeps 8 connections busy while a worker is killed
# with SIGKILL 5 times (nginx's master starts a new one each time), twice while it holds the lock
# (t/kill/holder.py stops it until it does, when it can read the region in the master's memory).
# Passes when:
#   - after each kill a request is answered at once, wrk saw no timeout and no non-2xx response, and its socket
#     errors are at most the connections the killed workers held (kills x 8 connections): a worker killed
#     while holding the lock did not stop the others;
#   - afterwards the counter and the metric agree: the metric read by the plugin equals the Prometheus
#     endpoint's, and the counter exceeds it by at most the number of kills (a worker killed between the two
#     writes of one request leaves that request counted in the shared data only: at most one per kill, as a
#     worker runs one request at a time), and the counter is at least the number of answered requests;
#   - after a reload (HUP) the new workers count on in the same region, through the same lock;
#   - the log shows the kills and no other [alert]/[crit]/[emerg]/[error].
set -euo pipefail
cd "$(dirname "$0")/../.."
NGINX=${NGINX_BINARY:-/usr/sbin/nginx}
PREFIX=$PWD/build/kill/
PORT=${KILL_TEST_PORT:-1997}
KILLS=5
CONNS=8
rm -rf "$PREFIX" && mkdir -p "$PREFIX/logs" "$PREFIX/conf" "$PREFIX/html"
echo ok > "$PREFIX/html/count"

cat > "$PREFIX/conf/nginx.conf" <<CONF
load_module $PWD/target/release/libngx_http_proxy_wasm_module.so;
worker_processes 2;
error_log logs/error.log notice;
pid logs/nginx.pid;
events {}
http {
    access_log off;
    # The time limit is not under test: a loaded 2-core machine can stretch a call copying 256 KiB.
    wasm_plugin shared_state $PWD/t/plugins/shared_state.wasm time_limit=1s;
    server {
        listen 127.0.0.1:$PORT;
        root html;
        location = /count {
            proxy_wasm shared_state '{"count": {"key": "requests", "metric": "requests_total", "pad": 262144}}';
        }
        location = /report {
            proxy_wasm shared_state '{"report": {"key": "requests", "metric": "requests_total"}}';
        }
        location = /metrics {
            proxy_wasm_metrics;
        }
    }
}
CONF

fail() { echo "not ok - workers killed under traffic: $*"; exit 1; }

wrk_pid=""
cleanup() {
    [ -n "$wrk_pid" ] && kill "$wrk_pid" 2>/dev/null
    "$NGINX" -p "$PREFIX" -c conf/nginx.conf -s stop 2>/dev/null || true
}
"$NGINX" -p "$PREFIX" -c conf/nginx.conf
trap cleanup EXIT
probes=0 # requests answered outside wrk
for _ in $(seq 50); do
    [ "$(curl -s -m 2 127.0.0.1:$PORT/count || true)" = ok ] && probes=1 && break
    sleep 0.1
done
[ $probes = 1 ] || fail "nginx does not answer"
master=$(cat "$PREFIX/logs/nginx.pid")

# The master's children: its workers.
workers() {
    if [ -r "/proc/$master/task/$master/children" ]; then
        tr ' ' '\n' < "/proc/$master/task/$master/children" | grep . || true
    else
        ps -o pid= --ppid "$master" | tr -d ' '
    fi
}

# How many times the lock was taken over from a dead owner (empty when the region cannot be read).
recoveries() { python3 t/kill/holder.py "$master" 2>/dev/null || true; }

SECONDS=0
wrk -t1 -c$CONNS -d60s "http://127.0.0.1:$PORT/count" > "$PREFIX/wrk.txt" &
wrk_pid=$!
sleep 0.5

caught=0
for kills in $(seq $KILLS); do
    # Alternate between the oldest and the newest worker, wherever it is; every other kill waits instead
    # until one of the workers holds the shared memory's lock and kills that one (t/kill/holder.py).
    if [ $((kills % 2)) = 1 ]; then victim=$(workers | head -1); else victim=$(workers | tail -1); fi
    [ -n "$victim" ] || fail "no worker to kill"
    if [ $((kills % 2)) = 0 ]; then
        # shellcheck disable=SC2046
        how=$(python3 t/kill/holder.py "$master" "$victim" $(workers | grep -vx "$victim") 2>&1 || true)
        case $how in
            "held "*) caught=$((caught + 1)) victim=${how#held } ;;
            "missed "*) ;;
            *) kill -9 "$victim" 2>/dev/null || true ;; # the region cannot be read here: an ordinary kill
        esac
    else
        kill -9 "$victim"
    fi
    code=$(curl -s -o /dev/null -m 2 -w '%{http_code}' 127.0.0.1:$PORT/count || true)
    [ "$code" = 200 ] || fail "no answer right after kill $kills (status ${code:-none})"
    probes=$((probes + 1))
    # The master starts the replacement.
    for _ in $(seq 100); do
        w=$(workers)
        [ "$(echo "$w" | grep -c .)" = 2 ] && ! echo "$w" | grep -qx "$victim" && break
        sleep 0.05
    done
    [ "$(workers | grep -c .)" = 2 ] || fail "the master did not replace worker $victim"
    sleep 0.5
done
held=$(recoveries)
[ -z "$held" ] || [ "$held" -ge $caught ] || fail "$caught workers killed holding the lock, $held recoveries"
sleep 0.3
kill -INT "$wrk_pid" # wrk stops and prints its results
wait "$wrk_pid" || true
wrk_pid=""

requests=$(grep -oE '^ +[0-9]+ requests' "$PREFIX/wrk.txt" | tr -dc 0-9)
[ "${requests:-0}" -gt 500 ] || fail "too few requests: ${requests:-0} ($(cat "$PREFIX/wrk.txt"))"
! grep -q 'Non-2xx' "$PREFIX/wrk.txt" || fail "$(grep 'Non-2xx' "$PREFIX/wrk.txt")"
errors=0
if line=$(grep 'Socket errors' "$PREFIX/wrk.txt"); then
    # shellcheck disable=SC2046
    set -- $(echo "$line" | grep -oE '[0-9]+') # connect, read, write, timeout
    [ "$4" = 0 ] || fail "requests timed out: $line"
    errors=$(($1 + $2 + $3))
    [ "$errors" -le $((KILLS * CONNS)) ] || fail "too many failed requests: $line"
fi

# A reload keeps the region, its content and its lock: the new workers go on counting.
old=$(workers)
"$NGINX" -p "$PREFIX" -c conf/nginx.conf -s reload 2>>"$PREFIX/logs/signal.log"
for _ in $(seq 100); do
    w=$(workers)
    [ "$(echo "$w" | grep -c .)" = 2 ] && ! echo "$w" | grep -qxF "$old" && break
    sleep 0.1
done
! workers | grep -qxF "$old" || fail "the workers did not change on reload"
for _ in $(seq 20); do
    [ "$(curl -s -m 2 127.0.0.1:$PORT/count)" = ok ] || fail "no answer after the reload"
    probes=$((probes + 1))
done

report=$(curl -s -m 2 127.0.0.1:$PORT/report)
[[ $report =~ ^counter=([0-9]+)\ metric=([0-9]+)$ ]] || fail "bad report: $report"
counter=${BASH_REMATCH[1]} metric=${BASH_REMATCH[2]}
exported=$(curl -s -m 2 127.0.0.1:$PORT/metrics | awk '$1 == "requests_total" { print $2 }')
[ "$exported" = "$metric" ] || fail "the Prometheus endpoint says ${exported:-nothing}, the plugin $metric"
lost=$((counter - metric))
[ "$lost" -ge 0 ] && [ "$lost" -le $KILLS ] || fail "counter $counter and metric $metric differ by $lost"
answered=$((requests + probes))
[ "$counter" -ge "$answered" ] || fail "counter $counter below the $answered requests answered"

logged=$(grep -c 'exited on signal 9' "$PREFIX/logs/error.log" || true)
[ "$logged" = $KILLS ] || fail "$logged kills in the log, not $KILLS"
! grep -E '\[(alert|crit|emerg|error)\]' "$PREFIX/logs/error.log" | grep -v 'exited on signal 9' \
    || fail "errors in the log"
echo "ok - workers killed under traffic: $requests requests in $SECONDS s, $KILLS kills ($caught while holding" \
    "the lock; ${held:-?} lock recoveries), $errors failed; counter $counter = metric $metric + $lost"
