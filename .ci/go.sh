#!/bin/sh
# Go 1.24 for the test plugin in standard Go (t/plugins/go_plugin): the first Go with //go:wasmexport, which a
# Proxy-Wasm plugin needs. Debian 12 has Go 1.19 (backports: 1.23), so the packages come from Debian 13
# (trixie), unpacked into OUT, not installed: the suite's InRelease is checked with the Debian archive keyring
# that Debian 12 carries, the package index against the signed Release, each .deb against the index.
set -eu
OUT=${OUT:-build/go}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SUITE=trixie
GO=golang-1.24
BIN="$OUT/usr/lib/go-1.24/bin/go"
[ -x "$BIN" ] && exit 0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
curl -fsS --retry 3 -o "$tmp/InRelease" "$MIRROR/dists/$SUITE/InRelease"
gpgv --keyring /usr/share/keyrings/debian-archive-keyring.gpg --output "$tmp/Release" "$tmp/InRelease" \
    2>"$tmp/gpgv.log" || { cat "$tmp/gpgv.log" >&2; exit 1; }
sum=$(awk '$1 == "SHA256:" { s = 1; next } /^[^ ]/ { s = 0 } s && $3 == "main/binary-amd64/Packages.xz" { print $1 }' \
    "$tmp/Release")
[ -n "$sum" ] || { echo "go.sh: no Packages.xz in $SUITE's Release" >&2; exit 1; }
curl -fsS --retry 3 -o "$tmp/Packages.xz" "$MIRROR/dists/$SUITE/main/binary-amd64/Packages.xz"
echo "$sum  $tmp/Packages.xz" | sha256sum -c --quiet
xz -dc "$tmp/Packages.xz" >"$tmp/Packages"
mkdir -p "$OUT"
for pkg in "$GO-go" "$GO-src"; do
    # shellcheck disable=SC2046  # two words: the file and its SHA-256
    set -- $(awk -v p="$pkg" '
        $1 == "Package:" { m = ($2 == p); f = ""; s = "" }
        m && $1 == "Filename:" { f = $2 }
        m && $1 == "SHA256:" { s = $2 }
        m && f != "" && s != "" { print f, s; exit }' "$tmp/Packages")
    [ $# -eq 2 ] || { echo "go.sh: $pkg is not in $SUITE" >&2; exit 1; }
    curl -fsS --retry 3 -o "$tmp/$pkg.deb" "$MIRROR/$1"
    echo "$2  $tmp/$pkg.deb" | sha256sum -c --quiet
    dpkg-deb -x "$tmp/$pkg.deb" "$OUT"
done
"$BIN" version
