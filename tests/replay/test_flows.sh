#!/usr/bin/env bash
# Replay tests of the flow table: a capture that starts mid-stream
# with permit_invalid_flow yes and no, the same 5-tuple in several VLANs, and
# the 'flows' listing. The expected flows come from lc-pcapgen, which writes
# them from the connections it built (--expect-flows), never from a parser.
#   test_flows.sh midstream-permit|midstream-deny|vlans|listing|listing-large|table-full
. "$(dirname "$0")/lib.sh"

case_name=${1:?usage: test_flows.sh midstream-permit|midstream-deny|vlans|listing|listing-large|table-full}

# The fields of a flow that a capture decides, in a stable order. Sorting by
# the whole normalised object makes the comparison independent of the order
# of the table's slots.
NORM='[.[] | {proto, client, server, vlan, state, packets, bytes}] | sort_by(tostring)'

# expect_flows REPLY EXPECTED_ARRAY_JSON WHAT: the 'flows' reply lists exactly
# the expected flows.
expect_flows() {
    local reply=$1 expected=$2 what=$3
    local got want
    got=$(jq -S "$NORM" <<<"$(jq .flows <<<"$reply")")
    want=$(jq -S "$NORM" <<<"$expected")
    if [ "$got" != "$want" ]; then
        diff -u <(echo "$want") <(echo "$got") | head -n 60 >&2 || true
        fail "$what: the flows listed differ from the capture's (- expected, + listed)"
    fi
    echo "ok: $what: $(jq length <<<"$expected") flows listed as built"
}

# Flow timeouts are seconds; a listing must come right after the replay. The
# shortest timeout that applies here is tcp_closing_timeout (10 s).
replay() {
    local conf=$1
    lc_start "$conf"
    wait_rx "$(frames "$WORK/client.pcap")" "$(frames "$WORK/server.pcap")"
}

check_rx() {
    local s=$1
    expect_eq "$(jq .ports.client.rx_packets <<<"$s")" "$(frames "$WORK/client.pcap")" "client rx_packets"
    expect_eq "$(jq .ports.server.rx_packets <<<"$s")" "$(frames "$WORK/server.pcap")" "server rx_packets"
    expect_eq "$(jq .ports.client.drops.tx_full <<<"$s")" 0 "client tx_full drops"
    expect_eq "$(jq .ports.server.drops.tx_full <<<"$s")" 0 "server tx_full drops"
    expect_eq "$(jq .flows.flow_table_full <<<"$s")" 0 "flow_table_full"
    expect_eq "$(jq .flows.expired <<<"$s")" 0 "flows expired"
}

case $case_name in
midstream-permit)
    # Every connection of a capture without a single SYN gets a session,
    # in its state, and every frame is forwarded untouched.
    "$LC_PCAPGEN" midstream "$WORK/client.pcap" "$WORK/server.pcap" \
        --expect-flows "$WORK/flows.json"
    write_conf "$WORK/lc.conf" inline "$WORK/client.pcap" "$WORK/server.pcap" \
        "[flows]" "permit_invalid_flow = yes"
    n_flows=$(jq '.flows | length' "$WORK/flows.json")
    n_tcp=$(jq '[.flows[] | select(.proto == "tcp")] | length' "$WORK/flows.json")
    replay "$WORK/lc.conf"
    reply=$(lc_ctl flows)
    s=$(lc_ctl stats)
    check_rx "$s"
    expect_eq "$(jq .ports.server.tx_packets <<<"$s")" "$(frames "$WORK/client.pcap")" "upload frames forwarded"
    expect_eq "$(jq .ports.client.tx_packets <<<"$s")" "$(frames "$WORK/server.pcap")" "download frames forwarded"
    for side in client server; do
        expect_eq "$(jq .ports.$side.drops.invalid_flow <<<"$s")" 0 "$side invalid_flow drops"
    done
    expect_eq "$(jq .flows.active <<<"$s")" "$n_flows" "flows.active"
    expect_eq "$(jq .flows.created <<<"$s")" "$n_flows" "flows.created"
    expect_eq "$(jq .flows.created_midstream <<<"$s")" "$n_tcp" "flows.created_midstream"
    expect_eq "$(jq .flows.invalid_flow <<<"$s")" 0 "flows.invalid_flow"
    expect_eq "$(jq .flows.tcp_reopened <<<"$s")" 0 "flows.tcp_reopened"
    expect_eq "$(jq .count <<<"$reply")" "$n_flows" "flows count"
    expect_eq "$(jq .active <<<"$reply")" "$n_flows" "flows active"
    expect_flows "$reply" "$(jq .flows "$WORK/flows.json")" "midstream, permit"
    expect_eq "$(jq '[.flows[] | select(.user != null)] | length' <<<"$reply")" 0 "flows bound to a user"
    for st in established fin_wait closing active; do
        echo "   $st: $(jq "[.flows[] | select(.state == \"$st\")] | length" <<<"$reply")"
    done
    lc_stop
    "$LC_PCAPCMP" "$WORK/client.pcap" "$WORK/server-out.pcap" || fail "upload differs"
    "$LC_PCAPCMP" "$WORK/server.pcap" "$WORK/client-out.pcap" || fail "download differs"
    ;;
midstream-deny)
    # The same capture with permit_invalid_flow = no: no TCP packet may open
    # a session, so every TCP frame is dropped and counted, and exactly the
    # UDP frames go through, in order.
    "$LC_PCAPGEN" midstream "$WORK/client.pcap" "$WORK/server.pcap" \
        --expect-flows "$WORK/flows.json" --expect-pcap-prefix "$WORK/nontcp"
    write_conf "$WORK/lc.conf" inline "$WORK/client.pcap" "$WORK/server.pcap" \
        "[flows]" "permit_invalid_flow = no"
    tcp_c=$(jq .tcp_packets.client "$WORK/flows.json")
    tcp_s=$(jq .tcp_packets.server "$WORK/flows.json")
    udp=$(jq '[.flows[] | select(.proto == "udp")]' "$WORK/flows.json")
    n_udp=$(jq length <<<"$udp")
    [ "$tcp_c" -gt 0 ] && [ "$tcp_s" -gt 0 ] && [ "$n_udp" -gt 0 ] ||
        fail "the capture must hold TCP both ways and UDP"
    expect_eq "$(frames "$WORK/nontcp-client.pcap")" $(( $(frames "$WORK/client.pcap") - tcp_c )) \
        "generator: non-TCP upload frames"
    replay "$WORK/lc.conf"
    reply=$(lc_ctl flows)
    s=$(lc_ctl stats)
    check_rx "$s"
    expect_eq "$(jq .ports.client.drops.invalid_flow <<<"$s")" "$tcp_c" "client invalid_flow drops"
    expect_eq "$(jq .ports.server.drops.invalid_flow <<<"$s")" "$tcp_s" "server invalid_flow drops"
    expect_eq "$(jq .flows.invalid_flow <<<"$s")" $((tcp_c + tcp_s)) "flows.invalid_flow"
    expect_eq "$(jq .ports.server.tx_packets <<<"$s")" "$(frames "$WORK/nontcp-client.pcap")" "upload frames forwarded"
    expect_eq "$(jq .ports.client.tx_packets <<<"$s")" "$(frames "$WORK/nontcp-server.pcap")" "download frames forwarded"
    expect_eq "$(jq .flows.active <<<"$s")" "$n_udp" "flows.active"
    expect_eq "$(jq .flows.created <<<"$s")" "$n_udp" "flows.created"
    expect_eq "$(jq .flows.created_midstream <<<"$s")" 0 "flows.created_midstream"
    expect_eq "$(jq .count <<<"$reply")" "$n_udp" "flows count"
    expect_flows "$reply" "$udp" "midstream, deny"
    lc_stop
    "$LC_PCAPCMP" "$WORK/nontcp-client.pcap" "$WORK/server-out.pcap" || fail "upload is not exactly the UDP frames"
    "$LC_PCAPCMP" "$WORK/nontcp-server.pcap" "$WORK/client-out.pcap" || fail "download is not exactly the UDP frames"
    ;;
vlans)
    # One 5-tuple in VLAN 10, VLAN 20 and untagged, each opened by its own
    # handshake: three flows. permit_invalid_flow = no makes every one of
    # them start from its SYN (the SYNs are the first frames of the client
    # capture, which the worker polls first), so none is mid-stream and no
    # packet may be refused.
    "$LC_PCAPGEN" vlans "$WORK/client.pcap" "$WORK/server.pcap" \
        --expect-flows "$WORK/flows.json"
    write_conf "$WORK/lc.conf" inline "$WORK/client.pcap" "$WORK/server.pcap" \
        "[flows]" "permit_invalid_flow = no"
    replay "$WORK/lc.conf"
    reply=$(lc_ctl flows)
    s=$(lc_ctl stats)
    check_rx "$s"
    for side in client server; do
        expect_eq "$(jq .ports.$side.drops.invalid_flow <<<"$s")" 0 "$side invalid_flow drops"
    done
    expect_eq "$(jq .flows.active <<<"$s")" 3 "flows.active"
    expect_eq "$(jq .flows.created <<<"$s")" 3 "flows.created"
    expect_eq "$(jq .flows.created_midstream <<<"$s")" 0 "flows.created_midstream"
    expect_eq "$(jq -c '[.flows[].vlan] | sort' <<<"$reply")" '[[],[10],[20]]' "VLAN contexts"
    expect_eq "$(jq -c '[.flows[] | [.client, .server, .proto]] | unique' <<<"$reply")" \
        '[["10.0.0.1:40000","192.0.2.1:443","tcp"]]' "one 5-tuple"
    expect_flows "$reply" "$(jq .flows "$WORK/flows.json")" "vlans"
    lc_stop
    "$LC_PCAPCMP" "$WORK/client.pcap" "$WORK/server-out.pcap" || fail "upload differs"
    "$LC_PCAPCMP" "$WORK/server.pcap" "$WORK/client-out.pcap" || fail "download differs"
    ;;
listing)
    # flows LIMIT: at most LIMIT entries, 'active' always the whole table;
    # a LIMIT that is not a number is an error reply (exit status 1).
    "$LC_PCAPGEN" midstream "$WORK/client.pcap" "$WORK/server.pcap" \
        --expect-flows "$WORK/flows.json"
    write_conf "$WORK/lc.conf" inline "$WORK/client.pcap" "$WORK/server.pcap"
    n_flows=$(jq '.flows | length' "$WORK/flows.json")
    replay "$WORK/lc.conf"
    all=$(lc_ctl flows)
    expect_eq "$(jq -c '[.ok, .count, .active, (.flows | length)]' <<<"$all")" \
        "[true,$n_flows,$n_flows,$n_flows]" "flows: [ok, count, active, listed]"
    expect_eq "$(jq -c '[.flows[] | [(.age|type), (.idle|type), (.user|type)]] | unique' <<<"$all")" \
        '[["number","number","null"]]' "age, idle and user of every entry"
    r=$(lc_ctl flows 2)
    expect_eq "$(jq -c '[.ok, .count, .active, (.flows | length)]' <<<"$r")" \
        "[true,2,$n_flows,2]" "flows 2: [ok, count, active, listed]"
    # The two entries are flows of the table, whole.
    expect_eq "$(jq -c --argjson all "$(jq .flows <<<"$all")" \
        '[.flows[] | del(.age, .idle) as $f | any($all[] | del(.age, .idle); . == $f)] | all' <<<"$r")" \
        true "flows 2 lists entries of the table"
    r=$(lc_ctl flows 0)
    expect_eq "$(jq -c '[.ok, .count, .active, .flows]' <<<"$r")" \
        "[true,0,$n_flows,[]]" "flows 0: [ok, count, active, flows]"
    for bad in abc -1 2x 50001; do
        rc=0
        r=$(lc_ctl flows "$bad") || rc=$?
        expect_eq "$rc" 1 "exit status of 'flows $bad'"
        expect_eq "$(jq -c '[.ok, (.error | type)]' <<<"$r")" '[false,"string"]' "reply to 'flows $bad'"
    done
    rc=0
    lc_ctl flows 1 2 > /dev/null || rc=$?
    expect_eq "$rc" 1 "exit status of 'flows 1 2'"
    # The daemon is still there and still answers.
    expect_eq "$(lc_ctl flows 1 | jq -c '[.ok, .count]')" '[true,1]' "flows 1 after the errors"
    lc_stop
    ;;
table-full)
    # More connections than the table holds: the table fills, every later
    # new flow is forwarded unassigned and counted, and nothing is dropped.
    "$LC_PCAPGEN" midstream "$WORK/client.pcap" "$WORK/server.pcap" --count 1500 \
        --expect-flows "$WORK/expect.json"
    nflows=$(jq '.flows | length' "$WORK/expect.json")
    write_conf "$WORK/lc.conf" inline "$WORK/client.pcap" "$WORK/server.pcap" \
        "[flows]" "capacity = 1024"
    replay "$WORK/lc.conf"
    s=$(lc_ctl stats)
    [ "$nflows" -gt 1024 ] || fail "the capture must hold more flows than the table"
    expect_eq "$(jq .flows.active <<<"$s")" 1024 "active flows in a full table"
    expect_eq "$(jq .flows.created <<<"$s")" 1024 "flows created"
    [ "$(jq .flows.flow_table_full <<<"$s")" -gt 0 ] || fail "flow_table_full not counted"
    echo "ok: flow_table_full = $(jq .flows.flow_table_full <<<"$s") frames"
    expect_eq "$(jq '.ports.client.drops.tx_full + .ports.server.drops.tx_full' <<<"$s")" 0 "drops"
    expect_eq "$(jq .ports.server.tx_packets <<<"$s")" "$(frames "$WORK/client.pcap")" "upload frames forwarded"
    lc_stop
    "$LC_PCAPCMP" "$WORK/client.pcap" "$WORK/server-out.pcap" || fail "upload differs"
    "$LC_PCAPCMP" "$WORK/server.pcap" "$WORK/client-out.pcap" || fail "download differs"
    ;;
listing-large)
    # A listing larger than the socket's buffer: 3000 connections and 600
    # UDP flows, about 730 KB of reply. It must come whole, and quickly
    # (linecapctl itself has no timeout, so the call is bounded here).
    "$LC_PCAPGEN" midstream "$WORK/client.pcap" "$WORK/server.pcap" \
        --count 3000 --expect-flows "$WORK/flows.json"
    write_conf "$WORK/lc.conf" inline "$WORK/client.pcap" "$WORK/server.pcap"
    n_flows=$(jq '.flows | length' "$WORK/flows.json")
    replay "$WORK/lc.conf"
    for i in 1 2 3; do
        rc=0
        reply=$(timeout 8 "$LINECAPCTL" -s "$LC_SOCK" --json flows 5000) || rc=$?
        [ "$rc" -eq 0 ] || fail "flows 5000 (try $i): exit status $rc" \
            "(124: no whole reply within 8 s), mgmt: $(lc_ctl stats | jq -c .mgmt)"
        expect_eq "$(jq -c '[.count, .active]' <<<"$reply")" "[$n_flows,$n_flows]" \
            "flows 5000 (try $i): [count, active]"
    done
    expect_flows "$reply" "$(jq .flows "$WORK/flows.json")" "midstream x3000, permit"
    expect_eq "$(lc_ctl stats | jq .mgmt.cut_off)" 0 "mgmt clients cut off"
    lc_stop
    ;;
*)
    fail "unknown case $case_name"
    ;;
esac
echo "PASS: flows $case_name"
