#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# tap: linecapd evaluates real traffic from a mirror before going inline.
#
# A plain Linux bridge carries the traffic between the namespaces; tc mirred
# copies what enters each wire end to a second veth pair per side, and
# linecapd receives those copies in '[wire] mode = tap':
#   - the real traffic is not touched: a user limited to 5mbit downloads
#     20mbit (2 flows, -b 10M each), over 0.90 of it;
#   - linecapd transmits nothing: tx_packets stays 0 on both ports, and
#     tap_packets counts what it received;
#   - 'user get' reports would_drop > 0 for that user, and 0 for a user whose
#     5mbit of traffic is well under its 50mbit limit.
. "$(dirname "$0")/lib.sh"

lab_up
lab bridge on
lab tap on
lc_conf "$WORK/lc.conf" "$LAB_TAP_VDEVS" wire.mode=tap
lc_start "$WORK/lc.conf"
[ "$(lc_stat .mode)" = tap ] || fail "linecapd is not in tap mode"
lc_ctl user set over@lab.example down=5mbit up=2mbit > /dev/null
lc_ctl user set under@lab.example down=50mbit up=10mbit > /dev/null
lc_ctl assign over@lab.example "${LAB_CLI4[0]}" > /dev/null
lc_ctl assign under@lab.example "${LAB_CLI6[1]}" > /dev/null
servers 5201 5202

# -b is per stream; -l 16K keeps iperf3's bursts under the 50mbit meter's
# 62.5 kB burst.
flows over "${LAB_CLI4[0]}" "$LAB_SRV4" 5201 41000 4 -R -b 10M -l 16K
flows under "${LAB_CLI6[1]}" "$LAB_SRV6" 5202 42000 4 -R -b 2.5M -l 16K
flows_wait over under

g=$(goodput over)
echo "over@lab.example through the bridge: $(mbit "$g") mbit/s (offered 20, limit 5)"
between "$(ratio "$g" 20000000)" 0.90 1.05 || fail "the bridged traffic was not left alone: $(mbit "$g") mbit/s"

s=$(lc_ctl stats)
tx=$(jq '.ports.client.tx_packets + .ports.server.tx_packets' <<<"$s")
tap=$(jq '.ports.client.tap_packets + .ports.server.tap_packets' <<<"$s")
rx=$(jq '.ports.client.rx_packets + .ports.server.rx_packets' <<<"$s")
echo "linecapd: rx $rx frames, tap $tap, tx $tx"
[ "$tx" -eq 0 ] || fail "linecapd transmitted $tx frames in tap mode"
[ "$tap" -gt 1000 ] || fail "linecapd counted only $tap mirrored frames"

wd_over=$(user_field over@lab.example .counters.down.would_drop)
wd_under=$(user_field under@lab.example .counters.down.would_drop)
pk_over=$(user_field over@lab.example .counters.down.packets)
pk_under=$(user_field under@lab.example .counters.down.packets)
echo "would_drop: over@lab.example $wd_over of $pk_over frames, under@lab.example $wd_under of $pk_under"
[ "$wd_over" != null ] && [ "$wd_over" -gt 0 ] || fail "no would_drop for the user over its limit"
[ "$pk_under" -gt 100 ] || fail "the user under its limit saw only $pk_under frames"
[ "$wd_under" -eq 0 ] || fail "would_drop $wd_under for the user under its limit"
echo "tap: ok"
