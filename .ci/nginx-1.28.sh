#!/usr/bin/env bash
# Build the second nginx of the test run (`make nginx-1.28`): nginx 1.28.3 from the crates.io crate nginx-src
# 1.28.5+1.28.3, with lua-nginx-module 0.10.23 and ndk 0.3.2 from Debian's source packages as dynamic modules,
# configured and built under OUT (default build/nginx-1.28). Nothing is downloaded outside the registries (cargo
# and apt). Needs what `make deps` installs: libpcre3-dev libssl-dev zlib1g-dev libluajit2-5.1-dev dpkg-dev and
# a deb-src entry. The result:
#   OUT/objs/nginx                                     the nginx binary
#   OUT/objs/ndk_http_module.so, ngx_http_lua_module.so  its modules
#   OUT/nginx-1.28.3 (NGINX_SOURCE_DIR), OUT/objs (NGINX_BUILD_DIR)  what this module builds against
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-build/nginx-1.28}
CRATE_VERSION=${NGINX_SRC_CRATE_VERSION:-1.28.5}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

# 1. nginx's source tree, from the crate's `nginx/` folder (a throw-away cargo project fetches the crate).
if [ ! -d "$OUT/src" ]; then
    fetch=$OUT/fetch
    mkdir -p "$fetch/src"
    touch "$fetch/src/lib.rs"
    cat > "$fetch/Cargo.toml" <<EOF
[package]
name = "fetch-nginx-src"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
nginx-src = "=$CRATE_VERSION"

[workspace]
EOF
    cargo fetch -q --manifest-path "$fetch/Cargo.toml"
    manifest=$(cargo metadata -q --format-version 1 --manifest-path "$fetch/Cargo.toml" |
        python3 -c 'import json, sys; print(next(p["manifest_path"] for p in json.load(sys.stdin)["packages"] if p["name"] == "nginx-src"))')
    rm -rf "$OUT/src.tmp"
    cp -a "$(dirname "$manifest")/nginx" "$OUT/src.tmp"
    chmod -R u+w "$OUT/src.tmp"
    mv "$OUT/src.tmp" "$OUT/src"
fi
version=$(sed -n 's/^#define NGINX_VERSION *"\(.*\)"/\1/p' "$OUT/src/src/core/nginx.h")

# 2. lua-nginx-module and ndk: Debian's source packages (patches applied by dpkg-source).
for pkg in libnginx-mod-http-ndk libnginx-mod-http-lua; do
    if ! compgen -G "$OUT/modules/$pkg-[0-9]*/config" >/dev/null; then
        rm -rf "$OUT/modules.tmp" && mkdir -p "$OUT/modules.tmp" "$OUT/modules"
        (cd "$OUT/modules.tmp" && apt-get source -qq "$pkg" >/dev/null 2>&1) || {
            echo "error: apt-get source $pkg failed: is there a deb-src entry (make deps)?" >&2
            exit 1
        }
        mv "$OUT"/modules.tmp/"$pkg"-[0-9]*/ "$OUT/modules/"
        rm -rf "$OUT/modules.tmp"
    fi
done
ndk=$(compgen -G "$OUT/modules/libnginx-mod-http-ndk-[0-9]*" | head -1)
lua=$(compgen -G "$OUT/modules/libnginx-mod-http-lua-[0-9]*" | head -1)

# 3. Configure out of tree (objs/) and build nginx and both modules. The lua module 0.10.23 needs PCRE1.
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
cd "$OUT/src"
LUAJIT_LIB=/usr/lib/$multiarch LUAJIT_INC=/usr/include/luajit-2.1 auto/configure \
    --builddir="$OUT/objs" --prefix="$OUT" --error-log-path=stderr \
    --with-compat --with-debug --with-threads --with-http_ssl_module --with-http_v2_module \
    --without-pcre2 --with-pcre-jit \
    --add-dynamic-module="$ndk" --add-dynamic-module="$lua" >"$OUT/configure.log" 2>&1 || {
    tail -20 "$OUT/configure.log" >&2
    exit 1
}
make -j"$(nproc)" >"$OUT/make.log" 2>&1 || {
    grep -E 'error|Error' "$OUT/make.log" | head -20 >&2
    exit 1
}
"$OUT/objs/nginx" -v
echo "nginx $version with $(basename "$ndk") and $(basename "$lua") built in $OUT"
