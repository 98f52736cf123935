#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The systemd units of the package, as they are in debian/: systemd-analyze
# verify finds nothing in them (the programs they run are the tree's own,
# built ones), and they set what the appliance relies on.
# Needs: LC_SOURCE, LINECAPD, LINECAPCTL, LINECAP_XRAY.
. "$(dirname "$0")/lib.sh"
: "${LC_SOURCE:?}" "${LINECAPD:?}" "${LINECAPCTL:?}" "${LINECAP_XRAY:?}"

# The tree's programs, where the installed units expect them.
mkdir -p "$PKG_WORK/sbin" "$PKG_WORK/bin" "$PKG_WORK/units"
ln -s "$LINECAPD" "$PKG_WORK/sbin/linecapd"
ln -s "$LC_SOURCE/scripts/linecap-setup" "$PKG_WORK/sbin/linecap-setup"
ln -s "$LINECAPCTL" "$PKG_WORK/bin/linecapctl"
ln -s "$LINECAP_XRAY" "$PKG_WORK/bin/linecap-xray"
cp "$LC_SOURCE/debian/linecap.linecapd.service" "$PKG_WORK/units/linecapd.service"
cp "$LC_SOURCE/debian/linecap.linecap-xray@.service" "$PKG_WORK/units/linecap-xray@.service"

verify_units "$PKG_WORK/units" "$LC_SOURCE/docs/man" "$PKG_WORK/sbin" "$PKG_WORK/bin"

# What the appliance relies on, setting by setting.
expect_key() {
    local unit=$1 line=$2
    grep -qxF -- "$line" "$PKG_WORK/units/$unit" || fail "$unit: no line '$line'"
}
d=linecapd.service
expect_key $d "ExecStartPre=+/usr/sbin/linecap-setup --config /etc/linecap/linecap.conf"
expect_key $d "ExecStart=/usr/sbin/linecapd --config /etc/linecap/linecap.conf"
grep -q '^ExecStartPost=.*linecapctl ping.*LINECAP_OPEN_WIRE_AFTER.*linecapctl start' \
    "$PKG_WORK/units/$d" || fail "$d: no ExecStartPost that waits, then opens the wire"
expect_key $d "Restart=on-failure"
expect_key $d "RuntimeDirectory=linecap"
expect_key $d "StateDirectory=linecap"
expect_key $d "NoNewPrivileges=yes"
expect_key $d "ProtectSystem=strict"
expect_key $d "ProtectHome=yes"
expect_key $d "PrivateTmp=yes"
expect_key $d "CapabilityBoundingSet=CAP_IPC_LOCK CAP_SYS_ADMIN CAP_SYS_RAWIO CAP_NET_ADMIN CAP_NET_RAW CAP_CHOWN"
x=linecap-xray@.service
expect_key $x "EnvironmentFile=/etc/linecap/xray-%i.conf"
expect_key $x "Restart=always"
expect_key $x "CapabilityBoundingSet="
expect_key $x "SupplementaryGroups=linecap"
expect_key $x "DynamicUser=yes"
expect_key $x "StateDirectory=linecap-xray"
grep -q '^ExecStart=.* --position /var/lib/linecap-xray/%i.position ' "$PKG_WORK/units/$x" ||
    fail "$x: the follower does not keep its position in its state directory"
echo "ok: restart policies, sandboxing and capabilities as documented"

# The wire-opening step, run as systemd would run it, against a stand-in
# linecapctl: it waits for ping, then the replay window, then starts.
rm "$PKG_WORK/bin/linecapctl"
cat > "$PKG_WORK/bin/linecapctl" <<'SH'
#!/bin/sh
echo "$*" >> "$CALLS"
[ "$1" != ping ] || [ "$(wc -l < "$CALLS")" -ge 3 ]
SH
chmod +x "$PKG_WORK/bin/linecapctl"
post=$(sed -n 's/^ExecStartPost=//p' "$PKG_WORK/units/$d" |
    sed -e 's/\$\$/$/g' -e "s#/usr/bin/linecapctl#$PKG_WORK/bin/linecapctl#g")
[ "${post%% *}" = /bin/sh ] || fail "ExecStartPost is not /bin/sh -c: $post"
script=${post#/bin/sh -c \'}
script=${script%\'}
CALLS=$PKG_WORK/calls LINECAP_OPEN_WIRE_AFTER=0.1 LINECAP_SOCKET=/nonexistent \
    sh -c "$script"
expect_calls=$(printf 'ping\nping\nping\nstart')
[ "$(cat "$PKG_WORK/calls")" = "$expect_calls" ] ||
    fail "ExecStartPost called linecapctl with: $(tr '\n' ' ' < "$PKG_WORK/calls")"
echo "ok: ExecStartPost waits for ping, then runs linecapctl start"
echo "PASS: pkg-units"
