# shellcheck shell=bash
# SPDX-License-Identifier: MIT
# Shared by the package's tests (suite 'pkg'): a work folder removed on
# exit, fail, skip, and the unit files' check.
set -euo pipefail

PKG_WORK=$(mktemp -d /tmp/lc-pkg.XXXXXX)
pkg_cleanup() {
    local rc=$?
    rm -rf "$PKG_WORK"
    exit $rc
}
trap pkg_cleanup EXIT INT TERM

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

skip() {
    echo "SKIP: $*"
    exit 77
}

# verify_units UNIT_DIR MAN_SRC SBIN BIN: systemd-analyze verify on
# linecapd.service and an instance of linecap-xray@.service from UNIT_DIR,
# with the programs they run taken from SBIN and BIN instead of /usr/sbin
# and /usr/bin (the units as installed name those), and the man pages of
# their Documentation= from MAN_SRC (roff files, or .gz as installed).
# Any output of systemd-analyze is a failure.
verify_units() {
    local units=$1 man=$2 sbin=$3 bin=$4 d=$PKG_WORK/verify f out rc=0
    command -v systemd-analyze > /dev/null ||
        skip "systemd-analyze is missing (apt-get install systemd)"
    rm -rf "$d"
    mkdir -p "$d/units" "$d/man/man1" "$d/man/man8"
    for f in linecapd.service linecap-xray@.service; do
        [ -f "$units/$f" ] || fail "no $f in $units"
        # Every program a unit runs is one of the package's, or /bin/sh.
        grep -E '^Exec[A-Za-z]*=' "$units/$f" | sed -E 's/^[^=]*=[-+!@:]*//; s/ .*//' |
            while read -r prog; do
                case $prog in
                /usr/sbin/linecapd|/usr/sbin/linecap-setup|/usr/bin/linecapctl|/usr/bin/linecap-xray|/bin/sh) ;;
                *) fail "$f runs $prog, which the package does not install" ;;
                esac
            done
        sed -e "s#/usr/sbin/#$sbin/#g" -e "s#/usr/bin/linecap#$bin/linecap#g" \
            "$units/$f" > "$d/units/$f"
    done
    for f in "$man"/*.[18] "$man"/*.[18].gz; do
        [ -f "$f" ] || continue
        case $f in
        *.1|*.1.gz) cp "$f" "$d/man/man1/" ;;
        *) cp "$f" "$d/man/man8/" ;;
        esac
    done
    out=$(cd "$d/units" && MANPATH=$d/man systemd-analyze verify --man=yes \
        linecapd.service linecap-xray@test.service 2>&1) || rc=$?
    echo "systemd-analyze verify linecapd.service linecap-xray@test.service: status $rc${out:+, output:}"
    [ -z "$out" ] || echo "$out"
    [ "$rc" = 0 ] && [ -z "$out" ] || fail "systemd-analyze verify found problems in $units"
    echo "ok: the unit files of $units verify, and their man pages are there"
}
