#!/usr/bin/env bash
# Memory check (`make memcheck`): nginx with the module runs under valgrind (single process) while requests go
# through every path of the module without Lua: a plugin's local response, headers and bodies changed (request
# headers removed across the parts of nginx's header list), an HTTP
# call on an nginx connection, shared data and a metric with the Prometheus endpoint, a trap followed by a
# fresh instance, a leaky plugin recycled, a deadline. Passes when every answer is right and valgrind reports
# no error (invalid access, use of uninitialised memory, definite leak) outside valgrind.supp.
# Slow: valgrind compiles the plugins for a minute before nginx answers.
set -euo pipefail
cd "$(dirname "$0")/../.."
NGINX=${NGINX_BINARY:-/usr/sbin/nginx}
PREFIX=$PWD/build/memcheck/
PORT=${MEMCHECK_PORT:-1997}
command -v valgrind >/dev/null || { echo "valgrind is missing: make deps installs it" >&2; exit 1; }
rm -rf "$PREFIX" && mkdir -p "$PREFIX/logs" "$PREFIX/conf" "$PREFIX/html"

cat > "$PREFIX/html/bomb.wat" <<'WAT'
(module
  (memory (export "memory") 1)
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32) i32.const 1024)
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (if (i32.eq (local.get 1) (i32.const 7)) (then unreachable))
    (if (i32.eq (memory.grow (i32.const 4)) (i32.const -1)) (then unreachable))
    i32.const 0))
WAT

cat > "$PREFIX/conf/nginx.conf" <<CONF
load_module $PWD/target/release/libngx_http_proxy_wasm_module.so;
daemon off;
master_process off;
worker_processes 1;
error_log logs/error.log info;
events {}
http {
    access_log off;
    wasm_plugin fault_injection $PWD/t/plugins/fault_injection.wasm;
    wasm_plugin hostcalls $PWD/t/plugins/hostcalls.wasm time_limit=1s;
    wasm_plugin never $PWD/t/plugins/hostcalls.wasm time_limit=1s;
    wasm_plugin shared_state $PWD/t/plugins/shared_state.wasm;
    wasm_plugin bomb html/bomb.wat memory_limit=1m;
    server {
        listen 127.0.0.1:$PORT;
        location /proxy-wasm-calls {
            internal;
            proxy_wasm_http_calls;
            proxy_pass \$proxy_wasm_call_url;
            proxy_set_header Host \$proxy_wasm_call_authority;
        }
        location /fault { proxy_wasm fault_injection '{"body":"hello world","http_status":200}'; proxy_pass http://127.0.0.1:$PORT/up; }
        location /edit {
            proxy_wasm hostcalls '{"on_request_headers": [{"op": "add", "map": "request_headers", "key": "x-a", "value": "1"}],
                                   "on_response_headers": [{"op": "replace", "map": "response_headers", "key": "x-b", "value": "2"}],
                                   "on_response_body": [{"op": "set_body", "value": "!", "mode": "append", "if_eos": true}]}';
            proxy_pass http://127.0.0.1:$PORT/up;
        }
        location /call {
            proxy_wasm hostcalls '{"on_request_headers": [{"op": "dispatch", "upstream": "127.0.0.1:$PORT", "headers": [[":method", "GET"], [":path", "/up"], [":authority", "x"]]}],
                                   "on_http_call_response": [{"op": "relay"}]}';
            proxy_pass http://127.0.0.1:$PORT/up;
        }
        location /ticking {
            proxy_wasm hostcalls '{"tick_period_ms": 100, "on_tick": [{"op": "dispatch", "if_call": 2, "upstream": "127.0.0.1:$PORT", "headers": [[":path", "/up"]]}],
                                   "on_root_http_call_response": [{"op": "get_body"}]}';
            return 200;
        }
        location /count { proxy_wasm shared_state '{"count": {"key": "n", "metric": "requests_total"}}'; proxy_pass http://127.0.0.1:$PORT/up; }
        location /metrics { proxy_wasm_metrics; }
        location /bomb { proxy_wasm_failure open; proxy_wasm bomb; proxy_pass http://127.0.0.1:$PORT/up; }
        location /strip {
            proxy_wasm hostcalls '{"on_request_headers": [{"op": "remove", "map": "request_headers", "key": "x-h01"},
                                   {"op": "remove", "map": "request_headers", "key": "x-h18"}, {"op": "remove", "map": "request_headers", "key": "x-h19"},
                                   {"op": "remove", "map": "request_headers", "key": "x-h30"}, {"op": "remove", "map": "request_headers", "key": "content-length"},
                                   {"op": "add", "map": "request_headers", "key": "x-new", "value": "a"}]}';
            proxy_pass http://127.0.0.1:$PORT/headers;
        }
        location /held {
            proxy_wasm hostcalls '{"tick_period_ms": 50, "on_response_headers": [{"op": "postpone"}, {"op": "return", "action": "pause"}],
                                   "on_tick": [{"op": "resume_postponed", "stream": 1}], "on_response_body": [{"op": "set_body", "mode": "append", "value": "!", "if_eos": true}]}';
            proxy_pass http://127.0.0.1:$PORT/up;
        }
        location /held-never {
            # (its own instance: the tick of /held's resumes every response postponed in its instance)
            proxy_wasm never '{"on_response_headers": [{"op": "postpone"}, {"op": "return", "action": "pause"}]}';
            proxy_wasm_pause_timeout 300ms;
            proxy_pass http://127.0.0.1:$PORT/up;
        }
        location /headers { return 200 "\$http_x_new \$http_x_h02 \$http_x_h30 \$content_length\n"; }
        location /up { return 200 "up\n"; }
    }
}
CONF

valgrind --error-exitcode=9 --leak-check=full --errors-for-leak-kinds=definite \
    --suppressions=t/memcheck/valgrind.supp --log-file="$PREFIX/logs/valgrind.log" \
    "$NGINX" -p "$PREFIX" -c conf/nginx.conf &
VG=$!
fail() { echo "not ok - memcheck: $*"; kill "$VG" 2>/dev/null || true; exit 1; }
for _ in $(seq 1 600); do
    curl -s -o /dev/null "http://127.0.0.1:$PORT/up" && break
    kill -0 "$VG" 2>/dev/null || fail "nginx under valgrind exited early (see $PREFIX/logs)"
    sleep 0.5
done
get() { curl -s -m 60 "http://127.0.0.1:$PORT$1" "${@:2}"; }
[ "$(get /fault)" = "hello world" ] || fail "/fault"
[ "$(get /edit)" = "$(printf 'up\n!')" ] || fail "/edit"
[ "$(get /call)" = "up" ] || fail "/call"
# Headers removed across the parts of a two-part list (and Content-Length), then added: what the proxy module
# walks to build the upstream request.
many=(); for i in $(seq -w 1 30); do many+=(-H "X-H$i: $((10#$i))"); done
[ "$(get /strip "${many[@]}" -d hello)" = "a 2  5" ] || fail "/strip: $(get /strip "${many[@]}" -d hello)"
# Responses held until a tick continues them (their body through the body callback), and one never continued
# (the failure policy's 500 replaces it).
for _ in 1 2 3; do [ "$(get /held)" = "$(printf 'up\n!')" ] || fail "/held"; done
[ "$(get /held-never -o /dev/null -w '%{http_code}')" = "500" ] || fail "/held-never"
for _ in 1 2 3; do get /count >/dev/null; done
get /metrics | grep -qx "requests_total 3" || fail "/metrics"
# Traps (7 headers), growth past the cap, a fresh instance, recycling: every answer still comes from upstream.
for _ in 1 2 3 4 5; do [ "$(get /bomb -H 'a: 1' -H 'b: 2' -H 'c: 3' -H 'd: 4')" = "up" ] || fail "/bomb"; done
for _ in 1 2 3 4 5; do [ "$(get /bomb)" = "up" ] || fail "/bomb after traps"; done

# A tick's call (no request: a request of its own) was answered to the root context.
for _ in $(seq 50); do grep -q 'on_root_http_call_response: get_body http_call_response_body -> Ok "up' "$PREFIX/logs/error.log" && break; sleep 0.2; done
grep -q 'on_root_http_call_response: get_body http_call_response_body -> Ok "up' "$PREFIX/logs/error.log" || fail "/ticking: no answer to the tick's call"

kill -QUIT "$VG"
rc=0; wait "$VG" || rc=$?
grep -E "ERROR SUMMARY" "$PREFIX/logs/valgrind.log" | tail -1
[ "$rc" -eq 0 ] || fail "valgrind found errors (exit $rc): $PREFIX/logs/valgrind.log"
! grep -E "\[(alert|crit|emerg)\]" "$PREFIX/logs/error.log" || fail "alert lines in the error log"
echo "ok - memcheck: every path answered right, valgrind reports no error"
