#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# restart: linecapd restarts during traffic (SIGTERM, then the same config
# and state file) while linecap-xray keeps following the access log.
#
#   - two static users (user set); one downloads with 2 TCP flows, which
#     linecap-xray assigns from Xray access lines for the flows and for
#     iperf3's control connection, as in production;
#   - before the restart the download is shaped (0.80..1.05 of 5mbit);
#   - after it: both static users are back with their limits (state file);
#     linecap-xray reconnects and re-sends its recent assignments; the flows
#     are bound again within 10 s of linecapd answering, and shaped again.
. "$(dirname "$0")/lib.sh"

# shellcheck disable=SC2034  # read by rate_check
LIMIT=5000000
lab_up
CLI=${LAB_CLI4[0]}
lc_conf "$WORK/lc.conf" "$LAB_VDEVS"
lc_start "$WORK/lc.conf"
xray_start
lc_ctl user set r5@lab.example down=5mbit up=2mbit > /dev/null
lc_ctl user set r50@lab.example down=50mbit up=10mbit > /dev/null
servers 5201

# bound: how many of the data flows (cport 41000, 41001) r5 holds.
bound() {
    lc_ctl flows | jq --arg a "$CLI:41000" --arg b "$CLI:41001" \
        '[.flows[] | select(.client == $a or .client == $b) | select(.user == "r5@lab.example")] | length'
}
two_bound() { [ "$(bound)" -eq 2 ]; }

flows r5 "$CLI" "$LAB_SRV4" 5201 41000 30 -R
ctrl=$(ctrl_port "$CLI" 5201 41000)
for port in "$ctrl" 41000 41001; do
    access_line r5@lab.example "$CLI" "$port" "$LAB_SRV4" 5201
done
wait_for 10 "linecap-xray's assignments" two_bound
echo "ok: linecap-xray assigned the flows (control connection from port $ctrl)"
sleep 2
rate_check "before the restart" 0.80 1.05

lc_stop
echo "linecapd stopped (SIGTERM)"
t0=$(date +%s.%N)
lc_start "$WORK/lc.conf"
t1=$(date +%s.%N)
for u in "r5@lab.example 5000000 2000000" "r50@lab.example 50000000 10000000"; do
    read -r email down up <<<"$u"
    got=$(lc_ctl user get "$email" | jq -r '[.user.static, .user.down, .user.up] | @tsv')
    [ "$got" = "$(printf 'true\t%s\t%s' "$down" "$up")" ] ||
        fail "$email after the restart: static/down/up = $got"
done
echo "ok: the static users are back from the state file"

wait_for 15 "the flows bound again after the restart" two_bound
t2=$(date +%s.%N)
echo "ok: flows bound again $(awk -v a="$t1" -v b="$t2" 'BEGIN { printf "%.1f", b - a }') s after linecapd answered ($(awk -v a="$t0" -v b="$t2" 'BEGIN { printf "%.1f", b - a }') s after it was started)"
replayed=$(sed -n 's/.*replayed \([0-9]*\) assignments.*/\1/p' "$XRAY_LOG" | tail -n 1)
[ "${replayed:-0}" -ge 3 ] || fail "linecap-xray did not replay the 3 assignments (${replayed:-none})"
echo "ok: linecap-xray reconnected and replayed $replayed assignments"
sleep 1
rate_check "after the restart" 0.80 1.05
kill "${FLOW_PID[r5]}" 2>/dev/null || true
echo "restart: ok"
