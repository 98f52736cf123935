#!/usr/bin/env bash
# The lab: linecap on a machine with no NIC, between two network namespaces.
#
#   client namespace                    root namespace                     server namespace
#   lc-ID-cli: eth0 ==veth== lcIDc  [linecapd: af_packet]  lcIDs ==veth== eth0 :lc-ID-srv
#   10.99.0.11..16                  (no IP, IPv6 off)                       10.99.0.1
#   fd00:99::11..16                                                         fd00:99::1
#                                       [linecapd: mgmt over TLS]
#                                   (mgmt up)  lcIDm ==veth====================== mgmt0
#                                       10.98.X.Y+1/30                         10.98.X.Y+2/30
#
# Both namespaces are on one L2 segment (10.99.0.0/24, fd00:99::/64): ARP and
# ND cross linecapd like everything else. The root-namespace ends are the
# wire: linecapd takes them with --vdev=net_af_packetN,iface=lcIDc|lcIDs.
#
#   scripts/lab.sh [-i ID] up          make the namespaces and veths
#   scripts/lab.sh [-i ID] down        remove everything up, bridge and tap made
#   scripts/lab.sh [-i ID] status      what exists, with addresses and counters
#   scripts/lab.sh [-i ID] env         shell variables for scripts (eval them)
#   scripts/lab.sh [-i ID] bridge on|off
#       a plain Linux bridge across the wire ends, instead of linecapd
#   scripts/lab.sh [-i ID] tap on|off
#       mirror both wire ends (tc mirred) to a second veth pair per side,
#       lcIDtc1 (client side) and lcIDts1 (server side), for linecapd in
#       [wire] mode = tap
#   scripts/lab.sh [-i ID] proxy up [NODES] | down | status
#       a real proxy across the wire (v2ray, VMess over TCP): NODES (1 or 2,
#       default 1) VPN nodes in the server namespace, node N listening on
#       10.99.0.N:443 and [fd00:99::N]:443, each a v2ray with a VMess
#       inbound for every user (email and id), an access log of its own and
#       a freedom outbound; in the client namespace a v2ray client with, per
#       user and node, a dokodemo-door inbound on 127.0.0.1 that goes
#       through that node as that user, from the user's own client address.
#       'env' lists the routes:
#         LAB_PROXY_ROUTES=("EMAIL NODE NODE_IP CLIENT_IP LOCAL_PORT TARGET_PORT" ...)
#       (and the nodes' addresses, LAB_PROXY_NODES and LAB_PROXY_NODES6)
#       so that 'ip netns exec $LAB_NS_CLI iperf3 -c 127.0.0.1 -p LOCAL_PORT'
#       reaches an iperf3 server on 127.0.0.1:TARGET_PORT of the server
#       namespace through the node, as the user. Local port 10000+100*NODE+U,
#       target port 5000+100*NODE+U, for the U-th user (from 1).
#       Users: $LAB_PROXY_USERS (emails, blank-separated, at most 6; default
#       alice@lab.example bob@lab.example carol@lab.example); those also in
#       $LAB_PROXY_V6 go over IPv6 (from fd00:99::1U to fd00:99::N). Every
#       v2ray is pinned to CPU $LAB_PROXY_CPU when it is set. Configs, logs
#       and PIDs are in /run/linecap-lab-ID/proxy; the lab's 'down' takes
#       the proxy down too. 'proxy up' brings up the management link (below)
#       as well.
#   scripts/lab.sh [-i ID] mgmt up | down | status
#       the management link: a veth pair of its own, never the wire, between
#       the root namespace (lcIDm, 10.98.X.Y+1/30) and the server namespace,
#       the nodes' (mgmt0, 10.98.X.Y+2/30), the /30 derived from ID; and in
#       /run/linecap-lab-ID/mgmt the certificates of management over TLS
#       (scripts/lib/certs.sh): a CA (ca.pem), linecapd's (linecapd.pem,
#       SAN the root-side address), a follower's per node (node1.pem,
#       node2.pem: CN node1, node2) and an operator's (operator.pem, CN
#       lab-operator). 'env' gives linecapd's [mgmt] lines for it,
#       LAB_MGMT_CONF=("[mgmt]" "listen = ADDR:9470" ...), and
#       LAB_MGMT_ADDR, LAB_MGMT_PORT, LAB_MGMT_DIR.
#   scripts/lab.sh [-i ID] follower NODE LINECAP_XRAY [OPTION...]
#       runs (execs) LINECAP_XRAY as node NODE's follower inside the server
#       namespace: --connect over the management link with node NODE's
#       certificate, --node nodeNODE, --node-addr for both of the node's
#       addresses, the OPTIONs, and the node's access log
#
# ID (default 0, or $LC_LAB) is 1-8 characters [a-z0-9]; every name the lab
# makes carries it, so several labs can run at once and 'down' removes only
# what this lab's 'up' made. Everything stays inside the lab: the namespaces
# have no route out, the wire's root-namespace ends have no address, and the
# management link's root end only an address of its /30.
set -euo pipefail

LAB_DIR=$(cd "$(dirname "$0")" && pwd)
ID=${LC_LAB:-0}
if [ "${1:-}" = "-i" ]; then
    ID=$2
    shift 2
fi
[[ $ID =~ ^[a-z0-9]{1,8}$ ]] || { echo "lab: ID '$ID' must be 1-8 of [a-z0-9]" >&2; exit 2; }

# Namespace and wire MTU: $LAB_MTU, default 9000 (jumbo frames).
MTU=${LAB_MTU:-9000}
[[ $MTU =~ ^[0-9]+$ ]] && [ "$MTU" -ge 1280 ] && [ "$MTU" -le 9000 ] ||
    { echo "lab: LAB_MTU=$MTU: expected 1280..9000" >&2; exit 2; }
NS_CLI=lc-$ID-cli
NS_SRV=lc-$ID-srv
IF_CLI=lc${ID}c          # wire end, client side (root namespace)
IF_SRV=lc${ID}s          # wire end, server side
BR=lc${ID}br
TAP_CLI=lc${ID}tc        # mirror pair, client side: lc${ID}tc0 -> lc${ID}tc1
TAP_SRV=lc${ID}ts
SRV4=10.99.0.1
SRV6=fd00:99::1
CLI4=(10.99.0.11 10.99.0.12 10.99.0.13 10.99.0.14 10.99.0.15 10.99.0.16)
CLI6=(fd00:99::11 fd00:99::12 fd00:99::13 fd00:99::14 fd00:99::15 fd00:99::16)
# af_packet rings (DPDK 22.11 net_af_packet devargs). A slot of framesz
# bytes holds one frame: the PMD reserves 32 bytes of it on TX, and the
# kernel puts an RX frame 66 bytes in, so frames up to framesz - 66 arrive
# whole (a longer one is cut, silently). Each slot is copied into one mbuf,
# so linecapd's mbufs must hold framesz - 32 bytes: [wire] mtu = WIRE_MTU
# below does that. blocksz is a multiple of the page size holding a whole
# number of slots; framecnt slots per ring, one RX and one TX ring per port.
rings_for() {  # MTU: sets WIRE_MTU and AFP
    if [ "$1" -gt 1500 ]; then
        WIRE_MTU=9216
        AFP="framesz=9216,blocksz=36864,framecnt=1024,qdisc_bypass=1"
    else
        WIRE_MTU=1514
        AFP="framesz=2048,blocksz=4096,framecnt=1024,qdisc_bypass=1"
    fi
}
rings_for "$MTU"

# The proxy (v2ray): its folder, its nodes' addresses.
PROXY_DIR=/run/linecap-lab-$ID/proxy
NODE4=(10.99.0.1 10.99.0.2)
NODE6=(fd00:99::1 fd00:99::2)

# The management link: a /30 of 10.98.0.0/16 picked by ID, so that labs
# side by side get different ones in the root namespace.
IF_MGMT=lc${ID}m
MGMT_DIR=/run/linecap-lab-$ID/mgmt
MGMT_PORT=9470
mgmt_slot=$(( $(printf %s "$ID" | cksum | cut -d' ' -f1) % 16384 ))
MGMT_ROOT=10.98.$((mgmt_slot / 64)).$((mgmt_slot % 64 * 4 + 1))
MGMT_NODE=10.98.$((mgmt_slot / 64)).$((mgmt_slot % 64 * 4 + 2))
MGMT_NODES=2   # follower certificates made: node1 .. node$MGMT_NODES

die() { echo "lab: $*" >&2; exit 1; }
need_root() { [ "$(id -u)" -eq 0 ] || die "must run as root"; }
exists_ns() { ip netns list 2>/dev/null | awk '{print $1}' | grep -qxF -- "$1"; }
exists_if() { ip link show dev "$1" > /dev/null 2>&1; }

# Offloads off, so that every frame on a veth is a real, checksummed,
# MTU-sized Ethernet frame: af_packet hands linecapd exactly what a NIC would.
no_offloads() {  # [NS] IF
    local ns=() ; [ $# -eq 2 ] && { ns=(ip netns exec "$1"); shift; }
    "${ns[@]}" ethtool -K "$1" rx off tx off tso off gso off gro off \
        rxvlan off txvlan off > /dev/null 2>&1 ||
    "${ns[@]}" ethtool -K "$1" rx off tx off tso off gso off gro off > /dev/null
}

wire_end() {  # IF: up, no address, no IPv6, no offloads, jumbo MTU
    sysctl -qw "net.ipv6.conf.$1.disable_ipv6=1"
    no_offloads "$1"
    ip link set dev "$1" mtu $MTU up
}

up() {
    need_root
    exists_ns "$NS_CLI" || exists_ns "$NS_SRV" || exists_if "$IF_CLI" ||
        exists_if "$IF_SRV" && die "lab $ID is already up (scripts/lab.sh -i $ID down first)"
    trap 'down > /dev/null 2>&1' ERR
    ip netns add "$NS_CLI"
    ip netns add "$NS_SRV"
    local ns ifc
    for ns in "$NS_CLI" "$NS_SRV"; do
        [ "$ns" = "$NS_CLI" ] && ifc=$IF_CLI || ifc=$IF_SRV
        ip link add "$ifc" mtu $MTU type veth peer name eth0 mtu $MTU netns "$ns"
        wire_end "$ifc"
        ip -n "$ns" link set lo up
        ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_ra=0 \
            net.ipv6.conf.default.accept_ra=0 net.ipv6.conf.eth0.accept_ra=0 \
            net.ipv6.conf.eth0.accept_dad=0
        no_offloads "$ns" eth0
        ip -n "$ns" link set eth0 up
    done
    ip -n "$NS_SRV" addr add "$SRV4/24" dev eth0
    ip -n "$NS_SRV" addr add "$SRV6/64" dev eth0 nodad
    local a
    for a in "${CLI4[@]}"; do ip -n "$NS_CLI" addr add "$a/24" dev eth0; done
    for a in "${CLI6[@]}"; do ip -n "$NS_CLI" addr add "$a/64" dev eth0 nodad; done
    trap - ERR
    echo "lab $ID up: $NS_CLI ($IF_CLI) <-> $NS_SRV ($IF_SRV), MTU $MTU"
    echo "linecapd: --vdev=net_af_packet0,iface=$IF_CLI,$AFP --vdev=net_af_packet1,iface=$IF_SRV,$AFP"
}

bridge() {
    need_root
    case "${1:-}" in
    on)
        exists_if "$BR" && return 0
        ip link add "$BR" mtu $MTU type bridge forward_delay 0 stp_state 0
        sysctl -qw "net.ipv6.conf.$BR.disable_ipv6=1"
        ip link set "$IF_CLI" master "$BR"
        ip link set "$IF_SRV" master "$BR"
        ip link set "$BR" up
        ;;
    off)
        if exists_if "$BR"; then ip link del "$BR"; fi
        ;;
    *) die "bridge on|off" ;;
    esac
}

tap() {
    need_root
    case "${1:-}" in
    on)
        exists_if "${TAP_CLI}0" && return 0
        local side wire
        for side in "$TAP_CLI" "$TAP_SRV"; do
            [ "$side" = "$TAP_CLI" ] && wire=$IF_CLI || wire=$IF_SRV
            ip link add "${side}0" mtu $MTU type veth peer name "${side}1" mtu $MTU
            wire_end "${side}0"
            wire_end "${side}1"
            # What enters the wire end from its namespace is copied to the
            # mirror pair: upload on the client side, download on the server.
            tc qdisc add dev "$wire" handle ffff: ingress
            # (u32 matching everything: matchall is not built in every kernel.)
            tc filter add dev "$wire" parent ffff: protocol all prio 1 u32 \
                match u32 0 0 action mirred egress mirror dev "${side}0"
        done
        ;;
    off)
        local w
        for w in "$IF_CLI" "$IF_SRV"; do
            tc qdisc del dev "$w" handle ffff: ingress 2>/dev/null || true
        done
        if exists_if "${TAP_CLI}0"; then ip link del "${TAP_CLI}0"; fi
        if exists_if "${TAP_SRV}0"; then ip link del "${TAP_SRV}0"; fi
        ;;
    *) die "tap on|off" ;;
    esac
    return 0
}

down() {
    need_root
    proxy_down > /dev/null 2>&1 || true
    mgmt_down > /dev/null 2>&1 || true
    tap off 2>/dev/null || true
    if exists_if "$BR"; then ip link del "$BR"; fi
    # Processes left inside the lab's namespaces (iperf3, ping) go with them.
    local ns pids
    for ns in "$NS_CLI" "$NS_SRV"; do
        exists_ns "$ns" || continue
        pids=$(ip netns pids "$ns" 2>/dev/null || true)
        if [ -n "$pids" ]; then
            # shellcheck disable=SC2086  # one PID per word
            kill $pids 2>/dev/null || true
            sleep 0.2
            pids=$(ip netns pids "$ns" 2>/dev/null || true)
            # shellcheck disable=SC2086
            [ -z "$pids" ] || kill -KILL $pids 2>/dev/null || true
        fi
        ip netns del "$ns"
    done
    # Deleting a namespace deletes its veth and with it the peer, but the
    # kernel does that asynchronously: wait, and remove a straggler.
    for _ in $(seq 50); do
        exists_if "$IF_CLI" || exists_if "$IF_SRV" || break
        sleep 0.1
    done
    if exists_if "$IF_CLI"; then ip link del "$IF_CLI"; fi
    if exists_if "$IF_SRV"; then ip link del "$IF_SRV"; fi
    echo "lab $ID down"
}

status() {
    local any=0
    for ns in "$NS_CLI" "$NS_SRV"; do
        exists_ns "$ns" || continue
        any=1
        echo "== namespace $ns"
        ip -n "$ns" -br addr show dev eth0
        ip -n "$ns" -s link show dev eth0 | sed -n '3,6p'
    done
    for ifc in "$IF_CLI" "$IF_SRV" "$IF_MGMT" "$BR" "${TAP_CLI}0" "${TAP_CLI}1" "${TAP_SRV}0" "${TAP_SRV}1"; do
        exists_if "$ifc" || continue
        any=1
        ip -br link show dev "$ifc"
    done
    [ $any -eq 1 ] || echo "lab $ID is down"
}

# --- the management link -------------------------------------------------------

mgmt_up() {
    need_root
    exists_ns "$NS_SRV" || die "lab $ID is not up (scripts/lab.sh -i $ID up first)"
    exists_if "$IF_MGMT" && return 0
    command -v openssl > /dev/null || die "openssl is missing: run scripts/install-deps.sh"
    ip -br addr show | grep -qw "$MGMT_ROOT/30" &&
        die "$MGMT_ROOT/30 is taken in the root namespace (another lab?)"
    trap 'mgmt_down > /dev/null 2>&1' EXIT
    ip link add "$IF_MGMT" type veth peer name mgmt0 netns "$NS_SRV"
    sysctl -qw "net.ipv6.conf.$IF_MGMT.disable_ipv6=1"
    ip addr add "$MGMT_ROOT/30" dev "$IF_MGMT"
    ip link set dev "$IF_MGMT" up
    ip netns exec "$NS_SRV" sysctl -qw net.ipv6.conf.mgmt0.disable_ipv6=1
    ip -n "$NS_SRV" addr add "$MGMT_NODE/30" dev mgmt0
    ip -n "$NS_SRV" link set dev mgmt0 up
    mkdir -p "$MGMT_DIR"
    # shellcheck source=SCRIPTDIR/lib/certs.sh
    (cd "$MGMT_DIR" && . "$LAB_DIR/lib/certs.sh" &&
        lc_cert_ca ca "linecap lab $ID CA" &&
        lc_cert_leaf linecapd linecapd ca serverAuth "IP:$MGMT_ROOT" &&
        lc_cert_leaf operator lab-operator ca clientAuth &&
        for n in $(seq 1 $MGMT_NODES); do
            lc_cert_leaf "node$n" "node$n" ca clientAuth || exit 1
        done) || die "cannot make the certificates in $MGMT_DIR"
    trap - EXIT
    echo "management link of lab $ID up: $IF_MGMT $MGMT_ROOT <-> mgmt0 $MGMT_NODE ($NS_SRV), certificates in $MGMT_DIR"
}

mgmt_down() {
    need_root
    if exists_if "$IF_MGMT"; then ip link del "$IF_MGMT"; fi
    rm -rf "$MGMT_DIR"
    rmdir "${MGMT_DIR%/mgmt}" 2>/dev/null || true
    echo "management link of lab $ID down"
}

mgmt_status() {
    if ! exists_if "$IF_MGMT"; then
        echo "the management link of lab $ID is down"
        return 0
    fi
    ip -br addr show dev "$IF_MGMT"
    exists_ns "$NS_SRV" && ip -n "$NS_SRV" -br addr show dev mgmt0
    echo "linecapd: [mgmt] listen = $MGMT_ROOT:$MGMT_PORT; certificates in $MGMT_DIR"
}

mgmt() {
    case "${1:-}" in
    up) mgmt_up ;;
    down) mgmt_down ;;
    status) mgmt_status ;;
    *) die "mgmt up | down | status" ;;
    esac
}

# follower NODE LINECAP_XRAY [OPTION...]: node NODE's linecap-xray, in the
# server namespace, over TLS on the management link.
follower() {
    need_root
    local n=${1:-} xray=${2:-}
    [[ $n =~ ^[12]$ ]] || die "follower NODE LINECAP_XRAY [OPTION...]: NODE is 1 or 2"
    [ -n "$xray" ] || die "follower NODE LINECAP_XRAY [OPTION...]"
    shift 2
    [ -e "$MGMT_DIR/node$n.pem" ] || die "the management link of lab $ID is not up (mgmt up first)"
    exec ip netns exec "$NS_SRV" "$xray" --connect "$MGMT_ROOT:$MGMT_PORT" \
        --cert "$MGMT_DIR/node$n.pem" --key "$MGMT_DIR/node$n.key" --ca "$MGMT_DIR/ca.pem" \
        --node "node$n" --node-addr "${NODE4[n - 1]}:443" --node-addr "[${NODE6[n - 1]}]:443" \
        "$@" "$PROXY_DIR/node$n-access.log"
}

# --- the proxy ----------------------------------------------------------------

# proxy_start NAME NS CONFIG: a v2ray in namespace NS, in the background, its
# PID in $PROXY_DIR/NAME.pid and its output in $PROXY_DIR/NAME.out.
proxy_start() {
    local cpu=()
    [ -n "${LAB_PROXY_CPU:-}" ] && cpu=(taskset -c "$LAB_PROXY_CPU")
    ip netns exec "$2" "${cpu[@]}" v2ray -config "$3" > "$PROXY_DIR/$1.out" 2>&1 &
    echo $! > "$PROXY_DIR/$1.pid"
}

# proxy_listens NS ADDR PORT: something listens on ADDR:PORT (TCP) in NS.
proxy_listens() {
    local a=$2
    [[ $a == *:* ]] && a="[$a]"
    ip netns exec "$1" ss -Hltn "src $a and sport = :$3" | grep -q .
}

proxy_up() {
    need_root
    local nodes=${1:-1}
    [[ $nodes =~ ^[12]$ ]] || die "proxy up [NODES]: NODES is 1 or 2"
    if ! exists_ns "$NS_CLI" || ! exists_ns "$NS_SRV"; then
        die "lab $ID is not up (scripts/lab.sh -i $ID up first)"
    fi
    [ -e "$PROXY_DIR/routes" ] && die "the proxy of lab $ID is already up (proxy down first)"
    command -v v2ray > /dev/null || die "v2ray is missing: run scripts/install-deps.sh"
    local -a users
    read -r -a users <<<"${LAB_PROXY_USERS:-alice@lab.example bob@lab.example carol@lab.example}"
    if [ ${#users[@]} -lt 1 ] || [ ${#users[@]} -gt ${#CLI4[@]} ]; then
        die "LAB_PROXY_USERS: 1 to ${#CLI4[@]} emails"
    fi
    # From here on, a failure (die, or an error under set -e) takes down
    # whatever was started.
    trap 'proxy_down > /dev/null 2>&1' EXIT
    mkdir -p "$PROXY_DIR"
    local n u id
    for n in $(seq 2 "$nodes"); do
        ip -n "$NS_SRV" addr add "${NODE4[n - 1]}/24" dev eth0
        ip -n "$NS_SRV" addr add "${NODE6[n - 1]}/64" dev eth0 nodad
    done
    local -A v6=()
    for id in ${LAB_PROXY_V6:-}; do v6[$id]=1; done
    # One id per user, the same on every node, as a VPN service hands out.
    local -a ids=()
    for u in "${!users[@]}"; do
        id=$(python3 -c 'import uuid; print(uuid.uuid4())')
        ids+=("$id")
        for n in $(seq 1 "$nodes"); do
            if [ -n "${v6[${users[u]}]:-}" ]; then
                printf '%s %s %s %s' "${users[u]}" "$n" "${NODE6[n - 1]}" "${CLI6[u]}"
            else
                printf '%s %s %s %s' "${users[u]}" "$n" "${NODE4[n - 1]}" "${CLI4[u]}"
            fi
            printf ' %s %s %s\n' $((10000 + 100 * n + u + 1)) $((5000 + 100 * n + u + 1)) "$id"
        done
    done > "$PROXY_DIR/routes"
    # The nodes: VMess (AEAD, alterId 0) on NODE:443, one client per user
    # with its email, an access log each, everything out through freedom.
    local clients
    clients=$(for u in "${!users[@]}"; do
        jq -nc --arg id "${ids[u]}" --arg e "${users[u]}" '{id: $id, email: $e, alterId: 0, level: 0}'
    done | jq -sc .)
    for n in $(seq 1 "$nodes"); do
        jq -n --arg dir "$PROXY_DIR" --arg n "$n" --arg ip "${NODE4[n - 1]}" \
            --arg ip6 "${NODE6[n - 1]}" --argjson clients "$clients" '{
            log: {access: "\($dir)/node\($n)-access.log",
                  error: "\($dir)/node\($n)-error.log", loglevel: "warning"},
            inbounds: [{tag: "vmess-in", listen: $ip, port: 443, protocol: "vmess",
                        settings: {clients: $clients}},
                       {tag: "vmess-in6", listen: $ip6, port: 443, protocol: "vmess",
                        settings: {clients: $clients}}],
            outbounds: [{tag: "direct", protocol: "freedom", settings: {}}]
        }' > "$PROXY_DIR/node$n.json"
        proxy_start "node$n" "$NS_SRV" "$PROXY_DIR/node$n.json"
    done
    # The client: per route a dokodemo-door on 127.0.0.1:LOCAL_PORT to
    # 127.0.0.1:TARGET_PORT (seen from the node), sent by a VMess outbound
    # of the user's id, from the user's client address, to the node.
    jq -R -s --arg dir "$PROXY_DIR" '
        [split("\n")[] | select(length > 0) | split(" ")
         | {email: .[0], node: .[1], ip: .[2], cli: .[3],
            port: (.[4] | tonumber), target: (.[5] | tonumber), id: .[6],
            tag: "\(.[0] | split("@")[0])-node\(.[1])"}] as $r
        | {log: {error: "\($dir)/client-error.log", loglevel: "warning"},
           inbounds: [$r[] | {tag: "in-\(.tag)", listen: "127.0.0.1", port: .port,
               protocol: "dokodemo-door",
               settings: {address: "127.0.0.1", port: .target, network: "tcp"}}],
           outbounds: [$r[] | {tag: "out-\(.tag)", protocol: "vmess", sendThrough: .cli,
               settings: {vnext: [{address: .ip, port: 443,
                   users: [{id: .id, alterId: 0, security: "aes-128-gcm"}]}]}}],
           routing: {rules: [$r[] | {type: "field", inboundTag: ["in-\(.tag)"],
               outboundTag: "out-\(.tag)"}]}}' "$PROXY_DIR/routes" > "$PROXY_DIR/client.json"
    proxy_start client "$NS_CLI" "$PROXY_DIR/client.json"
    # Up when every node and every local port listens.
    local email node ip cli port target ok
    for _ in $(seq 100); do
        ok=1
        while read -r email node ip cli port target id; do
            proxy_listens "$NS_SRV" "$ip" 443 && proxy_listens "$NS_CLI" 127.0.0.1 "$port" || ok=0
        done < "$PROXY_DIR/routes"
        [ $ok = 1 ] && break
        for n in $(seq 1 "$nodes") client; do
            [ "$n" = client ] || n=node$n
            kill -0 "$(cat "$PROXY_DIR/$n.pid")" 2>/dev/null ||
                die "v2ray ($n) exited: $(tail -n 5 "$PROXY_DIR/$n.out")"
        done
        sleep 0.1
    done
    [ $ok = 1 ] || die "v2ray does not listen after 10 s: $(tail -n 3 "$PROXY_DIR"/*.out)"
    mgmt_up > /dev/null
    trap - EXIT
    echo "proxy of lab $ID up: $nodes node(s), ${#users[@]} user(s), logs in $PROXY_DIR"
    proxy_status
}

proxy_down() {
    need_root
    [ -d "$PROXY_DIR" ] || return 0
    local f pid
    for f in "$PROXY_DIR"/*.pid; do
        [ -e "$f" ] || continue
        pid=$(cat "$f")
        # Only a v2ray this lab started (a PID may have been reused).
        [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = v2ray ] || continue
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    done
    if exists_ns "$NS_SRV"; then
        ip -n "$NS_SRV" addr del "${NODE4[1]}/24" dev eth0 2>/dev/null || true
        ip -n "$NS_SRV" addr del "${NODE6[1]}/64" dev eth0 2>/dev/null || true
    fi
    rm -rf "$PROXY_DIR"
    rmdir "${PROXY_DIR%/proxy}" 2>/dev/null || true
    echo "proxy of lab $ID down"
}

proxy_status() {
    if [ ! -e "$PROXY_DIR/routes" ]; then
        echo "the proxy of lab $ID is down"
        return 0
    fi
    local f
    for f in "$PROXY_DIR"/*.pid; do
        printf '%-8s pid %s %s\n' "$(basename "$f" .pid)" "$(cat "$f")" \
            "$(kill -0 "$(cat "$f")" 2>/dev/null && echo running || echo GONE)"
    done
    printf '%-20s %-5s %-16s %-11s %-10s %s\n' user node node client_ip local_port target_port
    local email node ip cli port target id
    while read -r email node ip cli port target id; do
        [[ $ip == *:* ]] && ip="[$ip]"
        printf '%-20s %-5s %-16s %-11s %-10s %s\n' "$email" "$node" "$ip:443" "$cli" "$port" "$target"
    done < "$PROXY_DIR/routes"
}

proxy() {
    case "${1:-}" in
    up) proxy_up "${2:-1}" ;;
    down) proxy_down ;;
    status) proxy_status ;;
    *) die "proxy up [NODES] | down | status" ;;
    esac
}

env_vars() {
    # A lab that is up keeps the MTU it was made with.
    if [ -r "/sys/class/net/$IF_CLI/mtu" ]; then
        MTU=$(cat "/sys/class/net/$IF_CLI/mtu")
        rings_for "$MTU"
    fi
    cat <<ENV
LAB_ID=$ID
LAB_NS_CLI=$NS_CLI
LAB_NS_SRV=$NS_SRV
LAB_IF_CLI=$IF_CLI
LAB_IF_SRV=$IF_SRV
LAB_TAP_CLI=${TAP_CLI}1
LAB_TAP_SRV=${TAP_SRV}1
LAB_MTU=$MTU
LAB_WIRE_MTU=$WIRE_MTU
LAB_SRV4=$SRV4
LAB_SRV6=$SRV6
LAB_CLI4=(${CLI4[*]})
LAB_CLI6=(${CLI6[*]})
LAB_AFP=$AFP
LAB_VDEVS="--vdev=net_af_packet0,iface=$IF_CLI,$AFP --vdev=net_af_packet1,iface=$IF_SRV,$AFP"
LAB_TAP_VDEVS="--vdev=net_af_packet0,iface=${TAP_CLI}1,$AFP --vdev=net_af_packet1,iface=${TAP_SRV}1,$AFP"
LAB_PROXY_DIR=$PROXY_DIR
ENV
    # The management link, when up: linecapd's [mgmt] lines for it.
    if exists_if "$IF_MGMT"; then
        cat <<ENV
LAB_MGMT_ADDR=$MGMT_ROOT
LAB_MGMT_PORT=$MGMT_PORT
LAB_MGMT_DIR=$MGMT_DIR
LAB_MGMT_CONF=("[mgmt]" "listen = $MGMT_ROOT:$MGMT_PORT" "tls_cert = $MGMT_DIR/linecapd.pem" "tls_key = $MGMT_DIR/linecapd.key" "tls_ca = $MGMT_DIR/ca.pem" "operators = lab-operator" "followers = $(seq -f 'node%g' -s ' ' 1 $MGMT_NODES)")
ENV
    fi
    # The proxy, when up: its routes and each node's access log.
    if [ -e "$PROXY_DIR/routes" ]; then
        local email node ip cli port target id n=0
        printf 'LAB_PROXY_ROUTES=('
        while read -r email node ip cli port target id; do
            printf '"%s %s %s %s %s %s" ' "$email" "$node" "$ip" "$cli" "$port" "$target"
            [ "$node" -gt "$n" ] && n=$node
        done < "$PROXY_DIR/routes"
        printf ')\nLAB_PROXY_NODES=(%s)\n' "${NODE4[*]:0:n}"
        printf 'LAB_PROXY_NODES6=(%s)\n' "${NODE6[*]:0:n}"
        printf 'LAB_PROXY_LOGS=('
        for node in $(seq 1 "$n"); do printf '%s ' "$PROXY_DIR/node$node-access.log"; done
        printf ')\n'
    fi
}

case "${1:-}" in
up) up ;;
down) down ;;
status) status ;;
env) env_vars ;;
bridge) bridge "${2:-}" ;;
tap) tap "${2:-}" ;;
proxy) proxy "${2:-}" "${3:-}" ;;
mgmt) mgmt "${2:-}" ;;
follower) shift; follower "$@" ;;
*) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 2 ;;
esac
