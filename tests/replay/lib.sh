# Shared helpers of the replay tests: start linecapd on pcap vdevs, query it,
# stop it (scripts/lib/linecapd.sh). Source this file; it sets a trap that
# always cleans up.
# Needs: LINECAPD, LINECAPCTL, LC_PCAPGEN, LC_PCAPCMP in the environment.
set -euo pipefail

: "${LINECAPD:?}" "${LINECAPCTL:?}" "${LC_PCAPGEN:?}" "${LC_PCAPCMP:?}"

# shellcheck source=SCRIPTDIR/../../scripts/lib/linecapd.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/linecapd.sh"

WORK=$(mktemp -d /tmp/lc-replay.XXXXXX)
LC_SOCK=$WORK/lc.sock
LC_PID=
LC_LOG=$WORK/linecapd.log
LC_FAIL=fail
LC_START_WAIT=20
LC_STOP_WAIT=20
LC_STOP_CHECK=1

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
# client-out.pcap; port 1 likewise for the server side. The extra lines
# add keys or override those here.
write_conf() {
    local file=$1 mode=$2 cin=$3 sin=$4
    shift 4
    lc_write_conf "$file" \
        "[eal]" \
        "args = --no-huge -m 320 --no-pci -l 0,1 --file-prefix=lc-$$ --log-level=warning" \
        "args = --vdev=net_pcap0,rx_pcap=$cin,tx_pcap=$WORK/client-out.pcap" \
        "args = --vdev=net_pcap1,rx_pcap=$sin,tx_pcap=$WORK/server-out.pcap" \
        "[wire]" "mode = $mode" "mbufs = 8192" \
        "[flows]" "capacity = 65536" \
        "[users]" "capacity = 4096" "state_file = $WORK/users.conf" \
        "[mgmt]" "socket = $LC_SOCK" \
        "$@"
}

# wait_rx CLIENT_FRAMES SERVER_FRAMES: until the worker has received both.
wait_rx() {
    lc_wait_rx "$1" "$2" ||
        fail "frames not all received: $(lc_ctl stats | jq -c '[.ports.client.rx_packets,.ports.server.rx_packets]'), expected [$1,$2]"
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
