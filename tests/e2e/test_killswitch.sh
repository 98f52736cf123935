#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# killswitch: 'state disabled' lets the same flows run unshaped and
# 'state present' shapes them again, with nothing restarted.
#
# One user, 5mbit down, downloads with 2 TCP flows for the whole test. The
# rate of the frames reaching the client namespace is measured over 3 s
# windows: shaped (0.80..1.05 of the limit), then with the kill switch on
# (above 3x the limit; users and assignments kept), then shaped again.
. "$(dirname "$0")/lib.sh"

# shellcheck disable=SC2034  # read by rate_check
LIMIT=5000000
lab_up
lc_conf "$WORK/lc.conf" "$LAB_VDEVS"
lc_start "$WORK/lc.conf"
lc_ctl user set k5@lab.example down=5mbit up=2mbit > /dev/null
lc_ctl assign k5@lab.example "${LAB_CLI4[0]}" > /dev/null
servers 5201
flows k5 "${LAB_CLI4[0]}" "$LAB_SRV4" 5201 41000 17 -R

sleep 3
rate_check "present (shaped)" 0.80 1.05

[ "$(lc_ctl state disabled | jq -r .state)" = disabled ] || fail "state disabled"
sleep 1
rate_check "disabled (kill switch)" 3 1000000
[ "$(user_field k5@lab.example .down)" = $LIMIT ] || fail "the user's limit was not kept"
[ "$(user_field k5@lab.example .flows)" -ge 2 ] || fail "the user's flows were not kept"
echo "ok: the user and its flows are kept while disabled"

[ "$(lc_ctl state present | jq -r .state)" = present ] || fail "state present"
# From hundreds of mbit/s to 5: TCP loses most of a window and recovers.
sleep 4
rate_check "present again (shaped)" 0.80 1.05

kill "${FLOW_PID[k5]}" 2>/dev/null || true
echo "killswitch: ok"
