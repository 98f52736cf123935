#!/usr/bin/env bash
# metrics.sh: what a Prometheus scrape of /metrics costs at 65,536 users.
#   scripts/bench/metrics.sh [USERS]      (default 65536)
#
# linecapd starts with USERS static users (a users file) and no traffic,
# and [metrics] listen on a free port of 127.0.0.1. It measures:
#   - a scrape with curl, 5 times one after the other: time, bytes;
#   - what the last whole scrape cost the control thread, as linecapd
#     itself reports it (linecap_scrape_steps, linecap_scrape_control_seconds,
#     linecap_scrape_step_max_seconds: TSC around each step);
#   - the management socket's answer time while scrapes run: a client pings
#     over one connection as fast as it can for 5 s, with no scrape, with
#     one scrape after another, and with 4 at once (the most linecapd
#     serves at a time); the longest ping is the longest the control
#     thread was away from the socket, plus the ping's own time.
# Counters are 0 without traffic, so each value is one digit: with real
# counters of up to 12 digits a page is about 6 MB larger.
# Prints the figures; BENCH_JSON=FILE also writes them as JSON.
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-65536}
B=${BUILD_DIR:-build}
[ -f "$B/build.ninja" ] || meson setup "$B" > /dev/null
ninja -C "$B" app/linecapd/linecapd app/linecapctl/linecapctl > /dev/null

# shellcheck source=SCRIPTDIR/../lib/linecapd.sh
. scripts/lib/linecapd.sh
LINECAPD=$B/app/linecapd/linecapd
LINECAPCTL=$B/app/linecapctl/linecapctl

W=$(mktemp -d /tmp/lc-bench-metrics.XXXXXX)
LC_SOCK=$W/lc.sock
LC_LOG=$W/linecapd.log
LC_START_WAIT=60
LC_PID=
cleanup() {
    lc_stop
    rm -rf "$W" "/var/run/dpdk/lc-bench-$$"
}
trap cleanup EXIT INT TERM

lc_empty_pcap "$W/client.pcap" "$W/server.pcap"
# The users file of the bench (scripts/bench/common.sh's users_file).
awk -v n="$N" 'BEGIN {
    print "linecap-users 1"
    for (u = 0; u < n; u++)
        printf "user %d u%d@bench.example up=10mbit down=10mbit\n", u + 1, u
    printf "end %d\n", n }' > "$W/users.conf"
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
URL=http://127.0.0.1:$PORT/metrics
lc_write_conf "$W/lc.conf" \
    "[eal]" \
    "args = --no-huge -m 2048 --no-pci -l 0,1 --file-prefix=lc-bench-$$ --log-level=warning" \
    "args = --vdev=net_pcap0,rx_pcap=$W/client.pcap,tx_pcap=$W/client-out.pcap" \
    "args = --vdev=net_pcap1,rx_pcap=$W/server.pcap,tx_pcap=$W/server-out.pcap" \
    "[wire]" "mbufs = 4096" \
    "[flows]" "capacity = 65536" \
    "[users]" "capacity = $N" "state_file = $W/users.conf" \
    "[mgmt]" "socket = $LC_SOCK" \
    "[metrics]" "listen = 127.0.0.1:$PORT"
lc_start "$W/lc.conf"
users=$(lc_ctl stats | jq '.users.static')
echo "linecapd: $users users, metrics on $URL"

# Scrapes one after the other: seconds and bytes of each.
times=()
size=0
for i in 1 2 3 4 5; do
    r=$(curl -sS -o "$W/page.txt" -w '%{http_code} %{time_total} %{size_download}' "$URL")
    read -r code t size <<<"$r"
    [ "$code" = 200 ] || { echo "scrape $i: HTTP $code" >&2; exit 1; }
    times+=("$t")
done
median=$(printf '%s\n' "${times[@]}" | sort -g | sed -n 3p)
series=$(grep -vc '^#' "$W/page.txt")
# The control thread's own account of the last whole scrape.
curl -sS -o "$W/page2.txt" "$URL"
val() { awk -v n="$1" '$1 == n { print $2 }' "$W/page2.txt"; }
steps=$(val linecap_scrape_steps)
control=$(val linecap_scrape_control_seconds)
head_step=$(val 'linecap_scrape_step_max_seconds{step="head"}')
step_max=$(val 'linecap_scrape_step_max_seconds{step="users"}')

# pings SECONDS: ping over one connection for that long; prints JSON.
pings() {
    python3 - "$LC_SOCK" "$1" <<'PY'
import json, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
f = s.makefile("rb")
rtt = []
end = time.monotonic() + float(sys.argv[2])
while time.monotonic() < end:
    t = time.monotonic()
    s.sendall(b"ping\n")
    f.readline()
    rtt.append(time.monotonic() - t)
rtt.sort()
print(json.dumps({"pings": len(rtt), "p50_ms": rtt[len(rtt) // 2] * 1e3,
                  "p99_ms": rtt[int(len(rtt) * 0.99)] * 1e3, "max_ms": rtt[-1] * 1e3}))
PY
}
# scrape_loop SECONDS: scrapes one after the other for that long; a
# scrape that fails is counted in $W/failed.
scrape_loop() {
    local end=$((SECONDS + $1))
    while [ "$SECONDS" -lt "$end" ]; do
        curl -sSf -o /dev/null "$URL" || echo x >> "$W/failed"
    done
}

idle=$(pings 5)
scrape_loop 5 & l1=$!
one=$(pings 5)
wait "$l1"
pids=()
for i in 1 2 3 4; do scrape_loop 5 & pids+=($!); done
four=$(pings 5)
wait "${pids[@]}"
failed=0
[ ! -f "$W/failed" ] || failed=$(wc -l < "$W/failed")

printf 'scrape of %s users: %s series, %s bytes, %s s (median of 5: %s)\n' \
    "$users" "$series" "$size" "$median" "${times[*]}"
printf 'control thread per scrape: %s steps, %s s in all; first step (with the worker calls) %s s, longest other step %s s\n' \
    "$steps" "$control" "$head_step" "$step_max"
printf '%-34s %8s %8s %8s %8s\n' "management socket ping" pings "p50 ms" "p99 ms" "max ms"
for r in "no scrape:$idle" "one scrape after another:$one" "4 scrapes at once:$four"; do
    j=${r#*:}
    printf '%-34s %8s %8.3f %8.3f %8.3f\n' "${r%%:*}" "$(jq .pings <<<"$j")" \
        "$(jq .p50_ms <<<"$j")" "$(jq .p99_ms <<<"$j")" "$(jq .max_ms <<<"$j")"
done
echo "scrapes that failed while pinging: $failed"
if [ -n "${BENCH_JSON:-}" ]; then
    jq -n --argjson users "$users" --argjson series "$series" --argjson bytes "$size" \
        --argjson seconds "$median" --argjson steps "$steps" \
        --argjson control_s "$control" --argjson step_max_s "$step_max" \
        --argjson head_s "$head_step" --argjson failed "$failed" \
        --argjson idle "$idle" --argjson one "$one" --argjson four "$four" \
        '{users: $users, series: $series, bytes: $bytes, seconds: $seconds,
          control: {steps: $steps, seconds: $control_s, head_step_seconds: $head_s,
                    step_max_seconds: $step_max_s}, failed: $failed,
          ping: {no_scrape: $idle, one_scrape: $one, four_scrapes: $four}}' > "$BENCH_JSON"
fi
