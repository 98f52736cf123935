# shellcheck shell=bash
# SPDX-License-Identifier: MIT
# What the end-to-end tests of the real proxy share (test_proxy.sh,
# test_nodes.sh): the lab with two VPN nodes (scripts/lab.sh proxy up 2,
# which brings up the management link too), linecapd listening on the
# management link over TLS, each node's linecap-xray inside the server
# namespace, iperf3 through a user's proxy port, and the check that every
# connection a node logged is bound to its user and node. Source it after
# lib.sh; it skips (77) without v2ray or openssl.

command -v v2ray > /dev/null ||
    skip "v2ray is missing (Debian's v2ray package; scripts/install-deps.sh installs it)"
command -v openssl > /dev/null || skip "openssl is missing"

# The test's own commands (linecapctl and jq in the checks, the nodes'
# followers) on the CPU of iperf3 and v2ray, away from linecapd's worker;
# linecapd places its lcores itself (EAL -l).
taskset -cp "$APP_CPU" $$ > /dev/null

ALICE=alice@lab.example
BOB=bob@lab.example
CAROL=carol@lab.example

# proxy_lab_up: the lab, two nodes, alice, bob and carol (carol over IPv6),
# and the management link. Sets lab env's variables.
proxy_lab_up() {
    local ns
    lab_up
    # Every v2ray on the CPU of iperf3, away from linecapd's worker.
    LAB_PROXY_CPU=$APP_CPU LAB_PROXY_USERS="$ALICE $BOB $CAROL" LAB_PROXY_V6=$CAROL \
        lab proxy up 2 > /dev/null
    eval "$(lab env)"
    # The TCP windows of v2ray's connections across the wire kept as small
    # as iperf3's -w 64K keeps them in the other tests (a receive buffer of
    # at most 128 KB, in both namespaces; IPv6 too): otherwise, with the
    # lab's ~0.1 ms round trip, they grow until the user's 256-frame queue
    # overflows, and the stalls behind the retransmissions skew a 5 s
    # goodput (at 2mbit the queue is 1.5 s long). See docs/OPERATIONS.md,
    # "Why goodput is below the limit".
    for ns in "$LAB_NS_CLI" "$LAB_NS_SRV"; do
        ip netns exec "$ns" sysctl -qw net.ipv4.tcp_rmem="4096 65536 131072"
    done
    [ ${#LAB_PROXY_LOGS[@]} -eq 2 ] ||
        fail "expected 2 proxy nodes, lab env says ${#LAB_PROXY_LOGS[@]}"
    [ -n "${LAB_MGMT_ADDR:-}" ] || fail "lab env has no management link"
}

# proxy_lc_start: linecapd on the lab, listening on the management link
# over TLS (followers node1 and node2, operator lab-operator).
proxy_lc_start() {
    lc_conf "$WORK/lc.conf" "$LAB_VDEVS" "${LAB_MGMT_CONF[@]}"
    lc_start "$WORK/lc.conf"
}

# follower_start N [OPTION...]: node N's linecap-xray inside the server
# namespace, over TLS on the management link (lab.sh follower), keeping its
# position in the log in $WORK/xray-nodeN.position, its output appended to
# $WORK/xray-nodeN.log, its PID in FOLLOWER[N].
follower_start() {
    local n=$1
    shift
    echo "--- start $(date +%T.%N)" >> "$WORK/xray-node$n.log"
    "$LAB_SH" -i "$E2E_ID" follower "$n" "$LINECAP_XRAY" --stats 1 \
        --position "$WORK/xray-node$n.position" "$@" >> "$WORK/xray-node$n.log" 2>&1 &
    FOLLOWER[$n]=$!
}

# follower_kill N: node N's linecap-xray killed (SIGKILL: no goodbye).
follower_kill() {
    kill -KILL "${FOLLOWER[$1]}" 2>/dev/null || true
    wait "${FOLLOWER[$1]}" 2>/dev/null || true
    unset "FOLLOWER[$1]"
}

# node_connected N: linecapd's stats say node N's follower is connected.
node_connected() {
    [ "$(lc_stat ".nodes.node$1.connected")" = true ]
}

# route EMAIL NODE: "LOCAL_PORT TARGET_PORT CLIENT_IP" of the user's route
# through the node.
route() {
    local r email node cli port target
    for r in "${LAB_PROXY_ROUTES[@]}"; do
        read -r email node _ cli port target <<<"$r"
        if [ "$email" = "$1" ] && [ "$node" = "$2" ]; then
            echo "$port $target $cli"
            return 0
        fi
    done
    fail "no proxy route for $1 through node $2"
}

# proxy_servers: an iperf3 server on every route's target port.
proxy_servers() {
    local r target targets=()
    for r in "${LAB_PROXY_ROUTES[@]}"; do
        read -r _ _ _ _ _ target <<<"$r"
        targets+=("$target")
    done
    servers "${targets[@]}"
}

# pflows NAME EMAIL NODE SECONDS [iperf3 options]: iperf3 through the user's
# dokodemo-door port of NODE, 2 parallel TCP flows, the first second
# omitted. On the loopback of the client namespace the window does not
# matter; on the wire the flows are v2ray's connections to port 443.
pflows() {
    local name=$1 email=$2 node=$3 secs=$4 port
    shift 4
    read -r port _ <<<"$(route "$email" "$node")"
    ip netns exec "$LAB_NS_CLI" taskset -c "$APP_CPU" timeout -k 5 $((secs + 30)) \
        iperf3 -c 127.0.0.1 -p "$port" -P 2 -t "$secs" -O 1 --json "$@" \
        > "$WORK/$name.json" 2> "$WORK/$name.err" &
    FLOW_PID[$name]=$!
    PIDS+=($!)
}

# logged_since [all]: sets LOGGED to "CLIENT EMAIL NODE" of each accepted
# line the nodes' access logs got since the last call (the first call:
# since they began); with "all", of every line since they began, the last
# call left as it was. (Not for $(...): its subshell would forget where the
# last call stopped.)
declare -A CHECKED
LOGGED=
logged_since() {
    local log n i=0 from
    LOGGED=
    for log in "${LAB_PROXY_LOGS[@]}"; do
        i=$((i + 1))
        [ -e "$log" ] || continue     # v2ray makes it at its first line
        n=$(wc -l < "$log")
        from=${CHECKED[$log]:-0}
        [ "${1:-}" = all ] && from=0
        LOGGED+=$(tail -n +$((from + 1)) "$log" | head -n $((n - from)) |
            awk -v node="node$i" '$4 == "accepted" {
                for (i = 5; i < NF; i++) if ($i == "email:") { print $3, $(i + 1), node; break } }')
        LOGGED+=$'\n'
        [ "${1:-}" = all ] || CHECKED[$log]=$n
    done
}

# unbound LOGGED [live]: one line per connection of LOGGED (logged_since's
# lines) that the flow table does not hold bound to its user and node, and
# per flow to port 443 of no user. With "live", only the flows in the table
# are looked at (after a restart of linecapd, the connections that ended
# before it are in no table): each flow to port 443 must be bound to the
# user and node of its client's line in LOGGED.
unbound() {
    local flows
    flows=$(lc_ctl flows 50000) || fail "flows: $flows"
    jq -r --arg logged "$1" --arg live "${2:-}" '
        ($logged | split("\n") | map(select(length > 0) | split(" ")
            | {key: .[0], value: {user: .[1], node: .[2]}}) | from_entries) as $want
        | (.flows | map({key: .client, value: .}) | from_entries) as $have
        | if $live == "" then
            ($want | to_entries[]
            | select($have[.key].user != .value.user or $have[.key].node != .value.node)
            | "logged \(.key) for \(.value.user) through \(.value.node), flow table: \(
                if $have[.key] == null then "no such flow"
                else "\($have[.key].user // "no user") through \($have[.key].node // "no node")" end)")
          else
            (.flows[] | select(.server | endswith(":443")) | select(.user != null)
            | select($want[.client] == null or $want[.client].user != .user
                     or $want[.client].node != .node)
            | "flow \(.client) -> \(.server) bound to \(.user) through \(.node // "no node"), logged: \(
                $want[.client] // {} | "\(.user // "nothing") through \(.node // "no node")")")
          end,
          (.flows[] | select(.server | endswith(":443")) | select(.user == null)
            | "unassigned flow \(.client) -> \(.server)")' <<<"$flows"
}

# node_unbound N: one line per flow to node N's addresses that is not bound
# to a user through node N.
node_unbound() {
    lc_ctl flows 50000 | jq -r --arg a "${LAB_PROXY_NODES[$1 - 1]}:443" \
        --arg a6 "[${LAB_PROXY_NODES6[$1 - 1]}]:443" --arg node "node$1" '
        .flows[] | select(.server == $a or .server == $a6)
        | select(.user == null or .node != $node)
        | "\(.client) -> \(.server): \(.user // "no user") through \(.node // "no node")"'
}

# bound_check WHAT: a second after the access-log lines written since the
# last check, every connection they name is in the flow table, bound to the
# line's user and node, and no flow to port 443 is unassigned.
bound_check() {
    local logged bad n
    logged_since
    logged=$LOGGED
    sleep 1
    bad=$(unbound "$logged")
    n=$(grep -c . <<<"$logged" || true)
    [ "$n" -gt 0 ] || fail "$1: the nodes logged no connection"
    [ -z "$bad" ] || fail "$1: connections not bound to their user: $bad"
    echo "ok: $1: the $n connections the nodes logged are bound to their users and nodes; no unassigned flow to :443"
}
