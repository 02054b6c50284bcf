#!/usr/bin/env bash
# Unary gRPC calls (`make test-grpc`): a Rust SDK plugin (t/plugins/grpc_call) calls test.Echo/Say on the
# upstream group "grpcbin", served by a real gRPC server (t/grpc/server.py, grpcio) over HTTP/2 through the
# location marked proxy_wasm_grpc_calls (grpc_pass), on both entrances (directives and resty.proxy-wasm):
# the reply and the metadata reach the server and come back; a status the service answers (7, "no entry")
# reaches proxy_on_grpc_close and proxy_get_status; a cancelled call's answer never reaches the plugin; with the
# server gone the plugin hears 14 (UNAVAILABLE). The worker keeps its pid throughout.
set -euo pipefail
cd "$(dirname "$0")/../.."
NGINX=${NGINX_BINARY:-/usr/sbin/nginx}
MODULES_DIR=${MODULES_DIR:-/usr/share/nginx/modules}
MODULE=${MODULE:-$PWD/target/release/libngx_http_proxy_wasm_module.so}
PYTHON=${GRPC_PYTHON:-/usr/bin/python3}
PREFIX=$PWD/build/grpc/
PORT=${GRPC_TEST_PORT:-1988}
GPORT=${GRPC_SERVER_PORT:-1987}
rm -rf "$PREFIX" && mkdir -p "$PREFIX/logs" "$PREFIX/conf"

cat > "$PREFIX/conf/nginx.conf" <<CONF
load_module $MODULES_DIR/ndk_http_module.so;
load_module $MODULES_DIR/ngx_http_lua_module.so;
load_module $MODULE;
worker_processes 1;
error_log logs/error.log info;
pid logs/nginx.pid;
events {}
http {
    access_log off;
    lua_package_path "$PWD/lua/?.lua;;";
    wasm_plugin grpc_call $PWD/t/plugins/grpc_call.wasm;
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("grpc_call", "$PWD/t/plugins/grpc_call.wasm"))
        package.loaded.grpc_ctx = assert(wasm.on_configure(plugin, "{}"))
    }
    upstream grpcbin {
        server 127.0.0.1:$GPORT;
    }
    server {
        listen 127.0.0.1:$PORT;
        location /proxy-wasm-grpc-calls {
            internal;
            proxy_wasm_grpc_calls;
            grpc_pass \$proxy_wasm_call_url;
        }
        location = /pid { return 200 \$pid; }
        location = /directive {
            proxy_wasm grpc_call;
            proxy_pass http://127.0.0.1:$PORT/unreached;
        }
        location = /lua {
            access_by_lua_block {
                local wasm = require("resty.proxy-wasm")
                assert(wasm.on_http_request_headers(package.loaded.grpc_ctx))
            }
            proxy_pass http://127.0.0.1:$PORT/unreached;
        }
        location = /unreached { return 500 "the plugin let the request through\n"; }
    }
}
CONF

server=
cleanup() {
    [ -z "$server" ] || kill "$server" 2>/dev/null || true
    local pid
    pid=$(cat "$PREFIX/logs/nginx.pid" 2>/dev/null) || return 0
    kill -QUIT "$pid" 2>/dev/null || true
}
trap cleanup EXIT
fail() { echo "not ok - gRPC calls: $*"; tail -20 "$PREFIX/logs/error.log"; exit 1; }

"$PYTHON" t/grpc/server.py "$GPORT" > "$PREFIX/logs/server.log" 2>&1 &
server=$!
for _ in $(seq 100); do grep -q ready "$PREFIX/logs/server.log" 2>/dev/null && break; sleep 0.1; done
grep -q ready "$PREFIX/logs/server.log" || { cat "$PREFIX/logs/server.log"; fail "the gRPC server did not start"; }
"$NGINX" -p "$PREFIX" -c conf/nginx.conf
for _ in $(seq 50); do curl -s -o /dev/null "127.0.0.1:$PORT/pid" && break; sleep 0.1; done
before=$(curl -s "127.0.0.1:$PORT/pid")

ask() { # ask PATH SAY [extra curl args] -> "STATUS GRPC-STATUS BODY"
    local path=$1 say=$2
    shift 2
    curl -s --max-time 10 -D "$PREFIX/headers" -H "x-say: $say" "$@" "127.0.0.1:$PORT$path" > "$PREFIX/body" || true
    local code grpc
    code=$(head -1 "$PREFIX/headers" | cut -d' ' -f2)
    grpc=$(grep -i '^x-grpc-status:' "$PREFIX/headers" | tr -d '\r' | cut -d' ' -f2)
    echo "$code ${grpc:--} $(cat "$PREFIX/body")"
}

for entrance in directive lua; do
    got=$(ask /$entrance hello)
    [ "$got" = "200 0 echo:hello md=m1" ] || fail "$entrance: a call that succeeds answered \"$got\""
    got=$(ask /$entrance fail)
    [ "$got" = "502 7 no entry" ] || fail "$entrance: a call the service refuses answered \"$got\""
    got=$(ask /$entrance hello -H "x-cancel: 1")
    [ "$got" = "204 - " ] || fail "$entrance: a cancelled call answered \"$got\""
done
sleep 0.5
n=$(grep -c 'gRPC call [0-9]* answered: status 0' "$PREFIX/logs/error.log" || true)
[ "$n" = 2 ] || fail "$n successful answers reached the plugin (2 expected: the cancelled calls' never)"
grep -q 'cancelled call' "$PREFIX/logs/error.log" || fail "no cancelled call logged"
! grep -E '\[(error|alert|crit|emerg)\]' "$PREFIX/logs/error.log" || fail "error lines while the server answered"
echo "ok - gRPC calls: a reply, a refused call (status 7) and a cancelled call on both entrances"

kill "$server"; wait "$server" 2>/dev/null || true; server=
for entrance in directive lua; do
    got=$(ask /$entrance hello)
    [ "$got" = "502 14 the upstream did not answer" ] || fail "$entrance: with the server gone: \"$got\""
done
grep -qE '\[warn\] .*HTTP call [0-9]+ to grpcbin failed' "$PREFIX/logs/error.log" || fail "no [warn] for the failed call"
after=$(curl -s "127.0.0.1:$PORT/pid")
[ "$before" = "$after" ] || fail "the worker changed ($before -> $after)"
! grep -E '\[(alert|crit|emerg)\]|exited on signal' "$PREFIX/logs/error.log" || fail "the worker died"
echo "ok - gRPC calls: with the server gone the plugin hears 14 (UNAVAILABLE) on both entrances; worker $after kept"
