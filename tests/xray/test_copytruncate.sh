#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# test_copytruncate.sh LINECAP_XRAY SOCKREC_PY [PYTHON]
#
# logrotate's copytruncate copies the log and truncates it in place; Xray
# goes on appending. When the file has regrown to at least the size the
# follower had read before the follower looks again, its size alone does not
# show the truncation. The follower is stopped (SIGSTOP) so that it cannot
# look in between: copy, truncate, regrow, then SIGCONT. Round 1 regrows to
# exactly the old size, with lines of the same length, the same user, the
# same destination and the same second (only the client port differs); round
# 2 to more than it. Every new line must be sent exactly once, nothing read
# before may come again, and lines appended normally are no truncation.
set -euo pipefail

XRAY=${1:?usage: test_copytruncate.sh LINECAP_XRAY SOCKREC_PY [PYTHON]}
SOCKREC=${2:?usage: test_copytruncate.sh LINECAP_XRAY SOCKREC_PY [PYTHON]}
PY=${3:-python3}
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

log=$work/access.log
rec=$work/rec.out
ts="$(now).123456"
# All lines of a round have the same length and differ by port (lib.sh).
LINE_IP=203.0.113.60
LINE_EMAIL=u@example.com

: >"$log"
start_rec "$rec"
"$XRAY" -s "$sock" --replay 0 "$log" 2>"$err" &
xpid=$!
pids+=("$xpid")
wait_for 10 "the follower to open the log" has_text "$err" "following $log"
wait_for 10 "the connection" has_text "$err" "connected to linecapd"

write_lines 2000 20
expect_lines 2000 20

# copytruncate LINES_FIRST LINES_COUNT: what logrotate does, then Xray
# appends, all while the follower cannot look.
copytruncate() {
	local before after
	before=$(stat -c %s "$log")
	kill -STOP "$xpid"
	cp "$log" "$log.1"
	truncate -s 0 "$log"
	write_lines "$1" "$2"
	after=$(stat -c %s "$log")
	echo "copytruncate: $before bytes read, regrown to $after bytes"
	kill -CONT "$xpid"
}

# ---- 1. regrown to exactly the size that was read ----
copytruncate 2100 20
[ "$(stat -c %s "$log")" -eq "$(stat -c %s "$log.1")" ] ||
	fail "round 1 must regrow to exactly the old size"
expect_lines 2100 20

# ---- 2. regrown to more than that ----
copytruncate 3000 45
expect_lines 3000 45

# ---- 3. plain appends are no truncation ----
for p in 4000 4001 4002; do
	write_lines "$p" 1
	expect_lines "$p" 1
done
sleep 0.5
[ "$(lines_of "$rec")" -eq $((20 + 20 + 45 + 3)) ] ||
	fail "want 88 commands, got $(lines_of "$rec")"
line=$(counters "$xpid" "$err")
expect_counter "$line" truncations 2
expect_counter "$line" lines 88
[ "$(count_text "$err" "was truncated")" -eq 2 ] ||
	fail "want 2 truncation messages"

term_within "$xpid" 1000
no_sanitizer_report "$err"
echo "PASS: copytruncate with the file regrown to the old size and beyond loses no line"
