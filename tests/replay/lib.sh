# Shared helpers of the replay tests: start linecapd on pcap vdevs, query it,
# stop it. Source this file; it sets a trap that always cleans up.
# Needs: LINECAPD, LINECAPCTL, LC_PCAPGEN, LC_PCAPCMP in the environment.
set -euo pipefail

: "${LINECAPD:?}" "${LINECAPCTL:?}" "${LC_PCAPGEN:?}" "${LC_PCAPCMP:?}"

WORK=$(mktemp -d /tmp/lc-replay.XXXXXX)
SOCK=$WORK/lc.sock
LC_PID=
LC_LOG=$WORK/linecapd.log

lc_cleanup() {
    local rc=$?
    if [ -n "$LC_PID" ] && kill -0 "$LC_PID" 2>/dev/null; then
        kill -KILL "$LC_PID" 2>/dev/null || true
        wait "$LC_PID" 2>/dev/null || true
    fi
    if [ $rc -ne 0 ] && [ -f "$LC_LOG" ]; then
        echo "--- linecapd log ---" >&2
        tail -n 40 "$LC_LOG" >&2
    fi
    rm -rf "$WORK" "/var/run/dpdk/lc-$$" 2>/dev/null || true
    exit $rc
}
trap lc_cleanup EXIT INT TERM

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# write_conf FILE MODE CLIENT.pcap SERVER.pcap [extra ini lines...]
# Port 0 (client) replays CLIENT.pcap and writes what it transmits to
# client-out.pcap; port 1 likewise for the server side.
write_conf() {
    local file=$1 mode=$2 cin=$3 sin=$4
    shift 4
    cat > "$file" <<CONF
[eal]
args = --no-huge -m 256 --no-pci -l 0,1 --file-prefix=lc-$$ --log-level=warning
args = --vdev=net_pcap0,rx_pcap=$cin,tx_pcap=$WORK/client-out.pcap
args = --vdev=net_pcap1,rx_pcap=$sin,tx_pcap=$WORK/server-out.pcap
[wire]
mode = $mode
mbufs = 8192
[flows]
capacity = 65536
[users]
capacity = 4096
state_file = $WORK/users.conf
[mgmt]
socket = $SOCK
CONF
    local line
    for line in "$@"; do
        printf '%s\n' "$line" >> "$file"
    done
}

# lc_start CONF [LINECAPD OPTIONS...]
lc_start() {
    local conf=$1
    shift
    "$LINECAPD" --config "$conf" "$@" > "$LC_LOG" 2>&1 &
    LC_PID=$!
    local i
    for i in $(seq 1 200); do
        if "$LINECAPCTL" -s "$SOCK" ping > /dev/null 2>&1; then
            return 0
        fi
        kill -0 "$LC_PID" 2>/dev/null || fail "linecapd exited at start"
        sleep 0.1
    done
    fail "linecapd did not answer on $SOCK"
}

lc_ctl() {
    "$LINECAPCTL" -s "$SOCK" --json "$@"
}

# stat_of PATH: one value of the stats reply, e.g. .ports.client.rx_packets
stat_of() {
    lc_ctl stats | jq -r "$1"
}

# wait_rx CLIENT_FRAMES SERVER_FRAMES: until the worker has received both.
wait_rx() {
    local i s
    for i in $(seq 1 600); do
        s=$(lc_ctl stats)
        if [ "$(jq .ports.client.rx_packets <<<"$s")" -ge "$1" ] &&
           [ "$(jq .ports.server.rx_packets <<<"$s")" -ge "$2" ]; then
            return 0
        fi
        sleep 0.05
    done
    fail "frames not all received: $(jq -c '[.ports.client.rx_packets,.ports.server.rx_packets]' <<<"$s"), expected [$1,$2]"
}

lc_stop() {
    kill -TERM "$LC_PID"
    local i
    for i in $(seq 1 200); do
        kill -0 "$LC_PID" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$LC_PID" 2>/dev/null && fail "linecapd did not stop on SIGTERM"
    wait "$LC_PID" || fail "linecapd exited with status $?"
    LC_PID=
}

# frames FILE: number of frames in a capture
frames() {
    "$LC_PCAPCMP" --count "$1" | cut -d' ' -f1
}

bytes() {
    "$LC_PCAPCMP" --count "$1" | cut -d' ' -f2
}

expect_eq() {
    [ "$1" = "$2" ] || fail "$3: got $1, expected $2"
    echo "ok: $3 = $2"
}
