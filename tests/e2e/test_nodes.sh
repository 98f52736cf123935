#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# nodes: the followers of two VPN nodes over TLS on the management link, and
# their restarts and linecapd's. The lab with the real proxy and two nodes
# (tests/e2e/proxy.sh): each node's linecap-xray runs inside the server
# namespace and reaches linecapd on the management link (a veth of its own,
# never the wire) over TLS, with its node's follower certificate.
#
#   user                 client        down
#   alice@lab.example    10.99.0.11   10mbit
#   bob@lab.example      10.99.0.12   20mbit
#   carol@lab.example    fd00:99::13   5mbit   (IPv6)
#
# Checks:
#   - refusals over the management link: a linecap-xray with a self-signed
#     certificate (CN node3, not by the lab's CA) is refused: no node3 in
#     stats, mgmt.tls_failed counts it, linecapd logs it; a follower's
#     certificate cannot `user set` (refused, nothing changed) while the
#     operator's can;
#   - a restart of node 1's follower: it is killed (SIGKILL), stats say node1
#     is no longer connected; meanwhile bob opens connections through node 1
#     and carol through node 2 (1 mbit/s a flow: alice's is the one load). Alice's download through node 2, running
#     across it all, and every other flow to node 2 stay bound to their user
#     and node 2 (sampled every 0.5 s), and the connections node 2 logged
#     meanwhile are bound; node 1's new connections wait. Node 1's follower
#     started again reads on from the position it kept (--position), so the
#     lines its node logged while it was away are sent; it connects, and
#     every connection either node logged is bound to its user and node. Alice's goodput through node 2
#     over the whole time stays within 0.85..1.02 of her limit (the test's
#     own commands run on the CPU of iperf3 and v2ray, tests/e2e/proxy.sh);
#   - a restart of linecapd (SIGTERM, start again) with downloads through
#     both nodes running across it: both followers reconnect on their own,
#     say hello and replay their recent assignments, so that every flow to
#     port 443 in the new flow table is bound to the user and node its
#     node's log says; new connections after it are bound too; both
#     downloads end without an error.
# Skips (77) without v2ray or openssl, besides lib.sh's skips.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/proxy.sh"

T0=$SECONDS
proxy_lab_up
proxy_lc_start
lc_ctl user set "$ALICE" down=10mbit up=5mbit > /dev/null
lc_ctl user set "$BOB" down=20mbit up=5mbit > /dev/null
lc_ctl user set "$CAROL" down=5mbit up=2mbit > /dev/null
follower_start 1
follower_start 2
wait_for 10 "both followers connected over TLS" eval 'node_connected 1 && node_connected 2'
echo "ok: both nodes' followers connected to $LAB_MGMT_ADDR:$LAB_MGMT_PORT over TLS from $LAB_NS_SRV"
proxy_servers

# mgmt_ctl CERT ARG...: linecapctl from the server namespace over the
# management link, with the lab's certificate CERT (operator, node1, ...).
mgmt_ctl() {
    local c=$1
    shift
    in_srv "$LINECAPCTL" --connect "$LAB_MGMT_ADDR:$LAB_MGMT_PORT" \
        --cert "$LAB_MGMT_DIR/$c.pem" --key "$LAB_MGMT_DIR/$c.key" \
        --ca "$LAB_MGMT_DIR/ca.pem" --json "$@"
}

# --- refusals over the management link ------------------------------------------
# shellcheck source=SCRIPTDIR/../../scripts/lib/certs.sh
(mkdir -p "$WORK/rogue" && cd "$WORK/rogue" &&
    . "$(dirname "$LAB_SH")/lib/certs.sh" && lc_cert_ca node3 node3)
failed=$(lc_stat .mgmt.tls_failed)
ip netns exec "$LAB_NS_SRV" "$LINECAP_XRAY" --connect "$LAB_MGMT_ADDR:$LAB_MGMT_PORT" \
    --cert "$WORK/rogue/node3.pem" --key "$WORK/rogue/node3.key" \
    --ca "$LAB_MGMT_DIR/ca.pem" --node node3 --stats 1 "${LAB_PROXY_LOGS[0]}" \
    > "$WORK/xray-rogue.log" 2>&1 &
PIDS+=($!)
rogue=$!
wait_for 10 "the self-signed follower refused (mgmt.tls_failed)" \
    eval '[ "$(lc_stat .mgmt.tls_failed)" -gt "$failed" ]'
kill "$rogue"
[ "$(lc_stat '.nodes | has("node3")')" = false ] || fail "node3 said hello with a self-signed certificate"
grep -q "management over TLS: refused" "$LC_LOG" || fail "linecapd did not log the refused follower"
echo "ok: a follower with a self-signed certificate (CN node3) is refused over the management link and logged"
r=$(mgmt_ctl node1 user set "$ALICE" down=1mbit || true)
[ "$(jq -r .ok <<<"$r")" = false ] && grep -q "not allowed for a follower" <<<"$r" ||
    fail "a follower's certificate ran user set: $r"
[ "$(user_field "$ALICE" .down)" = 10000000 ] || fail "alice's limit changed by a follower"
r=$(mgmt_ctl operator user get "$ALICE") && [ "$(jq -r .ok <<<"$r")" = true ] ||
    fail "the operator over the management link: $r"
echo "ok: over the management link a follower's certificate cannot user set; the operator's can talk"

# --- a restart of node 1's follower ---------------------------------------------
LIMIT=10000000
T1=$SECONDS
w0=$(worker_wait)
pflows keep2 "$ALICE" 2 10 -R
sleep 2
bound_check "before node 1's follower goes"
follower_kill 1
wait_for 10 "node1 no longer connected" eval '! node_connected 1'
echo "ok: node 1's follower killed; stats say node1 is not connected"
# Connections only: 1 mbit/s per flow, so that alice's is the one load.
pflows new1 "$BOB" 1 6 -R -b 1M
pflows new2 "$CAROL" 2 6 -R -b 1M
# Node 2's flows while node 1's follower is gone: sampled every 0.5 s.
for i in $(seq 6); do
    sleep 0.5
    bad=$(node_unbound 2)
    [ -z "$bad" ] || fail "node 2's flows unbound while node 1's follower is away (sample $i): $bad"
done
logged_since
logged=$LOGGED
bad=$(unbound "$(grep ' node2$' <<<"$logged")" | grep -v '^unassigned flow' || true)
[ -z "$bad" ] || fail "node 2's new connections are not bound: $bad"
waiting=$(grep -c ' node1$' <<<"$logged" || true)
[ "$waiting" -gt 0 ] || fail "node 1 logged no connection while its follower was away"
# Nobody has assigned those yet: the restart below is what binds them.
n=$(unbound "$(grep ' node1$' <<<"$logged")" | grep -c '^logged' || true)
[ "$n" = "$waiting" ] || fail "of node 1's $waiting new connections $n are unbound while its follower is away"
echo "ok: node 1's follower away: node 2's flows stayed bound (6 samples), its $(grep -c ' node2$' <<<"$logged") new connections bound; $waiting new connections through node 1 wait, unbound"
follower_start 1
wait_for 10 "node1 connected again" node_connected 1
sleep 1
bad=$(unbound "$logged")
[ -z "$bad" ] || fail "after node 1's follower came back: $bad"
echo "ok: node 1's follower back: every connection logged meanwhile is bound to its user and node"
flows_wait keep2 new1 new2
g=$(goodput keep2)
r=$(ratio "$g" "$LIMIT")
w=$(( $(worker_wait) - w0 ))
between "$r" 0.85 1.02 || fail "alice's download through node 2 across node 1's follower restart: $(mbit "$g") mbit, $r x her limit (worker waited $w ms for its CPU)"
echo "ok: alice through node 2 across node 1's follower restart: $(mbit "$g") mbit, $r x her limit (0.85..1.02; worker waited $w ms for its CPU)"
echo "follower restart: $((SECONDS - T1)) s"

# --- a restart of linecapd --------------------------------------------------------
T2=$SECONDS
pflows long1 "$BOB" 1 14 -R -b 2M
pflows long2 "$ALICE" 2 14 -R -b 2M
sleep 2
bound_check "before linecapd's restart"
lc_stop
t=$SECONDS
lc_start "$WORK/lc.conf"
echo "ok: linecapd restarted ($((SECONDS - t)) s to answer again)"
wait_for 15 "both followers reconnected" eval 'node_connected 1 && node_connected 2'
echo "ok: both followers reconnected over TLS $((SECONDS - t)) s after the restart"
sleep 1.5
# The flows of the connections that ran across the restart: in the new
# table again (as mid-stream flows), bound from the followers' replay.
n=$(lc_ctl flows 50000 | jq '[.flows[] | select(.server | endswith(":443"))] | length')
[ "$n" -ge 4 ] || fail "after linecapd's restart only $n flows to :443 (the 4 data connections ran across it)"
logged_since all
bad=$(unbound "$LOGGED" live)
[ -z "$bad" ] || fail "after linecapd's restart: $bad"
echo "ok: after linecapd's restart the $n flows to :443 are bound to their users and nodes again (replayed)"
replayed=$(for n in 1 2; do grep -o 'replayed=[0-9]*' "$WORK/xray-node$n.log" | tail -n 1; done |
    awk -F= '{ s += $2 } END { print s + 0 }')
pflows after1 "$CAROL" 1 2 -R -b 1M
pflows after2 "$BOB" 2 2 -R -b 1M
sleep 1.5
bound_check "new connections after linecapd's restart"
flows_wait after1 after2 long1 long2
echo "ok: the downloads across linecapd's restart ended without an error (followers replayed $replayed assignments)"
echo "linecapd restart: $((SECONDS - T2)) s"
echo "nodes: ok ($((SECONDS - T0)) s)"
