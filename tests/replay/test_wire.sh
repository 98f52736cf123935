#!/usr/bin/env bash
# Replay tests of the wire: byte-exact forwarding both ways, TAP mode, and a
# live switch from TAP to inline.
#   test_wire.sh inline|tap|encap|switch
. "$(dirname "$0")/lib.sh"

case_name=${1:?usage: test_wire.sh inline|tap|encap|switch}

check_counters() {
    local cin=$1 sin=$2 mode=$3
    local s
    s=$(lc_ctl stats)
    expect_eq "$(jq .ports.client.rx_packets <<<"$s")" "$(frames "$cin")" "client rx_packets"
    expect_eq "$(jq .ports.client.rx_bytes <<<"$s")" "$(bytes "$cin")" "client rx_bytes"
    expect_eq "$(jq .ports.server.rx_packets <<<"$s")" "$(frames "$sin")" "server rx_packets"
    expect_eq "$(jq .ports.server.rx_bytes <<<"$s")" "$(bytes "$sin")" "server rx_bytes"
    expect_eq "$(jq .ports.client.drops.tx_full <<<"$s")" 0 "client tx_full drops"
    expect_eq "$(jq .ports.server.drops.tx_full <<<"$s")" 0 "server tx_full drops"
    if [ "$mode" = inline ]; then
        expect_eq "$(jq .ports.server.tx_packets <<<"$s")" "$(frames "$cin")" "server tx_packets"
        expect_eq "$(jq .ports.server.tx_bytes <<<"$s")" "$(bytes "$cin")" "server tx_bytes"
        expect_eq "$(jq .ports.client.tx_packets <<<"$s")" "$(frames "$sin")" "client tx_packets"
        expect_eq "$(jq .ports.client.tx_bytes <<<"$s")" "$(bytes "$sin")" "client tx_bytes"
    else
        expect_eq "$(jq .ports.client.tap_packets <<<"$s")" "$(frames "$cin")" "client tap_packets"
        expect_eq "$(jq .ports.server.tap_packets <<<"$s")" "$(frames "$sin")" "server tap_packets"
        expect_eq "$(jq '.ports.client.tx_packets + .ports.server.tx_packets' <<<"$s")" 0 "tx_packets in TAP mode"
    fi
}

case $case_name in
inline|tap)
    "$LC_PCAPGEN" mixed "$WORK/client.pcap" "$WORK/server.pcap"
    write_conf "$WORK/lc.conf" "$case_name" "$WORK/client.pcap" "$WORK/server.pcap"
    lc_start "$WORK/lc.conf"
    wait_rx "$(frames "$WORK/client.pcap")" "$(frames "$WORK/server.pcap")"
    check_counters "$WORK/client.pcap" "$WORK/server.pcap" "$case_name"
    lc_stop
    if [ "$case_name" = inline ]; then
        # What entered one port left the other: same frames, bytes, order.
        "$LC_PCAPCMP" "$WORK/client.pcap" "$WORK/server-out.pcap" || fail "upload differs"
        "$LC_PCAPCMP" "$WORK/server.pcap" "$WORK/client-out.pcap" || fail "download differs"
    else
        expect_eq "$(frames "$WORK/server-out.pcap")" 0 "frames sent on the server port"
        expect_eq "$(frames "$WORK/client-out.pcap")" 0 "frames sent on the client port"
    fi
    ;;
encap)
    # Every encapsulation and every parse reason: forwarded byte for byte,
    # and counted per port under the reason the generator built it for.
    "$LC_PCAPGEN" encap "$WORK/client.pcap" "$WORK/server.pcap" --expect "$WORK/expect.json"
    write_conf "$WORK/lc.conf" inline "$WORK/client.pcap" "$WORK/server.pcap" "[wire]" "vlan_mode = qinq"
    lc_start "$WORK/lc.conf"
    wait_rx "$(frames "$WORK/client.pcap")" "$(frames "$WORK/server.pcap")"
    check_counters "$WORK/client.pcap" "$WORK/server.pcap" inline
    s=$(lc_ctl stats)
    for side in client server; do
        for reason in ok non_ip truncated bad_header too_many_tags unsupported; do
            expect_eq "$(jq ".ports.$side.parse.$reason" <<<"$s")" \
                "$(jq ".$side.$reason" "$WORK/expect.json")" "$side parse.$reason"
        done
    done
    lc_stop
    "$LC_PCAPCMP" "$WORK/client.pcap" "$WORK/server-out.pcap" || fail "upload differs"
    "$LC_PCAPCMP" "$WORK/server.pcap" "$WORK/client-out.pcap" || fail "download differs"
    ;;
switch)
    # A long replay starts in TAP mode and is switched to inline while it
    # runs. The reply to 'mode inline' says at which frame of each port the
    # switch took effect: the output must be exactly the input from there on.
    "$LC_PCAPGEN" seq "$WORK/client.pcap" "$WORK/server.pcap" --count 400000
    write_conf "$WORK/lc.conf" tap "$WORK/client.pcap" "$WORK/server.pcap" "[wire]" "mbufs = 16384"
    nc=$(frames "$WORK/client.pcap")
    ns=$(frames "$WORK/server.pcap")
    lc_start "$WORK/lc.conf"
    for i in $(seq 1 400); do
        [ "$(lc_stat .ports.client.rx_packets)" -gt 0 ] && break
        sleep 0.01
    done
    reply=$(lc_ctl mode inline)
    echo "switch: $reply"
    at_c=$(jq .switched_at.client <<<"$reply")
    at_s=$(jq .switched_at.server <<<"$reply")
    [ "$(jq -r .previous <<<"$reply")" = tap ] || fail "previous mode"
    [ "$at_c" -gt 0 ] && [ "$at_c" -lt "$nc" ] ||
        fail "the switch did not fall inside the replay (client frame $at_c of $nc)"
    wait_rx "$nc" "$ns"
    s=$(lc_ctl stats)
    expect_eq "$(jq .mode -r <<<"$s")" inline "mode after the switch"
    expect_eq "$(jq .ports.client.tap_packets <<<"$s")" "$at_c" "client frames seen in TAP mode"
    expect_eq "$(jq .ports.server.tap_packets <<<"$s")" "$at_s" "server frames seen in TAP mode"
    expect_eq "$(jq .ports.server.tx_packets <<<"$s")" $((nc - at_c)) "upload frames forwarded"
    lc_stop
    "$LC_PCAPCMP" --skip "$at_c" "$WORK/client.pcap" "$WORK/server-out.pcap" ||
        fail "upload after the switch differs"
    "$LC_PCAPCMP" --skip "$at_s" "$WORK/server.pcap" "$WORK/client-out.pcap" ||
        fail "download after the switch differs"
    ;;
*)
    fail "unknown case $case_name"
    ;;
esac
echo "PASS: wire $case_name"
