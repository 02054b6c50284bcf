#!/usr/bin/env bash
# HTTP calls to a host name through nginx's resolver (`make test-resolver`): Debian's dnsmasq answers
# backend.test with 127.0.0.1 on a local port; the call location names it as its `resolver`. A call to
# backend.test:PORT reaches the upstream on both entrances (directives and resty.proxy-wasm); a name the server
# does not know runs the callback with zero headers after nginx's "could not be resolved" line and one [warn].
set -euo pipefail
cd "$(dirname "$0")/../.."
NGINX=${NGINX_BINARY:-/usr/sbin/nginx}
MODULES_DIR=${MODULES_DIR:-/usr/share/nginx/modules}
MODULE=${MODULE:-$PWD/target/release/libngx_http_proxy_wasm_module.so}
PREFIX=$PWD/build/resolver/
PORT=${RESOLVER_TEST_PORT:-1986}
DNS_PORT=${RESOLVER_DNS_PORT:-1953}
rm -rf "$PREFIX" && mkdir -p "$PREFIX/logs" "$PREFIX/conf"

call() { # the hostcalls configuration of a call to $1 whose answer the plugin relays
    printf '{"on_request_headers": [{"op": "dispatch", "upstream": "%s", "headers": [[":path", "/up"], [":authority", "named.test"]]}, {"op": "return", "action": "pause"}], "on_http_call_response": [{"op": "relay"}]}' "$1"
}
known=$(call "backend.test:$PORT")
unknown=$(call "nowhere.test:$PORT")

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
    wasm_plugin hostcalls $PWD/t/plugins/hostcalls.wasm;
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "$PWD/t/plugins/hostcalls.wasm"))
        package.loaded.known = assert(wasm.on_configure(plugin, [=[$known]=]))
    }
    server {
        listen 127.0.0.1:$PORT;
        location /proxy-wasm-calls {
            internal;
            proxy_wasm_http_calls;
            resolver 127.0.0.1:$DNS_PORT ipv6=off valid=5s;
            resolver_timeout 2s;
            proxy_pass \$proxy_wasm_call_url;
            proxy_set_header Host \$proxy_wasm_call_authority;
        }
        location = /pid { return 200 \$pid; }
        location = /up { return 200 "up over \$server_addr for \$http_host\n"; }
        location = /directive {
            proxy_wasm hostcalls '$known';
            proxy_pass http://127.0.0.1:$PORT/unreached;
        }
        location = /unknown {
            proxy_wasm hostcalls '$unknown';
            proxy_pass http://127.0.0.1:$PORT/unreached;
        }
        location = /lua {
            access_by_lua_block {
                local wasm = require("resty.proxy-wasm")
                assert(wasm.on_http_request_headers(package.loaded.known))
            }
            proxy_pass http://127.0.0.1:$PORT/unreached;
        }
        location = /unreached { return 500 "the plugin let the request through\n"; }
    }
}
CONF

dns=
cleanup() {
    [ -z "$dns" ] || kill "$dns" 2>/dev/null || true
    local pid
    pid=$(cat "$PREFIX/logs/nginx.pid" 2>/dev/null) || return 0
    kill -QUIT "$pid" 2>/dev/null || true
}
trap cleanup EXIT
fail() { echo "not ok - resolver: $*"; tail -20 "$PREFIX/logs/error.log"; exit 1; }

dnsmasq --keep-in-foreground --no-resolv --no-hosts --bind-interfaces --listen-address=127.0.0.1 \
    --port="$DNS_PORT" --address=/backend.test/127.0.0.1 --user=root --pid-file= \
    --log-facility="$PREFIX/logs/dnsmasq.log" &
dns=$!
# dnsmasq logs "started" once it listens: the first call must not race it.
for _ in $(seq 50); do grep -q started "$PREFIX/logs/dnsmasq.log" 2>/dev/null && break; sleep 0.1; done
grep -q started "$PREFIX/logs/dnsmasq.log" 2>/dev/null || fail "dnsmasq did not start"
"$NGINX" -p "$PREFIX" -c conf/nginx.conf
for _ in $(seq 50); do curl -s -o /dev/null "127.0.0.1:$PORT/pid" && break; sleep 0.1; done
before=$(curl -s "127.0.0.1:$PORT/pid")

for entrance in directive lua; do
    got=$(curl -s --max-time 10 -w ' %{http_code}' "127.0.0.1:$PORT/$entrance")
    [ "$got" = "up over 127.0.0.1 for named.test
 200" ] || fail "$entrance: a call to backend.test answered \"$got\""
done
! grep -E '\[(error|alert|crit|emerg)\]' "$PREFIX/logs/error.log" || fail "error lines for calls that resolved"
echo "ok - resolver: a call to a host name resolved by nginx's resolver reaches its upstream on both entrances"

got=$(curl -s --max-time 10 -o /dev/null -w '%{http_code}' "127.0.0.1:$PORT/unknown")
[ "$got" = 502 ] || fail "a call to an unknown name answered $got (the plugin relays a failed call as 502)"
grep -qE '\[error\] .*nowhere\.test could not be resolved' "$PREFIX/logs/error.log" || fail "no resolver error line"
grep -qE '\[warn\] .*HTTP call [0-9]+ to nowhere\.test:[0-9]+ failed' "$PREFIX/logs/error.log" || fail "no [warn] line"
after=$(curl -s "127.0.0.1:$PORT/pid")
[ "$before" = "$after" ] || fail "the worker changed ($before -> $after)"
echo "ok - resolver: an unknown name runs the callback with zero headers (nginx's resolver error, one [warn]); worker $after kept"
