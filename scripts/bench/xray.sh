#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# xray.sh [BUILD_DIR] [LINES]
#
# Generates an Xray access log of LINES lines (default 1,000,000) in a mix of
# every format linecap-xray reads (mostly accepted lines with an email, as on
# a busy node, plus rejected, DNS, no-email and error-log lines), then prints:
#
# 1. parse: lines/s of the line parser alone on one core
#    (linecap-xray --bench), and of the follower's per-line work
#    (parse + replay table + command);
# 2. end to end, to the Python recorder: assignments/s from the pre-written
#    log through linecap-xray --from-start to tests/xray/sockrec.py. The
#    recorder is Python, so this is a lower bound of what linecap-xray
#    itself does;
# 3. end to end, to the real linecapd: assignments/s from a pre-written log
#    (the same mix and LINES lines, but over at most 40,000 client
#    endpoints, so that every one fits linecapd's pending table)
#    through linecap-xray --from-start to linecapd, from the follower's
#    start to its last reply. linecapd runs on net_pcap vdevs with empty
#    captures and [wire] autostart = no, so every assignment is 'pending'
#    (no flow exists), with room for every user. It needs linecapd and
#    linecapctl in BUILD_DIR; without them this part is skipped. The
#    worker busy-polls one core, as on an appliance.
#
# BUILD_DIR defaults to ./build; the binaries are under BUILD_DIR/app/.
# The whole run takes well under a minute.
set -euo pipefail

here=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-build}
lines=${2:-1000000}
xray=$build/app/linecap-xray/linecap-xray
LINECAPD=$build/app/linecapd/linecapd
LINECAPCTL=$build/app/linecapctl/linecapctl
[ -x "$xray" ] || { echo "xray.sh: no $xray (build first)" >&2; exit 2; }
# shellcheck source=SCRIPTDIR/../lib/linecapd.sh
. "$here/scripts/lib/linecapd.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/lc-bench-xray.XXXXXX")
pids=()
LC_PID=
cleanup() {
	local p
	for p in "${pids[@]}" $LC_PID; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}" $LC_PID; do wait "$p" 2>/dev/null || true; done
	rm -rf "$work" "/var/run/dpdk/lc-bench-$$" 2>/dev/null || true
}
trap cleanup EXIT

# gen_log FILE ENDPOINTS: LINES lines of the mix; client endpoints repeat
# every ENDPOINTS lines (0: every line has its own).
gen_log() {
	awk -v n="$lines" -v ep="$2" 'BEGIN {
	srand(7);
	for (i = 0; i < n; i++) {
		j = ep > 0 ? i % ep : i;
		ip = "10." int(j / 65536) % 256 "." int(j / 256) % 256 "." j % 256;
		port = 1024 + (j * 7919) % 64000;
		user = "user" (i * 31) % 5000 "@example.com";
		t = sprintf("2024/11/12 %02d:%02d:%02d", int(i / 3600) % 24,
			    int(i / 60) % 60, i % 60);
		k = i % 100;
		if (k < 60)
			printf "%s.%06d from %s:%d accepted tcp:www.example%d.com:443 [vless-in >> direct] email: %s\n", t, i % 1000000, ip, port, k, user;
		else if (k < 70)
			printf "%s from tcp:%s:%d accepted udp:8.8.8.8:53 [vless-in -> dns-out] email: %s\n", t, ip, port, user;
		else if (k < 78)
			printf "%s from [2001:db8:%x::%x]:%d accepted tcp:[2606:4700::1111]:443 [vless-in ==> proxy] email: %s\n", t, j % 65536, k, port, user;
		else if (k < 86)
			printf "%s %s:%d accepted tcp:www.example.org:443 [vless-in >> direct] email:%s \n", t, ip, port, user;
		else if (k < 90)
			printf "%s from %s:%d rejected  proxy/vless/encoding: invalid request version\n", t, ip, port;
		else if (k < 93)
			printf "%s from DNS accepted tcp:1.1.1.1:53 [dns-in >> direct]\n", t;
		else if (k < 97)
			printf "%s from %s:%d accepted tcp:1.1.1.1:443 [socks -> proxy]\n", t, ip, port;
		else
			printf "%s [Info] [%d] app/dispatcher: taking detour [direct] for [tcp:www.example.com:443]\n", t, i;
	}
}' >"$1"
}

# replies XERR: replies_ok + replies_error of the follower's last counters.
replies() {
	grep 'counters (SIGUSR1)' "$1" 2>/dev/null | tail -n 1 |
		awk '{ for (f = 1; f <= NF; f++) if ($f ~ /^replies_(ok|error)=/) {
			split($f, kv, "="); r += kv[2] } } END { print r + 0 }'
}

log=$work/access.log
gen_log "$log" 0
echo "log: $lines lines, $(du -h "$log" | cut -f1)"

# ---- 1. parse rate ----
"$xray" --bench "$log" --passes 5 | tee "$work/bench.out"
assigns=$(awk '$1 == "assign" { print $2 }' "$work/bench.out")

# ---- 2. end to end, against the recording socket server ----
sock=$work/linecap.sock
if command -v python3 >/dev/null; then
	python3 "$here/tests/xray/sockrec.py" --socket "$sock" \
		--out "$work/count" --count-only &
	rec=$!
	pids+=("$rec")
	for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
	start=$(date +%s.%N)
	"$xray" -s "$sock" --from-start --replay 0 "$log" 2>"$work/xray.err" &
	xp=$!
	pids+=("$xp")
	deadline=$((SECONDS + 60))
	while :; do
		got=$(cat "$work/count" 2>/dev/null || true)
		[ "${got:-0}" -ge "$assigns" ] && break
		[ "$SECONDS" -lt "$deadline" ] || { echo "end to end: timed out" >&2; exit 1; }
		sleep 0.01
	done
	end=$(date +%s.%N)
	awk -v a="$assigns" -v s="$start" -v e="$end" 'BEGIN {
		printf "end to end: %d assignments in %.3f s: %.0f assignments/s " \
		       "(to the Python recorder)\n", a, e - s, a / (e - s) }'
	kill "$xp" "$rec" 2>/dev/null || true
	wait "$xp" "$rec" 2>/dev/null || true
	pids=()
else
	echo "no python3: end to end to the Python recorder skipped"
fi

# ---- 3. end to end, against the real linecapd ----
if [ ! -x "$LINECAPD" ] || [ ! -x "$LINECAPCTL" ]; then
	echo "no $LINECAPD: end to end to linecapd skipped"
	exit 0
fi
log2=$work/access-40k.log
gen_log "$log2" 40000
assigns2=$("$xray" --bench "$log2" --passes 1 | awk '$1 == "assign" { print $2 }')
lc_empty_pcap "$work/empty.pcap"
LC_SOCK=$work/lc.sock
LC_LOG=$work/linecapd.log
LC_START_WAIT=10
LC_LOG_TAIL=10
lc_write_conf "$work/lc.conf" \
	"[eal]" \
	"args = --no-huge -m 512 --no-pci -l 0,1 --file-prefix=lc-bench-$$ --log-level=warning" \
	"args = --vdev=net_pcap0,rx_pcap=$work/empty.pcap,tx_pcap=$work/c-out.pcap" \
	"args = --vdev=net_pcap1,rx_pcap=$work/empty.pcap,tx_pcap=$work/s-out.pcap" \
	"[wire]" "autostart = no" "mbufs = 8192" \
	"[flows]" "capacity = 262144" "pending_ttl = 3600" \
	"[users]" "capacity = 16384" "state_file = $work/users.conf" "gc_idle = 86400" \
	"[mgmt]" "socket = $LC_SOCK"
lc_start "$work/lc.conf"
xerr=$work/xray-lc.err
start=$(date +%s.%N)
"$xray" -s "$LC_SOCK" --from-start --replay 0 --stats 3600 "$log2" 2>"$xerr" &
xp=$!
pids+=("$xp")
deadline=$((SECONDS + 60))
# The follower prints its counters on SIGUSR1 once it has said "started"
# (its handlers are in place by then): poll them until every assignment has
# its reply (the end is known to within one poll).
until grep -q 'started: ' "$xerr" 2>/dev/null; do
	kill -0 "$xp" 2>/dev/null || { echo "linecap-xray exited" >&2; cat "$xerr" >&2; exit 1; }
	[ "$SECONDS" -lt "$deadline" ] || { echo "linecap-xray did not connect" >&2; exit 1; }
	sleep 0.001
done
while :; do
	kill -USR1 "$xp" 2>/dev/null || { echo "linecap-xray exited" >&2; cat "$xerr" >&2; exit 1; }
	sleep 0.01
	got=$(replies "$xerr")
	[ "$got" -ge "$assigns2" ] && break
	[ "$SECONDS" -lt "$deadline" ] || { echo "end to end (linecapd): timed out at $got of $assigns2 replies" >&2; exit 1; }
done
end=$(date +%s.%N)
last=$(grep 'counters (SIGUSR1)' "$xerr" | tail -n 1)
st=$(lc_ctl stats)
echo "linecapd: $(jq -c '{users: .users.dynamic, pending: .assignments.pending, pending_full: .assignments.pending_full, requests: .mgmt.requests, errors: .mgmt.errors}' <<<"$st" 2>/dev/null || echo "$st")"
echo "linecap-xray:$(grep -oE ' (sent|replies_ok|replies_error|bound|pending|unchanged|dropped)=[0-9]+' <<<"$last" | tr -d '\n')"
awk -v a="$assigns2" -v s="$start" -v e="$end" 'BEGIN {
	printf "end to end: %d assignments in %.3f s: %.0f assignments/s " \
	       "(to linecapd, every reply received)\n", a, e - s, a / (e - s) }'
case " $last " in
*" replies_error=0 "*) ;;
*) echo "xray.sh: linecapd answered errors (see above)" >&2; exit 1 ;;
esac
