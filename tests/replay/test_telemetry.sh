#!/usr/bin/env bash
# DPDK telemetry: dpdk-telemetry.py shows linecap's stats, users and a user,
# the same numbers the management socket gives.
. "$(dirname "$0")/lib.sh"

command -v dpdk-telemetry.py > /dev/null || fail "dpdk-telemetry.py not found (package dpdk)"

"$LC_PCAPGEN" mixed "$WORK/client.pcap" "$WORK/server.pcap"
write_conf "$WORK/lc.conf" inline "$WORK/client.pcap" "$WORK/server.pcap"
lc_start "$WORK/lc.conf"
wait_rx "$(frames "$WORK/client.pcap")" "$(frames "$WORK/server.pcap")"
lc_ctl user set alice@example.com up=5mbit down=20mbit > /dev/null
lc_ctl user set bob@example.com > /dev/null

tel() {
    echo "$1" | timeout 20 dpdk-telemetry.py -f "lc-$$" 2>/dev/null | jq -c ".[\"${1%%,*}\"]"
}

stats=$(tel /linecap/stats)
expect_eq "$(jq '."ports/client/rx_packets"' <<<"$stats")" "$(frames "$WORK/client.pcap")" "telemetry client rx_packets"
expect_eq "$(jq '."ports/server/tx_packets"' <<<"$stats")" "$(frames "$WORK/client.pcap")" "telemetry server tx_packets"
expect_eq "$(jq -r '.mode' <<<"$stats")" inline "telemetry mode"
expect_eq "$(jq '."users/static"' <<<"$stats")" 2 "telemetry static users"

users=$(tel /linecap/users)
expect_eq "$(jq .count <<<"$users")" 2 "telemetry user count"
expect_eq "$(jq -c '.emails | sort' <<<"$users")" '["alice@example.com","bob@example.com"]' "telemetry emails"

alice=$(tel /linecap/user,alice@example.com)
expect_eq "$(jq .up <<<"$alice")" 5000000 "telemetry alice up"
expect_eq "$(jq .down <<<"$alice")" 20000000 "telemetry alice down"
expect_eq "$(jq .id <<<"$alice")" "$(lc_ctl user get alice@example.com | jq .user.id)" "telemetry alice id"

nobody=$(tel /linecap/user,nobody@example.com)
jq -e '.error | test("no user")' <<<"$nobody" > /dev/null || fail "unknown user: $nobody"
echo "ok: unknown user is an error"

lc_stop
echo "PASS: telemetry"
