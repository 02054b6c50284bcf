#!/usr/bin/env bash
# No panic crosses into nginx (`make test-panic`): with PROXY_WASM_TEST_PANIC naming one of the module's entry
# points, that entry point panics inside its guard (src/unwind.rs). One of each kind: a directive setter and a
# configuration-time proxy_on_configure run (in the master: `nginx -t` fails with a message, the master is not
# aborted), a phase handler, a function Lua calls (resty.proxy-wasm), an HTTP call's event handler and the timer
# handler (in the worker: the request gets an answer, the worker survives with the same pid, one [alert] line).
set -euo pipefail
cd "$(dirname "$0")/../.."
NGINX=${NGINX_BINARY:-/usr/sbin/nginx}
MODULES_DIR=${MODULES_DIR:-/usr/share/nginx/modules}
PREFIX=$PWD/build/panic/
PORT=${PANIC_TEST_PORT:-1989}
rm -rf "$PREFIX" && mkdir -p "$PREFIX/logs" "$PREFIX/conf"

cat > "$PREFIX/conf/tick.wat" <<'WAT'
(module
  (import "env" "proxy_set_tick_period_milliseconds" (func $tick (param i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32) i32.const 1024)
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_configure") (param i32 i32) (result i32)
    (drop (call $tick (i32.const 50)))
    i32.const 1)
  (func (export "proxy_on_tick") (param i32)))
WAT

cat > "$PREFIX/conf/nginx.conf" <<CONF
load_module $MODULES_DIR/ndk_http_module.so;
load_module $MODULES_DIR/ngx_http_lua_module.so;
load_module $PWD/target/release/libngx_http_proxy_wasm_module.so;
worker_processes 1;
error_log logs/error.log info;
pid logs/nginx.pid;
events {}
http {
    access_log off;
    lua_package_path "$PWD/lua/?.lua;;";
    wasm_plugin hostcalls $PWD/t/plugins/hostcalls.wasm;
    wasm_plugin tick conf/tick.wat;
    server {
        listen 127.0.0.1:$PORT;
        location /proxy-wasm-calls {
            internal;
            proxy_wasm_http_calls;
            proxy_pass \$proxy_wasm_call_url;
            proxy_set_header Host \$proxy_wasm_call_authority;
        }
        location = /pid { return 200 \$pid; }
        location = /plugin {
            proxy_wasm hostcalls '{"on_request_headers": [{"op": "log", "msg": "ran"}]}';
            proxy_pass http://127.0.0.1:$PORT/up;
        }
        location = /call {
            proxy_wasm hostcalls '{"on_request_headers": [{"op": "dispatch", "upstream": "127.0.0.1:$PORT", "headers": [[":method", "GET"], [":path", "/up"], [":authority", "up"]], "timeout": 300}, {"op": "return", "action": "pause"}], "on_http_call_response": [{"op": "relay"}]}';
            proxy_pass http://127.0.0.1:$PORT/up;
        }
        location = /up { return 200 "up"; }
        location = /lua {
            content_by_lua_block {
                local wasm = require("resty.proxy-wasm")
                local value, err = wasm.get_shared_data("k")
                ngx.say("get: ", tostring(value), " ", tostring(err))
            }
        }
        location = /ticking { proxy_wasm tick; return 200; }
    }
}
CONF

fail() { echo "not ok - panic guards: $*"; exit 1; }
start() {
    PROXY_WASM_TEST_PANIC="$1" "$NGINX" -p "$PREFIX" -c conf/nginx.conf
    for _ in $(seq 50); do curl -s -o /dev/null "127.0.0.1:$PORT/pid" && return; sleep 0.1; done
    fail "nginx did not start with PROXY_WASM_TEST_PANIC=$1"
}
stop() {
    local pid
    pid=$(cat "$PREFIX/logs/nginx.pid" 2>/dev/null) || return 0
    kill -QUIT "$pid" 2>/dev/null || return 0
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
}
trap stop EXIT

# In the master, at configuration time: the directive fails with its name, nginx -t reports it, no abort.
for site in wasm_plugin proxy_wasm; do
    set +e
    out=$(PROXY_WASM_TEST_PANIC=$site "$NGINX" -t -p "$PREFIX" -c conf/nginx.conf 2>&1)
    rc=$?
    set -e
    [ $rc = 1 ] || fail "nginx -t with a panic in \"$site\" exited with $rc (1 expected): $out"
    grep -q "\[emerg\].*internal error (panic) in \"$site\"" <<<"$out" || fail "no [emerg] line for \"$site\": $out"
done

# In the worker: each request gets an answer, the worker keeps its pid, the log has the [alert] line.
check_worker() {
    local site=$1 path=$2 want_status=$3 want_body=$4
    : > "$PREFIX/logs/error.log"
    start "$site"
    local before after status body
    before=$(curl -s "127.0.0.1:$PORT/pid")
    body=$(curl -s --max-time 10 -o /dev/stderr -w '%{http_code}' "127.0.0.1:$PORT$path" 2>"$PREFIX/body")
    status=$body
    body=$(cat "$PREFIX/body")
    sleep 0.3
    after=$(curl -s "127.0.0.1:$PORT/pid")
    stop
    [ "$status" = "$want_status" ] || fail "$site: $path answered $status ($body), $want_status expected"
    [ -z "$want_body" ] || grep -q "$want_body" <<<"$body" || fail "$site: body \"$body\" lacks \"$want_body\""
    [ "$before" = "$after" ] || fail "$site: the worker changed ($before -> $after)"
    grep -q "\[alert\].*proxy-wasm: panic in $site: test panic" "$PREFIX/logs/error.log" ||
        fail "$site: no [alert] line: $(tail -5 "$PREFIX/logs/error.log")"
    ! grep -E "exited on signal|\[emerg\]" "$PREFIX/logs/error.log" || fail "$site: the worker died"
}
check_worker "the access handler" /plugin 500 ""
check_worker "ngx_proxy_wasm_shared_get" /lua 200 "get: nil"
check_worker "an HTTP call's answer" /call 502 ""
check_worker "the timer handler" /ticking 200 ""
echo "ok - panic guards: 2 master-side and 4 worker-side entry points panicked; nginx -t failed cleanly, workers survived"
