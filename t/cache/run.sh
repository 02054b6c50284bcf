#!/usr/bin/env bash
# Compiled code kept on disk (`make test-cache`, `proxy_wasm_cache`): `nginx -t` with a fresh directory compiles
# each plugin and stores it (one file per plugin, mode 0600, in a directory created with mode 0700); the next
# `nginx -t` loads them (no new file, and faster: both times are printed per plugin); a truncated entry is
# logged once, compiled again and replaced; a changed plugin gets an entry of its own; nginx serves requests
# through plugins loaded from the cache; a directory open to other users is refused.
set -euo pipefail
cd "$(dirname "$0")/../.."
NGINX=${NGINX_BINARY:-/usr/sbin/nginx}
MODULE=${MODULE:-$PWD/target/release/libngx_http_proxy_wasm_module.so}
PREFIX=$PWD/build/cache/
PORT=${CACHE_TEST_PORT:-1985}
CACHE=${PREFIX}compiled
rm -rf "$PREFIX" && mkdir -p "$PREFIX/logs" "$PREFIX/conf"
cp t/plugins/hostcalls.wasm "$PREFIX/changing.wasm"

conf() { # conf PLUGIN_FILE...: one plugin per file; with ATTACH=1 the first (fault injection) answers /fault
    {
        echo "load_module $MODULE;"
        echo "worker_processes 1; error_log logs/error.log info; pid logs/nginx.pid; events {}"
        echo "http { access_log off; proxy_wasm_cache compiled;"
        local i=0
        for f in "$@"; do echo "wasm_plugin p$i $f;"; i=$((i + 1)); done
        echo "server { listen 127.0.0.1:$PORT;"
        if [ "${ATTACH:-}" = 1 ]; then
            echo "location = /fault { proxy_wasm p0 '{\"body\":\"from the cache\\\\n\",\"http_status\":200}'; proxy_pass http://127.0.0.1:$PORT/unreached; }"
        fi
        echo "} }"
    } > "$PREFIX/conf/nginx.conf"
}
fail() { echo "not ok - compiled-code cache: $*"; exit 1; }
check() { "$NGINX" -t -p "$PREFIX" -c conf/nginx.conf 2>"$PREFIX/t.log" || { cat "$PREFIX/t.log"; fail "nginx -t: $1"; }; }
ms() { local a b; a=$(date +%s%N); "$@"; b=$(date +%s%N); echo $(( (b - a) / 1000000 )); }
entries() { find "$CACHE" -name '*.cwasm' | wc -l; }

# Per plugin: nginx -t compiling it (cold), then loading it (warm).
report=""
for p in fault_injection fault_injection_as fault_injection_c hostcalls; do
    rm -rf "$CACHE"
    conf "$PWD/t/plugins/$p.wasm"
    cold=$(ms check "cold $p") || exit 1
    warm=$(ms check "warm $p") || exit 1
    report="$report $p ${cold}/${warm} ms;"
done
echo "# nginx -t cold/warm:$report"

rm -rf "$CACHE"
ATTACH=1
conf "$PWD/t/plugins/fault_injection.wasm" "$PWD/t/plugins/fault_injection_as.wasm" "$PREFIX/changing.wasm"
check "first"
[ -d "$CACHE" ] && [ "$(stat -c %a "$CACHE")" = 700 ] || fail "the directory is not mode 0700"
[ "$(entries)" = 3 ] || fail "$(entries) entries after the first nginx -t (3 expected)"
for f in "$CACHE"/*.cwasm; do [ "$(stat -c %a "$f")" = 600 ] || fail "$f is not mode 0600"; done
before=$(find "$CACHE" -name '*.cwasm' -newer "$PREFIX/conf/nginx.conf" | sort | xargs md5sum)
check "second"
[ "$(entries)" = 3 ] || fail "$(entries) entries after the second nginx -t (3 expected: all loaded)"
[ "$(find "$CACHE" -name '*.cwasm' | sort | xargs md5sum)" = "$before" ] || fail "entries changed on a hit"
echo "ok - compiled-code cache: a miss stores one entry per plugin (0700 directory, 0600 files), a hit loads them"

victim=$(ls "$CACHE"/*.cwasm | head -1)
truncate -s 100 "$victim"
check "truncated entry"
grep -q "\[warn\].*compiled code in \"$victim\" is unusable" "$PREFIX/t.log" || { cat "$PREFIX/t.log"; fail "no [warn] for the truncated entry"; }
[ "$(stat -c %s "$victim")" -gt 100 ] || fail "the truncated entry was not replaced"
check "after the repair"
! grep -q unusable "$PREFIX/t.log" || fail "the replaced entry is still unusable"
printf '\0\5\4test' >> "$PREFIX/changing.wasm"
check "changed plugin"
[ "$(entries)" = 4 ] || fail "$(entries) entries after a plugin changed (4 expected)"
echo "ok - compiled-code cache: a truncated entry is logged, compiled again and replaced; a changed plugin gets its own"

"$NGINX" -p "$PREFIX" -c conf/nginx.conf
trap 'kill -QUIT $(cat "$PREFIX/logs/nginx.pid" 2>/dev/null) 2>/dev/null || true' EXIT
got=
for _ in $(seq 50); do got=$(curl -s "127.0.0.1:$PORT/fault") && [ -n "$got" ] && break; sleep 0.1; done
[ "$got" = "from the cache" ] || fail "a plugin loaded from the cache answered \"$got\""
kill -QUIT "$(cat "$PREFIX/logs/nginx.pid")"; sleep 0.3
! grep -E '\[(error|alert|crit|emerg)\]' "$PREFIX/logs/error.log" || fail "error lines"
echo "ok - compiled-code cache: nginx serves requests through plugins loaded from the cache"

chmod 0755 "$CACHE"
if "$NGINX" -t -p "$PREFIX" -c conf/nginx.conf 2>"$PREFIX/t.log"; then fail "a directory of mode 0755 was accepted"; fi
grep -q 'proxy_wasm_cache: .* is open to other users (mode 755)' "$PREFIX/t.log" || { cat "$PREFIX/t.log"; fail "no message for mode 0755"; }
echo "ok - compiled-code cache: a directory open to other users is refused"
