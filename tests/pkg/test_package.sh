#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The Debian package, built by scripts/package.sh from this tree (lintian
# errors fail it), or taken from LC_DEB: installed with dpkg --root into a
# fresh root, its files, conffiles, maintainer scripts and units are
# checked; the installed linecapd, with the installed config (only its
# socket, users file and EAL options moved for the test), forwards a pcap
# replay once 'linecapctl start' opens the wire, as linecapd.service does;
# and the installed programs shape real TCP in the namespace lab.
# Needs: LC_SOURCE, LC_PCAPGEN, LC_PCAPCMP; root for the replay.
. "$(dirname "$0")/lib.sh"
: "${LC_SOURCE:?}" "${LC_PCAPGEN:?}" "${LC_PCAPCMP:?}"

if [ -z "${LC_DEB:-}" ]; then
    for t in dpkg-buildpackage dh fakeroot; do
        command -v "$t" > /dev/null ||
            skip "$t is missing (scripts/install-deps.sh installs debhelper, dpkg-dev, fakeroot)"
    done
    t0=$(date +%s)
    LC_DEB=$("$LC_SOURCE/scripts/package.sh" --no-deps -o "$PKG_WORK/dist" | tail -n 1) ||
        fail "scripts/package.sh failed"
    echo "ok: scripts/package.sh built $(basename "$LC_DEB") in $(( $(date +%s) - t0 )) s"
fi
[ -f "$LC_DEB" ] || fail "no package at $LC_DEB"
version=$(meson introspect --projectinfo "$LC_SOURCE/meson.build" 2> /dev/null |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["version"])')
expect_name="linecap_${version}_amd64.deb"
[ "$(basename "$LC_DEB")" = "$expect_name" ] || fail "package named $(basename "$LC_DEB"), not $expect_name"
[ "$(dpkg-deb -f "$LC_DEB" Version)" = "$version" ] || fail "package version differs from meson.build's"

# Installed with dpkg into a fresh root: an empty dpkg database and group
# file, the maintainer scripts run outside it with DPKG_ROOT set
# (--force-script-chrootless), the Depends (DPDK, jansson, ...) taken as the
# host has them. Nothing of it touches the host's own files.
root=$PKG_WORK/root
mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates" "$root/etc"
: > "$root/var/lib/dpkg/status"
printf 'root:x:0:\n' > "$root/etc/group"
printf 'root:*::\n' > "$root/etc/gshadow"
host_group=$(getent group linecap || true)
dpkg --root="$root" --force-depends --force-script-chrootless --log=/dev/null \
    -i "$LC_DEB" > "$PKG_WORK/dpkg.out" 2>&1 || {
    cat "$PKG_WORK/dpkg.out" >&2
    fail "dpkg --root -i failed"
}
[ "$(dpkg-query --root="$root" -W -f='${Status}' linecap)" = "install ok installed" ] ||
    fail "dpkg does not see linecap installed in the fresh root"
grep -q '^linecap:x:[0-9]*:' "$root/etc/group" || fail "postinst made no group linecap in the root"
[ "$(getent group linecap || true)" = "$host_group" ] || fail "the install changed the host's groups"
mkdir -p "$root/DEBIAN"
for f in postinst postrm conffiles; do
    cp "$root/var/lib/dpkg/info/linecap.$f" "$root/DEBIAN/$f"
done
echo "ok: dpkg --root installed it into a fresh root; postinst made the group linecap there"

# Files where they belong.
for f in usr/sbin/linecapd usr/sbin/linecap-setup usr/bin/linecapctl usr/bin/linecap-xray; do
    [ -x "$root/$f" ] || fail "/$f is not installed, or not executable"
done
for f in etc/linecap/linecap.conf etc/linecap/xray-local.conf \
         lib/systemd/system/linecapd.service lib/systemd/system/linecap-xray@.service \
         usr/share/man/man8/linecapd.8.gz usr/share/man/man8/linecap-setup.8.gz \
         usr/share/man/man1/linecapctl.1.gz usr/share/man/man1/linecap-xray.1.gz \
         usr/share/doc/linecap/examples/linecap.conf usr/share/doc/linecap/copyright; do
    [ -f "$root/$f" ] || fail "/$f is not in the package"
done
[ -d "$root/var/lib/linecap" ] || fail "/var/lib/linecap is not in the package"
# Nothing of the tests.
if dpkg-deb -c "$LC_DEB" | grep -Eiq 'test|pcapgen|pcapcmp|pcaprate|fuzz|bench'; then
    fail "test programs in the package: $(dpkg-deb -c "$LC_DEB" | grep -Ei 'test|pcap|fuzz|bench')"
fi
echo "ok: programs, config, units, man pages and /var/lib/linecap where they belong"

# Conffiles and maintainer scripts.
for f in /etc/linecap/linecap.conf /etc/linecap/xray-local.conf; do
    grep -qx "$f" "$root/DEBIAN/conffiles" || fail "$f is not a conffile"
done
for s in postinst postrm; do
    [ -x "$root/DEBIAN/$s" ] || fail "no $s"
    sh -n "$root/DEBIAN/$s" || fail "$s does not parse"
done
grep -q 'addgroup --system --quiet linecap' "$root/DEBIAN/postinst" ||
    fail "postinst does not add the group linecap"
grep -q "deb-systemd-helper" "$root/DEBIAN/postinst" || fail "postinst does not register the units"
echo "ok: conffiles, postinst adds the group linecap and registers the units"

# The installed config is an appliance's.
conf=$root/etc/linecap/linecap.conf
grep -qx 'socket_group = linecap' "$conf" || fail "the installed config does not set socket_group = linecap"
grep -qx 'autostart = no' "$conf" || fail "the installed config does not hold the wire"
if grep -Eq '^args = .*(--no-huge|net_pcap|--no-pci)' "$conf"; then
    fail "the installed config replays pcap files"
fi
grep -q '^bind = ' "$conf" || fail "the installed config binds no NIC"
echo "ok: the installed config is an appliance's (NICs, hugepages, socket_group = linecap)"

# Man pages render without a warning.
for m in "$root"/usr/share/man/man*/*.gz; do
    w=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l "$m" 2>&1 > /dev/null)
    [ -z "$w" ] || fail "man -l $(basename "$m"): $w"
    LC_ALL=C.UTF-8 man -l "$m" 2> /dev/null | grep -q '^NAME' || fail "man -l $(basename "$m") shows no NAME"
done
echo "ok: man -l renders the 4 man pages without warnings"

# The installed units verify, with the installed programs and man pages.
man_dir=$PKG_WORK/man-all
mkdir -p "$man_dir"
cp "$root"/usr/share/man/man*/*.gz "$man_dir/"
verify_units "$root/lib/systemd/system" "$man_dir" "$root/usr/sbin" "$root/usr/bin"

# linecap-setup, installed, on the installed config: this host has no such NICs.
rc=0
"$root/usr/sbin/linecap-setup" --dry-run --config "$conf" > "$PKG_WORK/setup.out" 2>&1 || rc=$?
sed 's/^/  | /' "$PKG_WORK/setup.out"
[ "$rc" = 1 ] || fail "linecap-setup --dry-run on the installed config: status $rc, expected 1"
grep -q "no PCI device 0000:03:00.0" "$PKG_WORK/setup.out" || fail "linecap-setup does not name the missing port"
echo "ok: the installed linecap-setup names the NICs this host does not have"

# The installed linecapd on the installed config: a pcap replay. linecapd
# takes its EAL options from the command line (pcap vdevs, no hugepages)
# and the socket and users file move into the test's folder; [host] and
# everything else are as installed.
[ "$(id -u)" = 0 ] || skip "the replay with the installed linecapd needs root (the rest passed)"
export LINECAPD=$root/usr/sbin/linecapd LINECAPCTL=$root/usr/bin/linecapctl
# shellcheck source=../replay/lib.sh
. "$LC_SOURCE/tests/replay/lib.sh"
# Both folders go on exit: replay/lib.sh's trap replaced ours.
pkg_replay_cleanup() {
    local rc=$?
    rm -rf "$PKG_WORK"
    (exit $rc)
    lc_cleanup
}
trap pkg_replay_cleanup EXIT INT TERM
ldd "$LINECAPD" | grep -q 'not found' && fail "linecapd misses libraries: $(ldd "$LINECAPD" | grep 'not found')"
"$LC_PCAPGEN" mixed "$WORK/c.pcap" "$WORK/s.pcap" > /dev/null
sed -e "s#^socket = .*#socket = $LC_SOCK#" \
    -e "s#^state_file = .*#state_file = $WORK/users.conf#" \
    -e "s#^socket_group = .*#socket_group = $(id -gn)#" "$conf" > "$WORK/lc.conf"
eal="--no-huge -m 2048 --no-pci -l 0,1 --file-prefix=lc-$$ --log-level=warning"
eal="$eal --vdev=net_pcap0,rx_pcap=$WORK/c.pcap,tx_pcap=$WORK/client-out.pcap"
eal="$eal --vdev=net_pcap1,rx_pcap=$WORK/s.pcap,tx_pcap=$WORK/server-out.pcap"
# shellcheck disable=SC2086
"$LINECAPD" $eal -- --config "$WORK/lc.conf" > "$LC_LOG" 2>&1 &
LC_PID=$!
for ((i = 0; i < 300; i++)); do
    lc_ping && break
    kill -0 "$LC_PID" 2> /dev/null || fail "the installed linecapd exited at start"
    sleep 0.1
done
lc_ping || fail "the installed linecapd did not answer"
if grep -q warning "$LC_LOG"; then
    fail "linecapd warned about the installed config: $(grep warning "$LC_LOG")"
fi
sleep 0.5
expect_eq "$(lc_stat .ports.client.rx_packets)" 0 "frames received while the wire is held (autostart = no)"
lc_ctl start > /dev/null
wait_rx 44 44
expect_eq "$(lc_stat .ports.server.tx_packets)" 44 "frames forwarded by the installed linecapd"
lc_stop
"$LC_PCAPCMP" "$WORK/c.pcap" "$WORK/server-out.pcap" || fail "frames changed on the way"
echo "ok: the installed linecapd, on the installed config, forwarded the replay byte for byte once started"

# The installed programs in the network-namespace lab: real TCP shaped per
# user (the e2e accuracy test, run with them in place of the build's).
rc=0
LINECAPD=$root/usr/sbin/linecapd LINECAPCTL=$root/usr/bin/linecapctl \
LINECAP_XRAY=$root/usr/bin/linecap-xray LAB_SH=$LC_SOURCE/scripts/lab.sh \
    bash "$LC_SOURCE/tests/e2e/test_accuracy.sh" > "$PKG_WORK/lab.out" 2>&1 || rc=$?
sed 's/^/  | /' "$PKG_WORK/lab.out" | tail -n 12
case $rc in
0) echo "ok: the installed linecapd, linecapctl and linecap-xray shape real TCP in the lab" ;;
77) echo "SKIP (lab part): $(grep -m1 SKIP "$PKG_WORK/lab.out")" ;;
*) fail "the installed programs failed the lab's accuracy test (status $rc)" ;;
esac
echo "PASS: pkg-package"
