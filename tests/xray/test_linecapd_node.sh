#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# test_linecapd_node.sh: two followers, one per VPN node, against the real
# linecapd. The capture (lc-pcapgen 'nodes') holds one client endpoint
# behind a carrier-grade NAT, 100.64.0.1:40000, with a connection to each
# node (192.0.2.10:443 and 192.0.2.20:443). Each node's access log says the
# endpoint is another user's; each linecap-xray --node --node-addr names its
# server, so each flow goes to its own user, with its node. stats shows both
# followers connected; when one stops, its node is no longer connected and
# nothing of the other's, nor its own assignments, goes with it.
#
# Needs LINECAPD, LINECAPCTL, LC_PCAPGEN, LC_PCAPCMP (tests/replay/lib.sh)
# and LINECAP_XRAY in the environment.
. "$(dirname "$0")/../replay/lib.sh"

: "${LINECAP_XRAY:?}"

XA_PID= XB_PID=

node_cleanup() {
    local rc=$? p
    set +e
    for p in $XA_PID $XB_PID; do
        kill -KILL "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    if [ "$rc" -ne 0 ]; then
        for p in "$WORK"/xray-*.err; do
            [ -f "$p" ] && { echo "--- $p ---" >&2; tail -n 20 "$p" >&2; }
        done
    fi
    (exit "$rc")
    lc_cleanup
}
trap node_cleanup EXIT INT TERM

wait_for() {
    local secs=$1 what=$2
    shift 2
    local deadline=$((SECONDS + secs))
    until "$@"; do
        [ "$SECONDS" -lt "$deadline" ] || fail "timed out waiting for $what"
        sleep 0.05
    done
}
has_text() { grep -qF -- "$2" "$1" 2>/dev/null; }
node_is() { [ "$(lc_ctl stats | jq -c --arg n "$1" '.nodes[$n] | [.connected, .followers]')" = "$2" ]; }
flows_are() { [ "$(lc_ctl flows | jq -S -c '[.flows[] | [.client, .server, .user, .node]] | sort')" = "$1" ]; }

"$LC_PCAPGEN" nodes "$WORK/client.pcap" "$WORK/server.pcap" > /dev/null
write_conf "$WORK/lc.conf" inline "$WORK/client.pcap" "$WORK/server.pcap" \
    "[wire]" "autostart = no"
lc_start "$WORK/lc.conf"

now() { date '+%Y/%m/%d %H:%M:%S'; }
: > "$WORK/a.log"
: > "$WORK/b.log"
"$LINECAP_XRAY" -s "$LC_SOCK" --stats 3600 --node node-a \
    --node-addr vless-in=192.0.2.10:443 "$WORK/a.log" 2> "$WORK/xray-a.err" &
XA_PID=$!
"$LINECAP_XRAY" -s "$LC_SOCK" --stats 3600 --node node-b \
    --node-addr 192.0.2.20:443 "$WORK/b.log" 2> "$WORK/xray-b.err" &
XB_PID=$!
wait_for 10 "node-a's follower" node_is node-a "[true,1]"
wait_for 10 "node-b's follower" node_is node-b "[true,1]"

echo "$(now) from 100.64.0.1:40000 accepted tcp:a.example:443 [vless-in >> direct] email: alice@example.com" >> "$WORK/a.log"
echo "$(now) from 100.64.0.1:40000 accepted tcp:b.example:443 [vmess-in -> direct] email: bob@example.com" >> "$WORK/b.log"
wait_for 10 "two pending assignments" eval '[ "$(lc_ctl stats | jq .assignments.pending)" = 2 ]'

[ "$(lc_ctl start | jq -r .receiving)" = true ] || fail "start"
wait_rx "$(frames "$WORK/client.pcap")" "$(frames "$WORK/server.pcap")"
want='[["100.64.0.1:40000","192.0.2.10:443","alice@example.com","node-a"],'
want+='["100.64.0.1:40000","192.0.2.20:443","bob@example.com","node-b"],'
want+='["100.64.0.1:40001","192.0.2.10:443",null,null],'
want+='["100.64.0.1:40001","192.0.2.20:443",null,null]]'
wait_for 10 "each flow with its user and node" flows_are "$want"
echo "ok: one client endpoint, two nodes, two users"
expect_eq "$(lc_ctl stats | jq -c '[.nodes["node-a"].assigns, .nodes["node-b"].assigns]')" "[1,1]" \
    "assignments per node"

# node-b's follower stops: node-a stays connected, bob keeps his flow.
kill -TERM "$XB_PID"
wait "$XB_PID" || fail "node-b's follower did not stop cleanly"
XB_PID=
wait_for 10 "node-b disconnected" node_is node-b "[false,0]"
node_is node-a "[true,1]" || fail "node-a lost its follower"
flows_are "$want" || fail "the flows changed when node-b's follower left"
echo "ok: a follower that leaves takes nothing with it"

kill -TERM "$XA_PID"
wait "$XA_PID" || fail "node-a's follower did not stop cleanly"
XA_PID=
lc_stop
echo "PASS: two nodes, two followers"
