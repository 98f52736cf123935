#!/usr/bin/env bash
# soak.sh: linecapd under traffic and management churn for a long while,
# with its memory and open files sampled every 10 s; both must be flat at
# the end.
#   scripts/soak.sh [MINUTES]     (default 10)
#
# Traffic: lc-pcapgen bench64 (20,000 flows of 2,000 client addresses, the
# benchmark's encapsulation mix), replayed without end (net_pcap
# infinite_rx) in both directions. Churn, in pipelined batches over the
# management socket, every 100 ms: assignments of random emails to the
# replay's client endpoints and addresses, unassignments, static users set
# and deleted, gc with a short idle time, flows listings, stats, and now and
# then the kill switch. Every reply is checked to be a well-formed JSON
# line; refusals (a full table, a user that is gone) are counted by reason.
#
# Flat: over the second half of the run, VmRSS grows less than 4 MiB and
# the open files do not change. Exit 0 when flat and linecapd stayed up.
set -euo pipefail
cd "$(dirname "$0")/.."
MINUTES=${1:-10}
B=${BUILD_DIR:-build}
[ -f "$B/build.ninja" ] || meson setup "$B" > /dev/null
ninja -C "$B" app/linecapd/linecapd app/linecapctl/linecapctl tests/gen/lc_pcapgen > /dev/null

# shellcheck source=SCRIPTDIR/lib/linecapd.sh
. scripts/lib/linecapd.sh
LINECAPD=$B/app/linecapd/linecapd
LINECAPCTL=$B/app/linecapctl/linecapctl

W=$(mktemp -d /tmp/lc-soak.XXXXXX)
LC_SOCK=$W/lc.sock
LC_LOG=$W/linecapd.log
LC_START_WAIT=10
LC_PID=
cleanup() {
    lc_stop
    rm -rf "$W" "/var/run/dpdk/lc-soak-$$"
}
trap cleanup EXIT INT TERM

"$B/tests/gen/lc_pcapgen" bench64 "$W/c.pcap" "$W/s.pcap" --count 20000 > /dev/null
lc_write_conf "$W/lc.conf" \
    "[eal]" \
    "args = --no-huge -m 1024 --no-pci -l 0,1 --file-prefix=lc-soak-$$ --log-level=warning" \
    "args = --vdev=net_pcap0,rx_pcap=$W/c.pcap,infinite_rx=1" \
    "args = --vdev=net_pcap1,rx_pcap=$W/s.pcap,infinite_rx=1" \
    "[wire]" "mtu = 1518" "mbufs = 65536" \
    "[flows]" "capacity = 65536" "pending_ttl = 5" \
    "[shaper]" "default_up = 20mbit" "default_down = 50mbit" "aqm = pie" \
    "[users]" "capacity = 8192" "state_file = $W/users.conf" "gc_idle = 5" "gc_min_age = 5" \
    "[mgmt]" "socket = $LC_SOCK"
lc_start "$W/lc.conf"
echo "soak: linecapd $LC_PID, $MINUTES min of churn under replayed traffic"

set +e
python3 - "$LC_SOCK" "$LC_PID" "$MINUTES" <<'PY'
import json, os, random, re, socket, sys, time

path, pid, minutes = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
rng = random.Random(1)
sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
sock.connect(path)
buf = b""
sent = replies = 0
refused = {}

def endpoint(u, v6):
    port = 1024 + rng.randrange(10)
    if v6:
        return "[fd00:100::%x]:%d" % (u, port)
    return "10.100.%d.%d:%d" % (u >> 8, u & 255, port)

def batch():
    lines = []
    for _ in range(100):
        u = rng.randrange(2000)
        lines.append("assign user-%d@soak.example %s" % (rng.randrange(5000),
                     endpoint(u, u % 5 == 4)))
    for _ in range(40):
        u = rng.randrange(2000)
        lines.append("unassign %s" % endpoint(u, u % 5 == 4))
    for _ in range(10):
        u = rng.randrange(2000)
        lines.append("assign ip-%d@soak.example 10.100.%d.%d" % (rng.randrange(500),
                     u >> 8, u & 255))
    for _ in range(5):
        lines.append("user set static-%d@soak.example up=%dmbit down=%dmbit" % (
            rng.randrange(300), rng.randrange(1, 50), rng.randrange(1, 200)))
    for _ in range(5):
        kind = rng.choice(["static", "user"])
        lines.append("user del %s-%d@soak.example" % (
            kind, rng.randrange(300 if kind == "static" else 5000)))
    lines += ["gc", "flows 200", "stats"]
    if rng.randrange(50) == 0:
        lines += ["state disabled", "state present"]
    return ("\n".join(lines) + "\n").encode()

def read_replies(want):
    global buf, replies
    while replies < want:
        data = sock.recv(1 << 20)
        if not data:
            raise SystemExit("soak: linecapd closed the socket")
        buf += data
        *lines, buf = buf.split(b"\n")
        for line in lines:
            r = json.loads(line)
            replies += 1
            if not r.get("ok"):
                why = re.sub(r"'[^']*'", "X", r.get("error", "?"))[:60]
                refused[why] = refused.get(why, 0) + 1

def sample():
    st = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            st[k] = v.strip()
    return (int(st["VmRSS"].split()[0]) // 1024, int(st["VmHWM"].split()[0]) // 1024,
            len(os.listdir("/proc/%d/fd" % pid)))

start = time.monotonic()
end = start + minutes * 60
samples = []
next_sample = start
print("%6s %9s %9s %5s %10s %10s" % ("t(s)", "RSS(MiB)", "HWM(MiB)", "fds",
                                      "commands", "refused"))
while True:
    now = time.monotonic()
    if now >= next_sample:
        rss, hwm, fds = sample()
        samples.append((now - start, rss, hwm, fds))
        print("%6.0f %9d %9d %5d %10d %10d" % (now - start, rss, hwm, fds, replies,
                                                sum(refused.values())), flush=True)
        next_sample += 10
    if now >= end:
        break
    b = batch()
    sock.sendall(b)
    sent += b.count(b"\n")
    read_replies(sent)
    time.sleep(0.1)

sock.sendall(b"stats\n")
read_replies(sent + 1)
half = [s for s in samples if s[0] >= samples[-1][0] / 2]
grow = half[-1][1] - half[0][1]
fds_changed = len({s[3] for s in half}) != 1
print("soak: %d commands in %.0f s (%.0f/s); refusals by reason: %s" % (
    replies, samples[-1][0], replies / max(samples[-1][0], 1),
    json.dumps(refused, sort_keys=True)))
print("soak: second half: RSS %d -> %d MiB (%+d), fds %d -> %d" % (
    half[0][1], half[-1][1], grow, half[0][3], half[-1][3]))
flat = grow < 4 and not fds_changed
print("soak: %s" % ("flat" if flat else "NOT flat"))
sys.exit(0 if flat else 1)
PY
rc=$?
set -e
kill -0 "$LC_PID" 2> /dev/null || { echo "soak: linecapd died" >&2; tail "$LC_LOG" >&2; exit 1; }
errors=$(grep -c ' error: ' "$LC_LOG" || true)
echo "soak: linecapd up at the end; $errors error lines in its log"
{ grep ' error: ' "$LC_LOG" || true; } | sort | uniq -c | sort -rn | head -5
exit $rc
