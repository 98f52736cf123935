#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds the Debian package, linecap_VERSION_amd64.deb, and prints its path
# on the last line of stdout.
#
#   scripts/package.sh [-o DIR] [--no-lintian] [--no-deps]
#
#   -o DIR        where the .deb (and its .buildinfo and .changes) go
#                 [dist/ at the top of the tree]
#   --no-lintian  do not run lintian on the .deb
#   --no-deps     do not install the build's packages (scripts/install-deps.sh)
#
# The package is built with dpkg-buildpackage -us -uc -b from a copy of the
# tree's files (those git tracks, and new ones it does not ignore), so that
# build folders of the checkout never reach it. The version has one source,
# meson.build's project version: debian/changelog's last entry must say the
# same, or nothing is built. lintian's errors fail the build; its warnings
# are printed.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD
out=$src/dist
lintian=1
deps=1

while [ $# -gt 0 ]; do
    case $1 in
    -o) out=${2:?-o needs a folder}; shift 2 ;;
    --no-lintian) lintian=0; shift ;;
    --no-deps) deps=0; shift ;;
    -h|--help) sed -n '3,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "package.sh: unknown option $1 (try --help)" >&2; exit 2 ;;
    esac
done

say() {
    echo "package.sh: $*" >&2
}

[ "$deps" = 0 ] || scripts/install-deps.sh >&2

# The one version: meson.build's, which debian/changelog must repeat.
version=$(meson introspect --projectinfo meson.build 2> /dev/null |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["version"])')
deb_version=$(dpkg-parsechangelog -l debian/changelog -S Version)
if [ "$version" != "$deb_version" ]; then
    say "error: meson.build says version $version, debian/changelog's last entry $deb_version;"
    say "add an entry for $version first: dch -v $version 'what changed' (devscripts), or edit debian/changelog"
    exit 1
fi

mkdir -p "$out"
out=$(cd "$out" && pwd)
tmp=$(mktemp -d /tmp/linecap-package.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
tree=$tmp/linecap-$version
mkdir "$tree"

# The tree's files, without build folders or anything else git ignores.
if git rev-parse --is-inside-work-tree > /dev/null 2>&1; then
    git ls-files -z --cached --others --exclude-standard |
        while IFS= read -r -d '' f; do
            [ -e "$f" ] && printf '%s\0' "$f"
        done |
        tar --null -T - -cf - | tar -xf - -C "$tree"
else
    tar --exclude='./build*' --exclude=./dist --exclude=./.git -cf - . |
        tar -xf - -C "$tree"
fi

say "building linecap $version in $tree"
(cd "$tree" && nice -n 10 dpkg-buildpackage -us -uc -b -J) > "$tmp/build.log" 2>&1 || {
    tail -n 40 "$tmp/build.log" >&2
    say "error: dpkg-buildpackage failed (the last lines of its log are above)"
    exit 1
}

deb=linecap_${version}_amd64.deb
[ -f "$tmp/$deb" ] || { say "error: dpkg-buildpackage made no $deb"; ls "$tmp" >&2; exit 1; }
for f in "$tmp/$deb" "$tmp"/linecap_"${version}"_amd64.buildinfo "$tmp"/linecap_"${version}"_amd64.changes; do
    [ -f "$f" ] && cp "$f" "$out/"
done

if [ "$lintian" = 1 ]; then
    if command -v lintian > /dev/null; then
        rc=0
        lintian --fail-on error --display-info "$out/$deb" > "$tmp/lintian.log" 2>&1 || rc=$?
        sed 's/^/lintian: /' "$tmp/lintian.log" >&2
        say "lintian: $(grep -c '^E:' "$tmp/lintian.log" || true) errors, $(grep -c '^W:' "$tmp/lintian.log" || true) warnings, $(grep -c '^I:' "$tmp/lintian.log" || true) notes"
        [ "$rc" = 0 ] || { say "error: lintian found errors in $out/$deb"; exit 1; }
    else
        say "lintian is not installed: the package is not checked"
    fi
fi
echo "$out/$deb"
