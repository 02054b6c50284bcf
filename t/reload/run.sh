#!/usr/bin/env bash
# Reload under traffic (`make test-reload`): nginx with the module serves a plugin attached by directives while
# wrk keeps 10 connections busy; the plugin's configuration changes and nginx is reloaded (HUP) twice. Passes
# when no request failed (each on its own connection: a keepalive connection idle at reload is closed by
# design, which wrk would count as an error), every reload took effect, and the log has no [alert]/[crit]/[emerg].
# Two services tick throughout (`proxy_wasm_service`): after the last reload the per-worker one ticks in both new
# workers and the singleton in exactly one, each with the new configuration. A plugin loaded from Lua in
# init_worker (as api7's hup.t does) serves /lua with the configuration of each generation.
set -euo pipefail
cd "$(dirname "$0")/../.."
NGINX=${NGINX_BINARY:-/usr/sbin/nginx}
MODULES_DIR=${MODULES_DIR:-/usr/share/nginx/modules}
PREFIX=$PWD/build/reload/
PORT=${RELOAD_TEST_PORT:-1996}
rm -rf "$PREFIX" && mkdir -p "$PREFIX/logs" "$PREFIX/conf"

write_conf() {
    cat > "$PREFIX/conf/nginx.conf" <<CONF
load_module $MODULES_DIR/ndk_http_module.so;
load_module $MODULES_DIR/ngx_http_lua_module.so;
load_module $PWD/target/release/libngx_http_proxy_wasm_module.so;
worker_processes 2;
error_log logs/error.log info;
pid logs/nginx.pid;
events {}
http {
    access_log off;
    lua_package_path "$PWD/lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("fault_injection", "$PWD/t/plugins/fault_injection.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, '{"body":"lua $1","http_status":200}'))
    }
    wasm_plugin fault_injection $PWD/t/plugins/fault_injection.wasm;
    wasm_plugin hostcalls $PWD/t/plugins/hostcalls.wasm;
    proxy_wasm_service hostcalls '{"tick_period_ms": 50, "on_tick": [{"op": "log", "msg": "each $1"}]}';
    proxy_wasm_service hostcalls '{"tick_period_ms": 50, "on_tick": [{"op": "log", "msg": "one $1"}]}' singleton;
    server {
        listen 127.0.0.1:$PORT;
        location /t {
            proxy_wasm fault_injection '{"body":"$1\\\\n","http_status":200}';
            proxy_pass http://127.0.0.1:$PORT/unreached;
        }
        location /lua {
            access_by_lua_block {
                assert(require("resty.proxy-wasm").on_http_request_headers(package.loaded.ctx))
            }
            content_by_lua_block { ngx.exit(500) }
        }
        location /unreached {
            return 500;
        }
    }
}
CONF
}

fail() { echo "not ok - reload under traffic: $*"; exit 1; }

write_conf v1
"$NGINX" -p "$PREFIX" -c conf/nginx.conf
trap '"$NGINX" -p "$PREFIX" -c conf/nginx.conf -s quit 2>/dev/null || true' EXIT
sleep 0.5
[ "$(curl -s 127.0.0.1:$PORT/t)" = v1 ] || fail "v1 not served"
[ "$(curl -s 127.0.0.1:$PORT/lua)" = "lua v1" ] || fail "lua v1 not served"
wrk -t1 -c10 -d4s -H "Connection: close" "http://127.0.0.1:$PORT/t" > "$PREFIX/wrk.txt" &
wrk_pid=$!
for v in v2 v3; do
    sleep 1
    write_conf $v
    "$NGINX" -p "$PREFIX" -c conf/nginx.conf -s reload 2>>"$PREFIX/logs/signal.log"
done
wait $wrk_pid
# The master compiles the plugins of the new configuration before new workers start: allow it time.
for _ in $(seq 100); do
    got=$(curl -s 127.0.0.1:$PORT/t)
    [ "$got" = v3 ] && break
    sleep 0.2
done
[ "$got" = v3 ] || fail "the last reload did not take effect (got \"$got\")"
got=$(curl -s 127.0.0.1:$PORT/lua)
[ "$got" = "lua v3" ] || fail "the Lua plugin of the last generation does not answer (got \"$got\")"
sleep 0.5
pids() { grep -E "on_tick: $1\$" "$PREFIX/logs/error.log" | grep -oE '\] [0-9]+#' | sort -u | wc -l; }
[ "$(pids "each v3")" = 2 ] || fail "the per-worker service ticks in $(pids "each v3") new workers (2 expected)"
[ "$(pids "one v3")" = 1 ] || fail "the singleton service ticks in $(pids "one v3") new workers (1 expected)"
requests=$(grep -oE '^ +[0-9]+ requests' "$PREFIX/wrk.txt" | tr -dc 0-9)
[ "${requests:-0}" -gt 100 ] || fail "too few requests: ${requests:-0}"
! grep -qE 'Non-2xx|Socket errors' "$PREFIX/wrk.txt" || fail "failed requests: $(grep -E 'Non-2xx|Socket errors' "$PREFIX/wrk.txt")"
! grep -E '\[(alert|crit|emerg|error)\]' "$PREFIX/logs/error.log" || fail "errors in the log"
echo "ok - reload under traffic: $requests requests through 2 reloads, none failed; after them the services tick in 2 workers and in 1 (singleton), and the Lua-loaded plugin answers with the new configuration"
