#!/usr/bin/env bash
# The Debian package (`make test-deb`, as root): `apt-get install ./libnginx-mod-http-proxy-wasm_….deb` into this
# machine's Debian nginx; its files and control fields are those of a Debian module package; Debian's nginx, run
# with its stock /etc/nginx/nginx.conf plus one site that attaches the fault-injection plugin with proxy_wasm,
# answers through the plugin; after the package is removed (and purged) `nginx -t` passes again and no link is
# left in /etc/nginx/modules-enabled. Leaves the system as it found it (the package is purged on any exit).
set -euo pipefail
cd "$(dirname "$0")/../.."
DEB_DIR=${1:-build/deb}
PKG=libnginx-mod-http-proxy-wasm
LINK=/etc/nginx/modules-enabled/50-mod-http-proxy-wasm.conf
SITE=/etc/nginx/sites-enabled/proxy-wasm-package-test
APT=(apt-get -y -qq -o DPkg::Lock::Timeout=300)

fail() { echo "not ok - Debian package: $*"; exit 1; }
pass() { echo "ok - Debian package: $*"; }

[ "$(id -u)" = 0 ] || fail "run as root (make test-deb uses sudo)"
deb=$(ls "$PWD/$DEB_DIR/${PKG}"_*.deb 2>/dev/null | head -1)
[ -n "$deb" ] || fail "no $DEB_DIR/${PKG}_*.deb (make deb)"
if [ -s /run/nginx.pid ] && kill -0 "$(cat /run/nginx.pid)" 2>/dev/null; then
    fail "Debian's nginx is running already (/run/nginx.pid): the test starts its own"
fi
[ ! -e "$SITE" ] || fail "$SITE exists"

work=$(mktemp -d /tmp/proxy-wasm-deb.XXXXXX)
started=
cleanup() {
    if [ -n "$started" ] && [ -s /run/nginx.pid ]; then
        /usr/sbin/nginx -s stop 2>/dev/null || true
    fi
    rm -f "$SITE"
    if dpkg-query -W -f='${Status}' $PKG 2>/dev/null | grep -qv 'not-installed'; then
        DEBIAN_FRONTEND=noninteractive "${APT[@]}" purge $PKG >/dev/null 2>&1 || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

# 1. Install with apt (the nginx ABI dependency is resolved against the installed nginx).
DEBIAN_FRONTEND=noninteractive "${APT[@]}" install "$deb" >"$work/apt.log" 2>&1 || {
    cat "$work/apt.log"
    fail "apt-get install $deb"
}
pass "installed $(basename "$deb")"

# 2. Laid out as Debian's module packages: the .so, its load file, the enabled link, docs; the ABI dependency.
files=$(dpkg -L $PKG)
for f in /usr/lib/nginx/modules/ngx_http_proxy_wasm_module.so \
    /usr/share/nginx/modules-available/mod-http-proxy-wasm.conf \
    /usr/share/doc/$PKG/copyright /usr/share/doc/$PKG/README.md.gz /etc/nginx/snippets/proxy-wasm-calls.conf; do
    grep -qx "$f" <<<"$files" || fail "the package has no $f"
done
[ "$(cat /usr/share/nginx/modules-available/mod-http-proxy-wasm.conf)" = \
    "load_module modules/ngx_http_proxy_wasm_module.so;" ] || fail "mod-http-proxy-wasm.conf has no load_module line"
[ "$(readlink $LINK)" = /usr/share/nginx/modules-available/mod-http-proxy-wasm.conf ] ||
    fail "$LINK does not link to the load file"
abi=$(dpkg-query -W -f='${Provides}' nginx | grep -o 'nginx-abi-[^ ,]*')
depends=$(dpkg-query -W -f='${Depends}' $PKG)
grep -qw -- "$abi" <<<"$depends" || fail "Depends ($depends) lacks $abi"
grep -qx 'Section: httpd' <(dpkg-query -s $PKG) || fail "not in section httpd"
pass "files, $LINK and Depends: $depends"

# 3. Stock nginx.conf plus one site: the fault-injection plugin answers on a free port.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
install -m 0644 t/plugins/fault_injection.wasm "$work/fault_injection.wasm"
install -m 0644 t/plugins/auth_call.wasm "$work/auth_call.wasm"
chmod 0755 "$work"
cat >"$SITE" <<EOF
# written by t/deb/run.sh, removed when it ends
wasm_plugin fault_injection $work/fault_injection.wasm;
wasm_plugin auth_call $work/auth_call.wasm;
upstream httpbin {
    server 127.0.0.1:$port;
}

server {
    listen 127.0.0.1:$port;
    include snippets/proxy-wasm-calls.conf;
    location /gate {
        proxy_wasm auth_call;
        proxy_pass http://127.0.0.1:$port/in;
    }
    location = /in {
        return 200 "let in\\n";
    }
    location = /bytes/1 {
        return 200 "B";
    }
    location /wasm {
        proxy_wasm fault_injection '{"body":"hello from the package\\\\n","http_status":200}';
        proxy_pass http://127.0.0.1:$port/unreached;
    }
    location /unreached {
        return 500;
    }
}
EOF
/usr/sbin/nginx -t -q 2>"$work/t.log" || { cat "$work/t.log"; fail "nginx -t with the site"; }
started=1
/usr/sbin/nginx 2>"$work/start.log" || { cat "$work/start.log"; fail "nginx did not start with the stock nginx.conf"; }
body=
for _ in $(seq 50); do
    if body=$(curl -sS --max-time 2 -w ' %{http_code}' "http://127.0.0.1:$port/wasm" 2>/dev/null); then
        break
    fi
    sleep 0.1
done
[ "$body" = "hello from the package
 200" ] || { tail -20 /var/log/nginx/error.log; fail "the plugin's answer was \"$body\""; }
gate=$(curl -sS --max-time 5 -w ' %{http_code}' "http://127.0.0.1:$port/gate" 2>&1) || true
[ "$gate" = "let in
 200" ] || { tail -20 /var/log/nginx/error.log; fail "the call through snippets/proxy-wasm-calls.conf answered \"$gate\""; }
pass "Debian's nginx with the stock nginx.conf serves the plugin on 127.0.0.1:$port, and a plugin's HTTP call through the packaged snippet"
pid=$(cat /run/nginx.pid)
/usr/sbin/nginx -s quit 2>/dev/null
for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$pid" 2>/dev/null && fail "nginx did not quit"
started=
rm -f "$SITE"

# 4. Removed, then purged: nginx -t passes, nothing is left enabled.
DEBIAN_FRONTEND=noninteractive "${APT[@]}" remove $PKG >"$work/apt.log" 2>&1 || { cat "$work/apt.log"; fail "remove"; }
[ ! -e "$LINK" ] || fail "$LINK is left after removal"
/usr/sbin/nginx -t -q 2>"$work/t.log" || { cat "$work/t.log"; fail "nginx -t after removal"; }
DEBIAN_FRONTEND=noninteractive "${APT[@]}" purge $PKG >"$work/apt.log" 2>&1 || { cat "$work/apt.log"; fail "purge"; }
ls /etc/nginx/modules-enabled/ | grep -q proxy-wasm && fail "a proxy-wasm link is left after purge"
[ ! -e /etc/nginx/snippets/proxy-wasm-calls.conf ] || fail "the snippet is left after purge"
/usr/sbin/nginx -t -q 2>"$work/t.log" || { cat "$work/t.log"; fail "nginx -t after purge"; }
pass "removed and purged: nginx -t passes, no link left"
