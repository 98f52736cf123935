#!/usr/bin/env bash
# The demo: linecap shaping real TCP traffic per user, on a machine with no
# NIC. One command on a fresh Debian 12 machine:
#   1. installs what it needs (scripts/install-deps.sh) and builds;
#   2. brings up the lab (scripts/lab.sh): a client and a server network
#      namespace joined by veths, whose root-namespace ends linecapd takes
#      as its two ports through DPDK's af_packet PMD;
#   3. starts a real proxy in the lab (scripts/lab.sh proxy up): a VPN
#      node, v2ray with a VMess inbound on port 443 for three users, in
#      the server namespace, and a v2ray client in the client namespace with
#      a local port per user that goes through the node as that user;
#   4. starts linecapd with the wire held, sets the three users, starts
#      the node's linecap-xray inside the node's namespace, following the
#      node's access log and reaching linecapd over TLS on the lab's
#      management link, then starts the wire;
#   5. runs iperf3 for each user through its proxy port (2 TCP flows), first
#      downloads, then uploads; the node logs every VMess connection with
#      the user's email and linecap-xray assigns it to the user, as in
#      production;
#   6. prints a live table of each user's rates (from 'linecapctl --json
#      user list', every second), a summary of limit against achieved, and
#      plots each user's rates over time to a PNG.
# It cleans up everything it made (the proxy goes down with the lab), also
# on Ctrl-C or failure, except the plot and its data (in ${TMPDIR:-/tmp}).
# LINECAP_DEMO_SECS sets the seconds measured per direction (12).
# scripts/demo-pcap.sh is the earlier demo: pcap replay through the wire.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
    exec sudo -E "$0" "$@"   # namespaces, veths and af_packet need root
fi

SECS=${LINECAP_DEMO_SECS:-12}   # seconds measured per direction
WORKER_CPU=${LINECAP_DEMO_WORKER_CPU:-1}
APP_CPU=$((1 - WORKER_CPU))     # iperf3 stays off the worker's core

BUILD=${LINECAP_BUILD:-build}   # the build folder, as in the README
echo "== Installing and building ($BUILD)"
scripts/install-deps.sh
[ -f "$BUILD/build.ninja" ] || meson setup "$BUILD" > /dev/null
ninja -C "$BUILD" > /dev/null
B=$(cd "$BUILD" && pwd)/app
LAB=$PWD/scripts/lab.sh
# shellcheck source=SCRIPTDIR/lib/linecapd.sh
. scripts/lib/linecapd.sh
LINECAPD=$B/linecapd/linecapd
LINECAPCTL=$B/linecapctl/linecapctl

ID=d$(printf %x $$)
STAMP=$(date +%Y%m%d-%H%M%S)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/linecap-demo.XXXXXX")
OUT=${TMPDIR:-/tmp}/linecap-demo-$STAMP
LC_SOCK=$WORK/lc.sock
LC_LOG=$WORK/linecapd.log
LC_START_WAIT=10
LC_LOG_TAIL=0      # the exit trap shows the log
PIDS=()
LC_PID=
MON_PID=
LAB_UP=0

cleanup() {
    local rc=$?
    set +e
    trap - EXIT INT TERM
    if [ -n "$MON_PID" ]; then
        touch "$WORK/stop"
        kill "$MON_PID" 2>/dev/null
        wait "$MON_PID" 2>/dev/null
    fi
    local p
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    [ -n "$LC_PID" ] && kill -TERM "$LC_PID" 2>/dev/null
    for p in "${PIDS[@]}" $LC_PID; do
        for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    if [ "$rc" -ne 0 ] && [ "$rc" -ne 130 ] && [ -f "$WORK/linecapd.log" ]; then
        echo "--- linecapd log ---" >&2
        tail -n 20 "$WORK/linecapd.log" >&2
    fi
    [ "$LAB_UP" = 1 ] && "$LAB" -i "$ID" down > /dev/null
    rm -rf "$WORK" "/var/run/dpdk/lc$ID"
    [ "$rc" -eq 0 ] || rm -f "$OUT.tsv" "$OUT.png"
    exit "$rc"
}
trap cleanup EXIT
trap 'echo; echo "demo: interrupted, cleaning up"; exit 130' INT TERM

say() { printf '\n== %s\n' "$*"; }
show() { printf '$ linecapctl %s\n' "$*"; lc_ctl "$@" > /dev/null; }

# --- the lab and linecapd ---------------------------------------------------
say "The lab: two network namespaces, linecapd between them"
LAB_UP=1
LAB_MTU=1500 "$LAB" -i "$ID" up

#          email             down(bit/s) up(bit/s)
USERS=(
    "alice@example.com 10000000 2000000"
    "bob@example.com   25000000 5000000"
    "carol@example.com 50000000 10000000"
)
EMAILS=()
for u in "${USERS[@]}"; do
    read -r email _ <<<"$u"
    EMAILS+=("$email")
done
say "The proxy: a VPN node (v2ray, VMess on 10.99.0.1:443) and its clients"
# Every v2ray on the CPU of iperf3, away from linecapd's worker.
# carol reaches the node over IPv6.
LAB_PROXY_USERS="${EMAILS[*]}" LAB_PROXY_V6=carol@example.com LAB_PROXY_CPU=$APP_CPU \
    "$LAB" -i "$ID" proxy up
eval "$(LAB_MTU=1500 "$LAB" -i "$ID" env)"
# The TCP windows of v2ray's connections across the wire kept small (as
# iperf3 -w 64K would keep them), so that a user's queue never overflows
# (tests/e2e/test_proxy.sh, docs/OPERATIONS.md).
for ns in "$LAB_NS_CLI" "$LAB_NS_SRV"; do
    ip netns exec "$ns" sysctl -qw net.ipv4.tcp_rmem="4096 65536 131072"
done

# aqm = none: in the lab the round trip is ~0.1 ms, so PIE's 15 ms target
# is a few frames at these rates and PIE would drop all the time
# (docs/OPERATIONS.md, "A first deployment, with the lab").
lc_write_conf "$WORK/linecap.conf" \
    "[eal]" \
    "args = --no-huge -m 1024 --no-pci -l 0,1 --main-lcore $APP_CPU --file-prefix=lc$ID --log-level=notice" \
    "args = $LAB_VDEVS" \
    "[wire]" "mtu = $LAB_WIRE_MTU" "mbufs = 16384" "autostart = no" \
    "[flows]" "capacity = 65536" \
    "[shaper]" "port_rate = 10gbit" "aqm = none" \
    "[users]" "capacity = 1024" "state_file = $WORK/users.conf" \
    "[mgmt]" "socket = $LC_SOCK" \
    "${LAB_MGMT_CONF[@]}"
echo "linecapd config ($WORK/linecap.conf):"
sed 's/^/    /' "$WORK/linecap.conf"
lc_start "$WORK/linecap.conf"
echo "linecapd is up, the wire held until 'start'"

say "Users (carol is on IPv6)"
for u in "${USERS[@]}"; do
    read -r email down up <<<"$u"
    show user set "$email" "down=$((down / 1000000))mbit" "up=$((up / 1000000))mbit"
done

# The node's access log, the way linecap-xray reads Xray's or v2ray's in
# production: on the node, reaching linecapd over TLS on the management
# link (scripts/lab.sh follower: --connect, the node's certificate, --node).
ACCESS=${LAB_PROXY_LOGS[0]}
"$LAB" -i "$ID" follower 1 "$B/linecap-xray/linecap-xray" --stats 3600 2> "$WORK/xray.log" &
PIDS+=($!)
echo "linecap-xray follows the node's access log, $ACCESS, in $LAB_NS_SRV,"
echo "and reaches linecapd over TLS on the management link ($LAB_MGMT_ADDR:$LAB_MGMT_PORT)"
show start

# --- traffic ------------------------------------------------------------------
# route EMAIL: "LOCAL_PORT TARGET_PORT" of the user's way through the node.
route() {
    local r email node port target
    for r in "${LAB_PROXY_ROUTES[@]}"; do
        read -r email node _ _ port target <<<"$r"
        [ "$email" = "$1" ] && [ "$node" = 1 ] && { echo "$port $target"; return 0; }
    done
    echo "demo: no proxy route for $1" >&2
    return 1
}
for e in "${EMAILS[@]}"; do
    read -r _ target <<<"$(route "$e")"
    ip netns exec "$LAB_NS_SRV" taskset -c $APP_CPU iperf3 -s -B 127.0.0.1 -p "$target" > /dev/null 2>&1 &
    PIDS+=($!)
done
sleep 0.5

# run_phase down|up: every user's iperf3 through its proxy port, 2 flows
# each, at once. Each connection iperf3 makes (its control connection and
# the 2 data flows) is a VMess connection to the node, which logs it with
# the user's email; linecap-xray assigns it to the user.
declare -A JSON
run_phase() {
    local dir=$1 email port
    local -a pids=() rev=()
    [ "$dir" = down ] && rev=(-R)
    for email in "${EMAILS[@]}"; do
        read -r port _ <<<"$(route "$email")"
        JSON[$dir-$email]=$WORK/$dir-$email.json
        ip netns exec "$LAB_NS_CLI" taskset -c $APP_CPU timeout -k 5 $((SECS + 30)) \
            iperf3 -c 127.0.0.1 -p "$port" -P 2 -t "$SECS" -O 1 --json "${rev[@]}" \
            > "${JSON[$dir-$email]}" 2>&1 &
        pids+=($!)
        PIDS+=($!)
    done
    local p
    for p in "${pids[@]}"; do wait "$p" || true; done
}

# The live table: every second, each user's rate per direction from the
# byte counters of 'user list'. Those count the frames that reached
# linecapd; the frames its queues dropped (drops x the mean frame size) are
# taken off, so what is shown is what linecap let through, in Ethernet frame
# bytes, give or take what its queues gained or lost in that second.
DATA=$OUT.tsv
monitor() {
    local t0 prev="" cur row rows=0 e
    t0=$(date +%s.%N)
    {
        printf '# t'
        for e in "${EMAILS[@]}"; do printf '\t%s_down\t%s_up' "$e" "$e"; done
        printf '\n'
    } > "$DATA"
    while [ ! -e "$WORK/stop" ]; do
        cur=$(lc_ctl user list 2>/dev/null | jq -c --arg t "$(date +%s.%N)" '
            def c(x): [x.bytes, x.packets, x.drops];
            {t: ($t | tonumber), u: ([.users[] | {key: .email,
                value: {d: c(.counters.down), u: c(.counters.up)}}] | from_entries)}') ||
            break
        if [ -n "$prev" ]; then
            # bytes in the second, less its drops at its mean frame size
            row=$(jq -rn --argjson a "$prev" --argjson b "$cur" --arg t0 "$t0" '
                def passed(x; y): (y[0] - x[0]) as $by | (y[1] - x[1]) as $pk
                    | if $pk > 0 then $by - (y[2] - x[2]) * $by / $pk else 0 end;
                ($b.t - $a.t) as $dt
                | [($b.t - ($t0 | tonumber))] + ([$ARGS.positional[] as $e
                    | (passed($a.u[$e].d; $b.u[$e].d), passed($a.u[$e].u; $b.u[$e].u))
                    | . * 8 / $dt / 1e6 | if . < 0 then 0 else . end])
                | map(. * 100 | round / 100) | @tsv' --args "${EMAILS[@]}")
            if [ $((rows % 20)) -eq 0 ]; then
                printf '%6s' time
                for e in "${EMAILS[@]}"; do printf ' | %-17s' "${e%@*}"; done
                printf '\n%6s' s
                for e in "${EMAILS[@]}"; do printf ' | %8s %8s' down up; done
                printf '   (mbit/s)\n'
            fi
            rows=$((rows + 1))
            local -a v
            read -r -a v <<<"$row"
            printf '%6.1f' "${v[0]}"
            printf ' | %8.2f %8.2f' "${v[@]:1}"
            printf '\n'
            echo "$row" >> "$DATA"
        fi
        prev=$cur
        sleep 0.97
    done
}

say "Traffic: each user downloads ($SECS s), then uploads ($SECS s), 2 TCP flows each"
echo "Live rates through linecap, per user and direction, every second:"
monitor &
MON_PID=$!
PHASE_T=()
PHASE_T+=("$(date +%s.%N)")
run_phase down
PHASE_T+=("$(date +%s.%N)")
run_phase up
PHASE_T+=("$(date +%s.%N)")
sleep 1
touch "$WORK/stop"
wait "$MON_PID" 2>/dev/null || true
MON_PID=

# --- summary ------------------------------------------------------------------
say "Summary: limit against achieved"
echo "goodput: iperf3's receiver, TCP payload of the 2 flows; frames: what linecap"
echo "let through in the steady part, in Ethernet frame bytes (what a limit counts)"
printf '%-18s %-4s %8s %10s %8s %10s %8s\n' user dir limit goodput ratio frames ratio
col=2
for u in "${USERS[@]}"; do
    read -r email down up <<<"$u"
    for dir in down up; do
        [ "$dir" = down ] && limit=$down || limit=$up
        [ "$dir" = down ] && c=$col || c=$((col + 1))
        [ "$dir" = down ] && { from=0; to=1; } || { from=1; to=2; }
        g=$(jq -r '.end.sum_received.bits_per_second // 0' "${JSON[$dir-$email]}" 2>/dev/null || echo 0)
        # mean of the samples 3 s after the phase began to 1 s before it ended
        t0=$(awk -v a="${PHASE_T[0]}" -v b="${PHASE_T[$from]}" 'BEGIN { print b - a + 3 }')
        t1=$(awk -v a="${PHASE_T[0]}" -v b="${PHASE_T[$to]}" 'BEGIN { print b - a - 1 }')
        f=$(awk -v c="$c" -v t0="$t0" -v t1="$t1" '!/^#/ && $1 >= t0 && $1 <= t1 { s += $c; n++ }
            END { printf "%.0f", n ? s / n * 1e6 : 0 }' "$DATA")
        printf '%-18s %-4s %8s %10s %8s %10s %8s\n' "$email" "$dir" \
            "$(awk -v x="$limit" 'BEGIN { printf "%g", x / 1e6 }')" \
            "$(awk -v x="$g" 'BEGIN { printf "%.2f", x / 1e6 }')" \
            "$(awk -v x="$g" -v l="$limit" 'BEGIN { printf "%.3f", x / l }')" \
            "$(awk -v x="$f" 'BEGIN { printf "%.2f", x / 1e6 }')" \
            "$(awk -v x="$f" -v l="$limit" 'BEGIN { printf "%.3f", x / l }')"
    done
    col=$((col + 2))
done
echo "(rates in mbit/s. A 1514-byte frame carries 1448 bytes of TCP payload with"
echo " timestamps (1428 over IPv6), and VMess takes about 2.7 % more (docs/OPERATIONS.md),"
echo " so goodput through the proxy tops out near 0.93 of the limit.)"
s=$(lc_ctl stats)
echo "linecapd: $(jq -r '"client port rx \(.ports.client.rx_packets) tx \(.ports.client.tx_packets), server port rx \(.ports.server.rx_packets) tx \(.ports.server.tx_packets), drops: shaper \(.ports.client.drops.shaper + .ports.server.drops.shaper), tx_full \(.ports.client.drops.tx_full + .ports.server.drops.tx_full)"' <<<"$s")"
echo "linecap-xray: $(grep -c ' accepted ' "$ACCESS") VMess connections logged by the node, $(lc_ctl flows | jq '[.flows[] | select(.user != null)] | length') flows bound to users from its log"

# --- the plot -----------------------------------------------------------------
PNG=$OUT.png
{
    echo "set terminal pngcairo size 1100,760 font ',10'"
    echo "set output '$PNG'"
    echo "set multiplot layout 2,1 title 'linecap demo: per-user rates through the wire (Ethernet frames, mbit/s)'"
    echo "set grid; set key outside right; set xlabel 'seconds'; set ylabel 'mbit/s'"
    echo "set datafile separator '\t'"
    for dir in down up; do
        [ "$dir" = down ] && echo "set title 'download (server -> client)'" || echo "set title 'upload (client -> server)'"
        top=0
        for u in "${USERS[@]}"; do
            read -r email down up <<<"$u"
            [ "$dir" = down ] && l=$down || l=$up
            [ "$l" -gt "$top" ] && top=$l
        done
        echo "set yrange [0:$(awk -v x="$top" 'BEGIN { print x * 1.25 / 1e6 }')]"
        plot="plot"
        col=2
        i=1
        for u in "${USERS[@]}"; do
            read -r email down up <<<"$u"
            [ "$dir" = down ] && { c=$col; l=$down; } || { c=$((col + 1)); l=$up; }
            plot="$plot '$DATA' using 1:$c with lines lw 2 lc $i title '${email%@*}',"
            plot="$plot $(awk -v x="$l" 'BEGIN { printf "%g", x / 1e6 }') with lines dt 2 lc $i title '${email%@*} limit',"
            col=$((col + 2))
            i=$((i + 1))
        done
        echo "${plot%,}"
    done
    echo "unset multiplot"
} > "$WORK/plot.gp"
if gnuplot "$WORK/plot.gp" 2> "$WORK/gnuplot.err"; then
    say "Plot: $PNG"
    echo "(data: $DATA)"
else
    echo "gnuplot failed: $(cat "$WORK/gnuplot.err")"
fi
echo
echo "demo: done"
