#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# test_paths.sh LINECAP_XRAY SOCKREC_PY [PYTHON]
#
# A log path that is not a regular file, and a stderr that cannot be
# written. A directory or a FIFO at the log path is refused: one message
# when it starts, a bounded number of log lines, little CPU, and SIGTERM
# stops the follower within 1 s with status 0. Its stderr goes into the
# watched directory, so that a follower that logs on every look would feed
# its own inotify events. When the path becomes a regular file, its lines
# are followed; when it stops being one, that is said once more. A stderr
# that is a full pipe nobody reads, or /dev/full, neither blocks the
# follower, nor makes it spin, nor keeps SIGTERM from stopping it.
set -euo pipefail

XRAY=${1:?usage: test_paths.sh LINECAP_XRAY SOCKREC_PY [PYTHON]}
SOCKREC=${2:?usage: test_paths.sh LINECAP_XRAY SOCKREC_PY [PYTHON]}
PY=${3:-python3}
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

rec=$work/rec.out
start_rec "$rec"
dir=$work/logs
mkdir "$dir"
log=$dir/access.log

# opened PID: the process has the log open (its stderr may say nothing)
opened() { ls -l "/proc/$1/fd" 2>/dev/null | grep -qF -- "$log"; }

# cpu_ticks PID: user + system time so far, in clock ticks
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

# quiet_while_refused PID ERRFILE WHAT: over 2 s, one message, few lines,
# little CPU
quiet_while_refused() {
	local pid=$1 file=$2 what=$3 lines ticks
	wait_for 10 "the message about the $what" has_text "$file" \
		"is not a regular file"
	local t0
	t0=$(cpu_ticks "$pid")
	sleep 2
	lines=$(lines_of "$file")
	ticks=$(($(cpu_ticks "$pid") - t0))
	echo "$what at the log path: $lines log lines, $((ticks * 1000 / hz)) ms of CPU in 2 s"
	[ "$(count_text "$file" "is not a regular file")" -eq 1 ] ||
		fail "$what: want the message once, got $(count_text "$file" "is not a regular file")"
	[ "$lines" -le 5 ] || fail "$what: $lines log lines in 2 s"
	[ $((ticks * 1000 / hz)) -le 200 ] ||
		fail "$what: $((ticks * 1000 / hz)) ms of CPU in 2 s"
}

# ---- 1. a directory at the log path ----
mkdir "$log"
"$XRAY" -s "$sock" --replay 0 "$log" 2>"$dir/xray1.err" &
x1=$!
pids+=("$x1")
quiet_while_refused "$x1" "$dir/xray1.err" directory
term_within "$x1" 1000
echo "directory: SIGTERM exit in $term_ms ms"
rmdir "$log"

# ---- 2. a FIFO at the log path (open would block without a writer) ----
mkfifo "$log"
"$XRAY" -s "$sock" --replay 0 "$log" 2>"$dir/xray2.err" &
x2=$!
pids+=("$x2")
quiet_while_refused "$x2" "$dir/xray2.err" FIFO

# ---- 3. the FIFO is replaced by a regular file, which is followed ----
rm "$log"
accepted alice@example.com 203.0.113.1:1001 >"$log.new"
mv "$log.new" "$log"
wait_for 10 "the line of the regular file" has "$rec" \
	"assign alice@example.com 203.0.113.1:1001"
has_text "$dir/xray2.err" "following $log" || fail "no message when it cleared"

# ---- 4. a directory again, then a regular file again ----
rm "$log"
mkdir "$log"
wait_for 10 "the second refusal" \
	more_than "$dir/xray2.err" "is not a regular file" 1
sleep 1
[ "$(count_text "$dir/xray2.err" "is not a regular file")" -eq 2 ] ||
	fail "the directory was reported more than once"
rmdir "$log"
accepted bob@example.com 203.0.113.2:1002 >"$log"
wait_for 10 "the line of the new regular file" has "$rec" \
	"assign bob@example.com 203.0.113.2:1002"
term_within "$x2" 1000
echo "FIFO: SIGTERM exit in $term_ms ms"

# ---- 5. stderr is a full pipe that nobody reads ----
mkfifo "$work/errpipe"
exec 3<>"$work/errpipe"
# Fill it; the pipe may be smaller than 64 KiB, so bound the writer.
timeout 2 dd if=/dev/zero of="$work/errpipe" bs=4096 count=16 2>/dev/null || true
"$XRAY" -s "$sock" --replay 0 "$log" 2>&3 &
x3=$!
pids+=("$x3")
wait_for 10 "the follower to open the log" opened "$x3"
accepted carol@example.com 203.0.113.3:1003 >>"$log"
wait_for 10 "a line while stderr is full" has "$rec" \
	"assign carol@example.com 203.0.113.3:1003"
t0=$(cpu_ticks "$x3")
sleep 1
ticks=$(($(cpu_ticks "$x3") - t0))
[ $((ticks * 1000 / hz)) -le 200 ] ||
	fail "full stderr: $((ticks * 1000 / hz)) ms of CPU in 1 s"
# Once stderr takes lines again, the next line says how many were lost.
dd bs=4096 count=16 <&3 >/dev/null 2>&1
kill -USR1 "$x3"
timeout 1 cat <&3 >"$work/drained.txt" || true
grep -q "log lines were lost: stderr could not take them" "$work/drained.txt" ||
	fail "no count of the lost log lines once stderr drained"
grep -q "counters (SIGUSR1)" "$work/drained.txt" ||
	fail "no log line once stderr drained"
term_within "$x3" 1000
echo "stderr a full pipe: the line was followed; SIGTERM exit in $term_ms ms"
exec 3>&-

# ---- 6. stderr is /dev/full: every write fails ----
"$XRAY" -s "$sock" --replay 0 "$log" 2>/dev/full &
x4=$!
pids+=("$x4")
wait_for 10 "the follower to open the log" opened "$x4"
accepted dave@example.com 203.0.113.4:1004 >>"$log"
wait_for 10 "a line while stderr fails" has "$rec" \
	"assign dave@example.com 203.0.113.4:1004"
t0=$(cpu_ticks "$x4")
sleep 1
ticks=$(($(cpu_ticks "$x4") - t0))
[ $((ticks * 1000 / hz)) -le 200 ] ||
	fail "stderr /dev/full: $((ticks * 1000 / hz)) ms of CPU in 1 s"
term_within "$x4" 1000
echo "stderr /dev/full: the line was followed; SIGTERM exit in $term_ms ms"

no_sanitizer_report "$dir"/*.err
echo "PASS: non-regular log paths are refused once and quietly, picked up when regular, and SIGTERM always stops"
