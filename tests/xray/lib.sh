# SPDX-License-Identifier: MIT
#
# Helpers shared by the follower tests in tests/xray: sourced, not run, after
# the caller has set XRAY, SOCKREC and PY. Every wait is bounded; a trap
# stops what was started (by PID) and removes the temp dir.

work=$(mktemp -d "${TMPDIR:-/tmp}/lc-xray-test.XXXXXX")
sock=$work/linecap.sock
err=$work/xray.err
pids=()

# A follower that fails a test may be one that ignores SIGTERM: after 2 s,
# what is left gets SIGKILL.
cleanup() {
	local p i
	for p in "${pids[@]}"; do
		kill -CONT "$p" 2>/dev/null || true
		kill "$p" 2>/dev/null || true
	done
	for ((i = 0; i < 40; i++)); do
		for p in "${pids[@]}"; do
			kill -0 "$p" 2>/dev/null && break
		done
		kill -0 "$p" 2>/dev/null || break
		sleep 0.05
	done
	for p in "${pids[@]}"; do
		kill -KILL "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$work"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*" >&2
	local f
	for f in "$work"/*.err "$work"/*/*.err; do
		[ -f "$f" ] || continue
		echo "---- $f (last 40 lines) ----" >&2
		tail -n 40 "$f" >&2
	done
	# What the recording stand-in for linecapd received.
	for f in "$work"/rec*.out; do
		[ -f "$f" ] || continue
		echo "---- $f (last 40 lines) ----" >&2
		tail -n 40 "$f" >&2
	done
	exit 1
}

# wait_for SECONDS DESCRIPTION COMMAND...
wait_for() {
	local secs=$1 what=$2
	shift 2
	local deadline=$((SECONDS + secs))
	until "$@"; do
		[ "$SECONDS" -lt "$deadline" ] || fail "timed out waiting for $what"
		sleep 0.05
	done
}

# wait_exit PID SECONDS: wait for a process we started to end; its status.
wait_exit() {
	local pid=$1 deadline=$((SECONDS + $2))
	while kill -0 "$pid" 2>/dev/null; do
		[ "$SECONDS" -lt "$deadline" ] || fail "process $pid did not stop"
		sleep 0.02
	done
	local rc=0
	wait "$pid" || rc=$?
	return "$rc"
}

# ms_now: monotonic enough for sub-second timing of an exit
ms_now() { echo $(($(date +%s%N) / 1000000)); }

# term_within PID MS: SIGTERM, then the process must be gone within MS ms
# with status 0. The time it took is left in term_ms (not printed: a command
# substitution would run it in a subshell, which cannot wait for the PID).
term_ms=
term_within() {
	local pid=$1 limit=$2 t0 t1 rc=0
	t0=$(ms_now)
	kill -TERM "$pid"
	while kill -0 "$pid" 2>/dev/null; do
		t1=$(ms_now)
		[ $((t1 - t0)) -le "$limit" ] ||
			fail "pid $pid still running $((t1 - t0)) ms after SIGTERM"
		sleep 0.01
	done
	t1=$(ms_now)
	wait "$pid" || rc=$?
	[ "$rc" -eq 0 ] || fail "pid $pid exited with status $rc after SIGTERM"
	term_ms=$((t1 - t0))
}

has() { grep -qxF -- "$2" "$1" 2>/dev/null; }
has_text() { grep -qF -- "$2" "$1" 2>/dev/null; }
count() { grep -cxF -- "$2" "$1" 2>/dev/null || true; }
count_text() { grep -cF -- "$2" "$1" 2>/dev/null || true; }
lines_of() { if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi; }

now() { date '+%Y/%m/%d %H:%M:%S'; }
# accepted EMAIL ENDPOINT: an Xray 1.8+ line
accepted() {
	echo "$(now).123456 from $2 accepted tcp:www.example.com:443 [vless-in >> direct] email: $1"
}

rec_pid=
# start_rec OUT [CONNECTIONS [MORE SOCKREC OPTIONS...]]
start_rec() {
	local out=$1 conns=${2:-}
	shift
	[ $# -eq 0 ] || shift
	rm -f "$sock"
	"$PY" "$SOCKREC" --socket "$sock" --out "$out" \
		${conns:+--connections "$conns"} "$@" &
	rec_pid=$!
	pids+=("$rec_pid")
	wait_for 10 "the recorder's socket" test -S "$sock"
}

# more_than FILE TEXT N: FILE has more than N lines with TEXT (a function,
# so that wait_for counts again on every try)
more_than() { [ "$(count_text "$1" "$2")" -gt "$3" ]; }

# counters PID ERRFILE: the counters line printed for this SIGUSR1
counters() {
	local pid=$1 file=$2 before
	before=$(count_text "$file" 'counters (SIGUSR1)')
	kill -USR1 "$pid"
	wait_for 10 "counters on SIGUSR1" \
		more_than "$file" 'counters (SIGUSR1)' "$before"
	grep 'counters (SIGUSR1)' "$file" | tail -n 1
}

expect_counter() {
	local line=$1 name=$2 want=$3
	case " $line " in
	*" $name=$want "*) ;;
	*) fail "counter $name: want $want in: $line" ;;
	esac
}

no_sanitizer_report() {
	local f
	for f in "$@"; do
		grep -q 'AddressSanitizer\|runtime error' "$f" 2>/dev/null &&
			fail "sanitizer report in $f"
	done
	return 0
}

# Lines of one user from one client address that differ by port: the
# caller sets log, rec, ts, LINE_IP and LINE_EMAIL.
# line PORT: the access line of that port (all of one length for ports
# of as many digits)
line() {
	echo "$ts from $LINE_IP:$1 accepted tcp:www.example.com:443 [vless-in >> direct] email: $LINE_EMAIL"
}
# write_lines FIRST COUNT: append lines with ports FIRST..FIRST+COUNT-1
write_lines() {
	local p
	for ((p = $1; p < $1 + $2; p++)); do
		line "$p"
	done >>"$log"
}
# expect_lines FIRST COUNT: each was sent exactly once
expect_lines() {
	local p want
	for ((p = $1; p < $1 + $2; p++)); do
		want="assign $LINE_EMAIL $LINE_IP:$p"
		wait_for 10 "port $p" has "$rec" "$want"
		[ "$(count "$rec" "$want")" -eq 1 ] || fail "sent more than once: $want"
	done
}
