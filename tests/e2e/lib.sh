# shellcheck shell=bash
# SPDX-License-Identifier: MIT
# Shared helpers of the end-to-end tests: the namespace lab of
# scripts/lab.sh, linecapd on af_packet vdevs (scripts/lib/linecapd.sh),
# linecap-xray, iperf3 in the namespaces. Source this file; it sets a trap that stops every process the
# test started (by PID) and always takes the lab down, also on failure.
#
# Needs LINECAPD, LINECAPCTL, LINECAP_XRAY and LAB_SH in the environment.
# Exits 77 (a skip for meson) only when not root or when network namespaces
# cannot be made; a missing tool is a failure.
set -euo pipefail

: "${LINECAPD:?}" "${LINECAPCTL:?}" "${LINECAP_XRAY:?}" "${LAB_SH:?}"

# shellcheck source=SCRIPTDIR/../../scripts/lib/linecapd.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/linecapd.sh"

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

skip() {
    echo "SKIP: $*"
    exit 77
}

[ "$(id -u)" -eq 0 ] || skip "the end-to-end tests need root (network namespaces, veths)"
for tool in ip tc ethtool iperf3 jq taskset ss timeout awk; do
    command -v "$tool" > /dev/null ||
        fail "$tool is missing: run scripts/install-deps.sh"
done

# One lab per test run: every name carries the ID.
E2E_ID=e$(printf %x $$)
PREFIX=lc$E2E_ID
if ! ip netns add "${PREFIX}probe" 2>/dev/null; then
    skip "network namespaces are not available here (ip netns add failed)"
fi
if ! ip -n "${PREFIX}probe" link add p0 type veth peer name p1 2>/dev/null; then
    ip netns del "${PREFIX}probe"
    skip "veth pairs cannot be made here (ip link add ... type veth failed)"
fi
ip netns del "${PREFIX}probe"

WORK=$(mktemp -d /tmp/lc-e2e.XXXXXX)
LC_SOCK=$WORK/lc.sock
LC_LOG=$WORK/linecapd.log
LC_LOG_APPEND=1    # a test that restarts linecapd keeps both logs
LC_FAIL=fail
LC_START_WAIT=30
LC_STOP_WAIT=10
LC_STOP_CHECK=1
XRAY_LOG=$WORK/xray.log
ACCESS=$WORK/access.log
LC_PID=
X_PID=
declare -A FOLLOWER=()  # the nodes' linecap-xray (follower_start), by node
PIDS=()            # every other process started (iperf3), killed at the end
LAB_UP=0

# linecapd's worker busy-polls one CPU (LC_E2E_WORKER_CPU, default 1; EAL
# -l 0,1 with the main lcore on the other); iperf3 runs on the other CPU so
# that it never takes the worker's core away: a worker descheduled for more
# than ~2^24 TSC cycles makes rte_sched lose time (docs/SHAPING.md), which
# shows as a rate below the limit. On a machine shared with other busy
# pollers, point LC_E2E_WORKER_CPU at the quieter CPU.
WORKER_CPU=${LC_E2E_WORKER_CPU:-1}
case $WORKER_CPU in
0) APP_CPU=1 ;;
1) APP_CPU=0 ;;
*) fail "LC_E2E_WORKER_CPU=$WORKER_CPU: expected 0 or 1" ;;
esac

# The namespaces run at MTU 1500 unless LC_E2E_MTU says otherwise (test_jumbo
# runs the lab at 9000).
export LAB_MTU=${LC_E2E_MTU:-1500}

e2e_cleanup() {
    local rc=$?
    set +e
    trap - EXIT INT TERM
    local p
    for p in "${PIDS[@]}" "${FOLLOWER[@]}" $X_PID $LC_PID; do
        kill -TERM "$p" 2>/dev/null
    done
    for p in "${PIDS[@]}" "${FOLLOWER[@]}" $X_PID $LC_PID; do
        for _ in $(seq 30); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    if [ "$rc" -ne 0 ]; then
        if [ -f "$LC_LOG" ]; then
            echo "--- linecapd log (last 30 lines) ---" >&2
            tail -n 30 "$LC_LOG" >&2
        fi
        for p in "$XRAY_LOG" "$WORK"/xray-node*.log; do
            [ -s "$p" ] || continue
            echo "--- $(basename "$p" .log) (last 15 lines) ---" >&2
            tail -n 15 "$p" >&2
        done
    fi
    # Kept: the proxy's configs and logs too, before the lab takes them.
    [ -n "${LC_E2E_KEEP:-}" ] && [ -d "${LAB_PROXY_DIR:-}" ] && cp -r "$LAB_PROXY_DIR" "$WORK/"
    [ "$LAB_UP" = 1 ] && "$LAB_SH" -i "$E2E_ID" down > /dev/null
    if [ -n "${LC_E2E_KEEP:-}" ]; then
        echo "kept $WORK" >&2
    else
        rm -rf "$WORK"
    fi
    rm -rf "/var/run/dpdk/$PREFIX"
    exit "$rc"
}
trap e2e_cleanup EXIT
trap 'exit 130' INT TERM

# --- the lab ---------------------------------------------------------------

lab_up() {
    LAB_UP=1
    "$LAB_SH" -i "$E2E_ID" up > /dev/null
    eval "$("$LAB_SH" -i "$E2E_ID" env)"
}

lab() { "$LAB_SH" -i "$E2E_ID" "$@"; }

in_cli() { ip netns exec "$LAB_NS_CLI" "$@"; }
in_srv() { ip netns exec "$LAB_NS_SRV" "$@"; }

# rx_bytes NS: bytes of the frames the namespace's eth0 received. These are
# Ethernet frames without FCS: what linecapd's limits count.
rx_bytes() {
    ip netns exec "$1" cat /sys/class/net/eth0/statistics/rx_bytes
}

# wire_rate NS SECONDS: bit/s of frames received by the namespace.
wire_rate() {
    local b0 b1 t0 t1
    b0=$(rx_bytes "$1"); t0=$(date +%s.%N)
    sleep "$2"
    b1=$(rx_bytes "$1"); t1=$(date +%s.%N)
    awk -v b="$((b1 - b0))" -v t0="$t0" -v t1="$t1" \
        'BEGIN { printf "%.0f\n", b * 8 / (t1 - t0) }'
}

# --- linecapd --------------------------------------------------------------

# lc_conf FILE VDEVS [section.key=value...] [INI LINE...]: a config for the
# lab; the pairs override or add keys, and from the first argument that
# starts with '[' (such as lab env's "${LAB_MGMT_CONF[@]}") on, the
# arguments are lines of the file.
#
# AQM: none (tail drop, which the 64 KB windows of flows() never reach). The
# lab's round trip is ~0.1 ms, so every byte in flight sits in the user's
# queue, and at 2..5 mbit PIE's 15 ms target is 2..6 frames: PIE drops all
# the time (300..600 retransmissions per user in 5 s, measured), and each
# loss holds data back at the receiver, which skews a 5 s goodput figure
# either way (0.91..0.96 of the limit over IPv4 with PIE, against a steady
# 0.945..0.949 without). With a real round trip PIE keeps the pipe full.
lc_conf() {
    local file=$1 vdevs=$2 p k
    shift 2
    local -a over=()
    while [ $# -gt 0 ] && [[ $1 != \[* ]]; do
        p=$1
        shift
        k=${p%%=*}
        over+=("[${k%%.*}]" "${k#*.} = ${p#*=}")
    done
    lc_write_conf "$file" \
        "[eal]" \
        "args = --no-huge -m 1024 --no-pci -l 0,1 --main-lcore $APP_CPU --file-prefix=$PREFIX --log-level=notice" \
        "args = $vdevs" \
        "[wire]" "mtu = $LAB_WIRE_MTU" "mbufs = 16384" \
        "[flows]" "capacity = 65536" \
        "[shaper]" "port_rate = 10gbit" "aqm = none" \
        "[users]" "capacity = 1024" "state_file = $WORK/users.conf" \
        "[mgmt]" "socket = $LC_SOCK" \
        "${over[@]}" "$@"
}

# worker_wait: milliseconds linecapd's worker thread has spent waiting for a
# CPU (runnable, not running) since it started, from schedstat. A busy-poll
# worker should wait ~0; a large figure means something else ran on its CPU.
worker_wait() {
    lc_worker_schedstat | awk '{ printf "%d\n", $2 / 1e6 }'
}

# user_field EMAIL JQ: one field of 'user get'.
user_field() { lc_ctl user get "$1" | jq -r ".user$2"; }

# --- linecap-xray and the access log ---------------------------------------

xray_start() {
    : > "$ACCESS"
    "$LINECAP_XRAY" -s "$LC_SOCK" --stats 1 "$ACCESS" >> "$XRAY_LOG" 2>&1 &
    X_PID=$!
}

# access_line EMAIL CLIENT_IP CLIENT_PORT SERVER_IP SERVER_PORT: the line
# Xray 24.x writes when it accepts a connection.
access_line() {
    local c=$2 s=$4
    [[ $c == *:* ]] && c="[$c]"
    [[ $s == *:* ]] && s="[$s]"
    printf '%s from %s:%s accepted tcp:%s:%s [vless-in >> direct] email: %s\n' \
        "$(date '+%Y/%m/%d %H:%M:%S')" "$c" "$3" "$s" "$5" "$1" >> "$ACCESS"
}

# --- iperf3 ------------------------------------------------------------------

# servers PORT...: iperf3 servers in the server namespace, on every address.
servers() {
    local p
    for p in "$@"; do
        # Not through in_srv: a function in the background would be a
        # subshell, and $! its PID, not iperf3's.
        ip netns exec "$LAB_NS_SRV" taskset -c $APP_CPU iperf3 -s -J -p "$p" \
            > "$WORK/server-$p.log" 2>&1 &
        PIDS+=($!)
    done
    for p in "$@"; do
        for _ in $(seq 50); do
            in_srv ss -Hltn "sport = :$p" | grep -q . && break
            sleep 0.1
        done
    done
}

# flows NAME CLIENT_IP SERVER_IP SERVER_PORT CPORT SECONDS [iperf3 options]:
# one iperf3 client in the background, 2 parallel TCP flows from CLIENT_IP
# ports CPORT and CPORT+1 (Debian's iperf3 3.12 numbers -P streams from
# --cport), the first second omitted from the figures. JSON in
# $WORK/NAME.json; its PID in FLOW_PID[NAME].
#   -M 1460: MSS 1460, 1448 bytes of payload with timestamps, whatever the
#       lab's MTU;
#   -w 64K: each flow's window stays under 64 KB, so a user's 2 flows never
#       hold more than ~90 frames in its 256-frame queue: the queue is never
#       full, TCP loses nothing, and the receiver's byte count is not thrown
#       off by data held back behind a retransmission at the edges of the
#       measured window (with windows left to grow, tail drops make that
#       error up to a window's time, 0.4 s at 2 mbit, 7 % of 5 s).
declare -A FLOW_PID
flows() {
    local name=$1 src=$2 dst=$3 port=$4 cport=$5 secs=$6
    shift 6
    ip netns exec "$LAB_NS_CLI" taskset -c $APP_CPU timeout -k 5 $((secs + 30)) \
        iperf3 -c "$dst" -p "$port" -B "$src" --cport "$cport" -P 2 \
        -M 1460 -w 64K -t "$secs" -O 1 --json "$@" > "$WORK/$name.json" 2> "$WORK/$name.err" &
    FLOW_PID[$name]=$!
    PIDS+=($!)
}

flows_wait() {
    local name
    for name in "$@"; do
        wait "${FLOW_PID[$name]}" ||
            fail "iperf3 $name failed: $(jq -r '.error // empty' "$WORK/$name.json" 2>/dev/null) $(cat "$WORK/$name.err")"
    done
}

# goodput NAME: the receiver's bit/s over the measured (not omitted) time.
goodput() {
    jq -r '.end.sum_received.bits_per_second | floor' "$WORK/$1.json"
}

# ctrl_port CLIENT_IP SERVER_PORT CPORT: the client port of iperf3's control
# connection, the TCP connection from CLIENT_IP to SERVER_PORT whose port is
# neither CPORT nor CPORT+1 (the data flows).
ctrl_port() {
    local src=$1 port=$2 cport=$3 p
    for _ in $(seq 50); do
        p=$(in_cli ss -Htn state established "( dport = :$port )" |
            awk -v s="$src" -v c="$cport" '{
                n = split($3, a, ":"); ip = substr($3, 1, length($3) - length(a[n]) - 1)
                gsub(/[][]/, "", ip)
                if (ip == s && a[n] != c && a[n] != c + 1) print a[n] }' | head -n 1)
        if [ -n "$p" ]; then echo "$p"; return 0; fi
        sleep 0.1
    done
    fail "no control connection from $src to port $port"
}

# --- checks ----------------------------------------------------------------

# rate_check WHAT LO HI: the rate of frames reaching the client namespace
# over 3 s is within LO..HI times $LIMIT (download). Reports how long the
# worker waited for its CPU meanwhile, the usual cause of a rate too low.
rate_check() {
    local r x w0 w
    w0=$(worker_wait)
    r=$(wire_rate "$LAB_NS_CLI" 3)
    w=$(( $(worker_wait) - w0 ))
    x=$(ratio "$r" "$LIMIT")
    printf '%s: %s: %s mbit/s, %s x the limit (expected %s..%s; worker waited %s ms for its CPU)\n' \
        "$(between "$x" "$2" "$3" && echo ok || echo FAIL)" "$1" "$(mbit "$r")" "$x" "$2" "$3" "$w"
    between "$x" "$2" "$3" || fail "$1: $x x the limit"
}

# ratio A B: A / B with 3 decimals
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f\n", a / b }'; }

# between X LO HI: LO <= X <= HI (floating point)
between() { awk -v x="$1" -v lo="$2" -v hi="$3" 'BEGIN { exit !(x >= lo && x <= hi) }'; }

mbit() { awk -v x="$1" 'BEGIN { printf "%.2f", x / 1e6 }'; }

wait_for() {  # SECONDS WHAT COMMAND...
    local secs=$1 what=$2
    shift 2
    local deadline=$((SECONDS + secs))
    until "$@"; do
        [ "$SECONDS" -lt "$deadline" ] || fail "timed out ($secs s) waiting for $what"
        sleep 0.1
    done
}
