#!/usr/bin/env bash
# Build the Debian package of the module (`make deb`): libnginx-mod-http-proxy-wasm_<version>_<arch>.deb in OUT
# (default build/deb), for the nginx the module was built against (Debian's, `make build`). dpkg-buildpackage
# with debhelper and dh_nginx (nginx-dev) runs on a staging directory holding pkg/debian, the built module and the
# README, so the package is laid out as Debian's own module packages are (libnginx-mod-http-lua):
#   /usr/lib/nginx/modules/ngx_http_proxy_wasm_module.so              (stripped)
#   /usr/share/nginx/modules-available/mod-http-proxy-wasm.conf        (its load_module line)
#   /etc/nginx/modules-enabled/50-mod-http-proxy-wasm.conf             (link made by the postinst, as dh_nginx does)
#   /etc/nginx/snippets/proxy-wasm-calls.conf                         (the HTTP-call location, to include; a conffile)
#   /usr/share/doc/libnginx-mod-http-proxy-wasm/{README.md.gz,copyright,changelog.gz}
#   Depends: nginx-abi-<version>-<n> (the ABI of nginx-dev's headers), the libraries dpkg-shlibdeps finds
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-build/deb}
MODULE=${MODULE:-target/release/libngx_http_proxy_wasm_module.so}
NGINX_BINARY=${NGINX_BINARY:-/usr/sbin/nginx}
PKG=libnginx-mod-http-proxy-wasm

[ -f "$MODULE" ] || { echo "error: $MODULE is missing (make build)" >&2; exit 1; }
# The package declares the ABI of Debian's nginx (dh_nginx reads it from nginx-dev): refuse a module built for
# another nginx (its signature differs).
signature() { grep -aoE '[0-9]+,[0-9]+,[0-9]+,[01]{30,}' "$1" | head -1; }
if [ "$(signature "$MODULE")" != "$(signature "$NGINX_BINARY")" ]; then
    echo "error: $MODULE was not built for $NGINX_BINARY" >&2
    exit 1
fi
if ! dpkg -S "$(readlink -f "$NGINX_BINARY")" 2>/dev/null | grep -q '^nginx:'; then
    echo "error: $NGINX_BINARY is not Debian's nginx: the package would declare a wrong nginx ABI" >&2
    exit 1
fi

version=$(sed -n '/^\[package\]/,/^\[/s/^version = "\(.*\)"/\1/p' Cargo.toml)
maintainer=${DEB_MAINTAINER:-$(git log -1 --format='%an <%ae>' 2>/dev/null || true)}
maintainer=${maintainer:-ngx_http_proxy_wasm_module maintainers <maintainers@localhost>}
# Reproducible: the date of the last commit (or now, outside a checkout).
epoch=$(git log -1 --format=%ct 2>/dev/null || date +%s)
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)

mkdir -p "$OUT"
stage=$OUT/$PKG-$version
rm -rf "$stage" "$OUT/${PKG}_$version"_*
mkdir -p "$stage"
cp -a pkg/debian "$stage/debian"
cp "$MODULE" "$stage/ngx_http_proxy_wasm_module.so"
cp README.md "$stage/"
cp nginx-conf/proxy-wasm-calls.conf "$stage/"

crates=$(cargo tree -q -e normal -p ngx_http_proxy_wasm_module --prefix none -f ' {p} ({l})' |
    sed 's/ (\*)$//; s/ (\/[^)]*)//' | grep -v -e '^ ngx_http_proxy_wasm_module ' -e '(proc-macro)' | sort -u)
python3 - "$stage/debian" "$maintainer" "$crates" <<'EOF'
import sys
d, maintainer, crates = sys.argv[1:]
for name, key, value in (("control", "@MAINTAINER@", maintainer),
                         ("copyright", "@CRATES@", "\n".join(" " + c.strip() for c in crates.splitlines()))):
    path = f"{d}/{name}"
    with open(path) as f:
        text = f.read()
    with open(path, "w") as f:
        f.write(text.replace(key, value))
EOF
cat > "$stage/debian/changelog" <<EOF
$PKG ($version) bookworm; urgency=medium

  * Built from commit $commit for nginx $("$NGINX_BINARY" -v 2>&1 | sed 's|.*/||').

 -- $maintainer  $(date -R -u -d "@$epoch")
EOF

(cd "$stage" && SOURCE_DATE_EPOCH=$epoch dpkg-buildpackage -b -uc -us >../build.log 2>&1) || {
    tail -30 "$OUT/build.log" >&2
    exit 1
}
deb=$OUT/${PKG}_${version}_$(dpkg --print-architecture).deb
rm -rf "$stage"
dpkg-deb --info "$deb" | sed -n 's/^ \(Package\|Version\|Architecture\|Depends\|Installed-Size\):/  \1:/p'
echo "built $deb"
