#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# bench.sh: linecap's benchmark (docs/BENCHMARKS.md explains every figure).
#
#   scripts/bench.sh [--quick] [--only LIST] [--traffic T] [--no-wait] [--profile]
#   scripts/bench.sh --report
#
#   --quick      a smoke run of about a minute: 64-byte traffic of 20,000
#                flows, short windows, fewer lines for the control plane;
#                writes bench/results-quick.json, bench/table-quick.txt and
#                bench/bench-mpps-quick.png (the full run's files stay)
#   --only LIST  comma-separated sections: rate,peak,accuracy,control,memory,
#                latency,metrics,scaling (default: all but scaling, which
#                takes about 90 s, 30 s with --quick, and only runs when
#                asked for: --only scaling)
#   --traffic T  packet rate of 64 or imix only (default: both; --quick: 64)
#                A run with --only or --traffic writes bench/results-partial.json
#                and bench/table-partial.txt, and draws no chart.
#   --peak LIST  the numbers of limited users of the peak section, comma-
#                separated (default 10,100,1000,10000; --quick: 100,1000)
#   --peak-offered X  what each limited user of the peak section is offered,
#                in times its limit, in the limited run itself (default 2:
#                saturated users offered twice their limits; 0: the limit is
#                half of the first reference's offer, whatever the limited
#                run offers)
#   --peak-pairs N  pairs of windows a limited run of the peak section ends
#                with: a linecapd with no user limited, then one with the
#                run's users limited, each started for its window and
#                stopped after it (default 3, --quick 1; 0: none). The
#                median pair's ratio is the "paired" column, which the peak
#                target reads
#   --peak-ab BIN  the first linecapd of each pair is BIN (another build)
#                with the same users limited, not this build with none: the
#                "paired" column is then this build against BIN
#   --no-wait    do not wait for a quiet machine (see below)
#   --report     only print the table and draw the chart of bench/results.json
#   --profile    also sample the worker thread with perf (cpu-clock) for 5 s
#                after each 64-byte configuration, and write its shares by
#                library and symbol to bench/profile-CONFIGURATION.txt
#   --peers DIR  also run the peers and peakpeer sections with the DPDK 22.11
#                source tree DIR (its examples/qos_sched is built under the
#                work folder); with --only, only the sections it names
#   --peer-users LIST  users of the peers section (default 1000,10000)
#
# It builds linecap in build-bench (release), then measures:
#   rate      Mpps of 64-byte and IMIX traffic (100,000 flows of 10,000
#             users, a mix of encapsulations) through dpdk-testpmd io (the
#             baseline, measured before and after linecapd) and through
#             linecapd in six configurations; the worker's cycles per frame
#   scaling   (--only scaling) Mpps of the 64-byte traffic through testpmd
#             io on 1 and 2 forwarding cores and linecapd with 1 and 2
#             workers ([wire] workers), on the same vdevs (2 cores: 2 RX
#             queues a port, the captures split by client address): each
#             against its own 1 core, linecapd against testpmd at as many
#   peak      the shaper at peak hour: the 64-byte traffic with S users in
#             PEAK_S (10 to 10,000) limited to half of what they are offered,
#             the others unlimited: Mpps against none limited, cycles per
#             frame, the limited users' rate / limit, unlimited users' drops
#   accuracy  achieved/limit of 1 mbit to 1 gbit users, sched and police
#   control   scripts/bench/assign.sh and scripts/bench/xray.sh; `user set` batches
#   memory    VmRSS/VmHWM and EAL heap of linecapd at 1M flows and 64k users,
#             at start and under the 100k-flow load; bytes per flow and user
#   latency   ping RTT of a 10 mbit user saturated by iperf3 (TCP both ways,
#             UDP up) in the lab (scripts/lab.sh), aqm none and pie
#   metrics   a Prometheus scrape of /metrics at 65,536 users: time, bytes,
#             the control thread's steps, management pings meanwhile
#   peers     (--peers only) linecapd, DPDK's qos_sched and testpmd on the
#             same QinQ traffic, users not limiting and all limited, by the
#             peer tool of ../shared/peers (scripts/bench/peers_section.sh)
#   peakpeer  (--peers only) the peak matrix (the S of --peak) for linecapd
#             and qos_sched side by side on the peer tool's QinQ traffic of
#             10,000 users (scripts/bench/peak_peer.py)
# and prints a table, writes bench/results.json and docs/bench-mpps.png.
#
# The machine is shared: before each section the script waits (20 s polls,
# 20 min at most) until no process it did not start that matches
# linecapd|iperf3|dpdk-testpmd|test_shaper uses CPU (idle leftovers, such as
# an iperf3 server waiting for a client, do not count). results.json records
# for each section whether others used CPU during it ("contended").
#
# Its parts are in scripts/bench/: common.sh (progress lines, results file,
# linecapd, the bench's users), monitor.sh (the processes of others) and one
# file per section (rate.sh, scaling.sh, peak.sh, accuracy.sh, control.sh,
# memory.sh, latency.sh, metrics_section.sh), sourced before the first
# section, and report.py (the table and the chart).
# Do not edit this file while it runs: bash reads it as it goes.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
B=${BUILD_DIR:-build-bench}
QUICK=0
WAIT=1
PROFILE=0
ONLY=rate,peak,accuracy,control,memory,latency,metrics
REPORT_ONLY=0
PARTIAL=0
TRAFFIC_SEL=
PEAK_SEL=
PEER_SRC=
PEER_USERS=(1000 10000)
PEER_ROUNDS=1
PEERS_DIR=${PEERS_DIR:-$ROOT/../shared/peers}
ONLY_SET=0
PEAK_OFFERED=2 PEAK_CAL_S=2 PEAK_PAIRS='' PEAK_AB_BIN='' PEAK_PAIR_S=2 PEAK_PAIR_WARM_S=6 PEAK_PORT_RATE=10gbit
while [ $# -gt 0 ]; do
    case $1 in
    --quick) QUICK=1 ;;
    --no-wait) WAIT=0 ;;
    --profile) PROFILE=1 ;;
    --only) ONLY=$2; ONLY_SET=1; PARTIAL=1; shift ;;
    --traffic) TRAFFIC_SEL=$2; PARTIAL=1; shift ;;
    --peak) PEAK_SEL=$2; PARTIAL=1; shift ;;
    --peak-offered) PEAK_OFFERED=$2; PARTIAL=1; shift ;;
    --peak-pairs) PEAK_PAIRS=$2; PARTIAL=1; shift ;;
    --peak-ab) PEAK_AB_BIN=$(realpath "$2"); PARTIAL=1; shift ;;
    --peers) PEER_SRC=$(cd "$2" && pwd); shift ;;
    --peer-users) IFS=, read -r -a PEER_USERS <<<"$2"; shift ;;
    --report) REPORT_ONLY=1 ;;
    -h|--help) sed -n '3,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench.sh: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
# --peers adds its two sections, unless --only names the sections to run.
[ -z "$PEER_SRC" ] || [ "$ONLY_SET" = 1 ] || ONLY=$ONLY,peers,peakpeer
if [ -z "$PEER_SRC" ] && [[ ",$ONLY," == *,peers,* || ",$ONLY," == *,peakpeer,* ]]; then
    echo "bench.sh: the peers and peakpeer sections need --peers DPDK_TREE" >&2
    exit 2
fi
want() { [[ ",$ONLY," == *",$1,"* ]]; }

if [ $QUICK = 1 ]; then
    FLOWS=20000 TRAFFIC=(64) WARM=1 WINDOW=1.5 NWIN=1 ACC_LOW=2 ACC_HIGH=1.5 LOAD_SECS=5
    ASSIGN_N=20000 XRAY_LINES=100000 LAT_PING=10 LAT_LOADS=(udp_up)
    PEAK_S=(100 1000) PEAK_ACC_S=3 PEAK_PAIRS=${PEAK_PAIRS:-1}
else
    FLOWS=100000 TRAFFIC=(64 imix) WARM=2 WINDOW=3 NWIN=3 ACC_LOW=12 ACC_HIGH=6 LOAD_SECS=20
    ASSIGN_N=100000 XRAY_LINES=1000000 LAT_PING=40 LAT_LOADS=(tcp_up tcp_down udp_up)
    PEAK_S=(10 100 1000 10000) PEAK_ACC_S=6 PEAK_PAIRS=${PEAK_PAIRS:-3}
fi
[ -z "$TRAFFIC_SEL" ] || IFS=, read -r -a TRAFFIC <<<"$TRAFFIC_SEL"
[ -z "$PEAK_SEL" ] || IFS=, read -r -a PEAK_S <<<"$PEAK_SEL"
SUFFIX=
[ $QUICK = 0 ] || SUFFIX=-quick
[ $PARTIAL = 0 ] || SUFFIX=-partial
USERS=$((FLOWS / 10))
LIMIT=8kbit           # the limiting configurations' rate and burst (BENCHMARKS.md)
LIMIT_BURST=1600
QSIZE=32              # queue_size of the packet-rate runs (mbufs for full queues)
T0=$SECONDS

# report JSON [PNG]: the table on stdout, and the chart of the packet rates.
report() {
    python3 "$ROOT/scripts/bench/report.py" "$@"
}

if [ $REPORT_ONLY = 1 ]; then
    report bench/results.json docs/bench-mpps.png
    exit 0
fi

# ---------------------------------------------------------------- set-up --
"$ROOT/scripts/install-deps.sh"
if [ ! -f "$B/build.ninja" ]; then
    meson setup "$B" -Dbuildtype=release > /dev/null
fi
ninja -C "$B" > /dev/null
LINECAPD=$B/app/linecapd/linecapd
LINECAPCTL=$B/app/linecapctl/linecapctl
PCAPGEN=$B/tests/gen/lc_pcapgen
PCAPRATE=$B/tests/tools/lc-pcaprate
PCAPSPLIT=$B/tests/tools/lc-pcapsplit

W=$(mktemp -d /tmp/lc-bench.XXXXXX)
PREFIX=lcb$$
LC_PID=
LAB_UP=
BG=()
BG_DIRS=()
cleanup() {
    local p
    local -a pids=("${BG[@]}")
    [ -z "$LC_PID" ] || pids+=("$LC_PID")
    for p in "$W/peak-ref.pid" "$W/peak-lim.pid"; do
        [ ! -f "$p" ] || pids+=("$(cat "$p")")
    done
    for p in "${pids[@]}"; do kill "$p" 2> /dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2> /dev/null || true; done
    [ -n "$LAB_UP" ] && "$ROOT/scripts/lab.sh" -i "$LAB_UP" down > /dev/null 2>&1
    rm -rf "$W" "${BG_DIRS[@]}" /var/run/dpdk/$PREFIX-* 2> /dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p bench
RES=bench/results.json.tmp
echo '{}' > "$RES"

# shellcheck source=SCRIPTDIR/lib/linecapd.sh
. "$ROOT/scripts/lib/linecapd.sh"
LC_SOCK=$W/lc.sock
LC_LOG=$W/linecapd.log
LC_START_WAIT=60
LC_STOP_WAIT=30
LC_FAIL=linecapd_failed
# shellcheck source=SCRIPTDIR/bench/common.sh
. "$ROOT/scripts/bench/common.sh"
# shellcheck source=SCRIPTDIR/bench/monitor.sh
. "$ROOT/scripts/bench/monitor.sh"
# shellcheck source=SCRIPTDIR/bench/rate.sh
. "$ROOT/scripts/bench/rate.sh"
# shellcheck source=SCRIPTDIR/bench/scaling.sh
. "$ROOT/scripts/bench/scaling.sh"
# shellcheck source=SCRIPTDIR/bench/peak.sh
. "$ROOT/scripts/bench/peak.sh"
# shellcheck source=SCRIPTDIR/bench/accuracy.sh
. "$ROOT/scripts/bench/accuracy.sh"
# shellcheck source=SCRIPTDIR/bench/control.sh
. "$ROOT/scripts/bench/control.sh"
# shellcheck source=SCRIPTDIR/bench/memory.sh
. "$ROOT/scripts/bench/memory.sh"
# shellcheck source=SCRIPTDIR/bench/latency.sh
. "$ROOT/scripts/bench/latency.sh"
# shellcheck source=SCRIPTDIR/bench/metrics_section.sh
. "$ROOT/scripts/bench/metrics_section.sh"
# shellcheck source=SCRIPTDIR/bench/peers_section.sh
. "$ROOT/scripts/bench/peers_section.sh"

# section_start SECTION / section_end SECTION: a monitor notes, every 5 s,
# the others that use CPU; results.json says whether any did ("contended").
section_start() {
    monitor_start "$W/busy.$1"
    BG+=("$MONITOR_PID")
}
section_end() {
    local o
    monitor_stop
    o=$(awk '{ print $2 }' "$W/busy.$1" | sort -u | tr '\n' ' ')
    put ".contended.$1" "$([ -s "$W/busy.$1" ] && echo true || echo false)"
    [ -s "$W/busy.$1" ] && put ".contended_by.$1" "$(jq -Rnc --arg o "$o" '$o | split(" ") | map(select(. != ""))')"
    [ -s "$W/busy.$1" ] && say "[$1] others used the CPU meanwhile: $o"
    return 0
}

# ------------------------------------------------------------------- run --
put .machine "$(jq -nc --arg cpu "$(lscpu | sed -n 's/^Model name: *//p')" \
    --argjson n "$(nproc)" --arg k "$(uname -r)" \
    --arg dpdk "$(pkg-config --modversion libdpdk 2> /dev/null || echo ?)" \
    --arg commit "$(git rev-parse --short HEAD 2> /dev/null || echo ?)$(git diff --quiet HEAD -- lib app 2> /dev/null || echo +changes)" \
    --arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" --argjson quick $QUICK \
    '{cpu: $cpu, cpus: $n, kernel: $k, dpdk: $dpdk, commit: $commit, date: $date, quick: ($quick == 1),
      notes: "no hugepages (--no-huge), net_pcap infinite_rx vdevs, shared vCPUs"}')"

for s in rate scaling peak accuracy control memory latency metrics peers peakpeer; do
    want $s || continue
    [ $WAIT = 0 ] || wait_quiet $s
    section_start $s
    t=$SECONDS
    ${s}_section
    put ".seconds.$s" $((SECONDS - t))
    section_end $s
done
put .seconds.total $((SECONDS - T0))
if [ $PARTIAL = 1 ]; then
    mv "$RES" bench/results-partial.json
    report bench/results-partial.json | tee bench/table-partial.txt
    exit 0
fi
if [ $QUICK = 1 ]; then
    mv "$RES" bench/results-quick.json
    report bench/results-quick.json bench/bench-mpps-quick.png | tee bench/table-quick.txt
    exit 0
fi
mv "$RES" bench/results.json

# ------------------------------------------------------------------ report --
report bench/results.json docs/bench-mpps.png | tee bench/table.txt

