#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# lc-pcapsplit on the bench traffic (lc-pcapgen bench64): for 2 and 3
# queues, every frame in exactly one file, the client addresses of queue i's
# client file (sources) the same as those of its server file (destinations),
# no address on two queues, and no queue with less than half an even share
# of the frames; with 1 queue, the file itself.
set -euo pipefail

: "${LC_PCAPGEN:?}" "${LC_PCAPSPLIT:?}" "${LC_PCAPRATE:?}" "${LC_PCAPCMP:?}"
T=$(mktemp -d /tmp/lc-pcapsplit.XXXXXX)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$LC_PCAPGEN" bench64 "$T/c.pcap" "$T/s.pcap" --count 2000 > /dev/null
total_c=$("$LC_PCAPCMP" --count "$T/c.pcap" | awk '{ print $1 }')
total_s=$("$LC_PCAPCMP" --count "$T/s.pcap" | awk '{ print $1 }')

# addrs FILE src|dst: the client addresses of a capture, sorted, one a line.
addrs() { "$LC_PCAPRATE" "$1" "$2" | jq -r '.addrs | keys[]' | sort; }

"$LC_PCAPSPLIT" "$T/c.pcap" src 1 "$T/one" > /dev/null
"$LC_PCAPCMP" "$T/c.pcap" "$T/one-0.pcap" > /dev/null || fail "1 queue: not the file itself"

for n in 2 3; do
    rc=$("$LC_PCAPSPLIT" "$T/c.pcap" src "$n" "$T/c$n")
    rs=$("$LC_PCAPSPLIT" "$T/s.pcap" dst "$n" "$T/s$n")
    [ "$(jq '.frames | add' <<<"$rc")" = "$total_c" ] || fail "$n queues: client frames $rc, not $total_c"
    [ "$(jq '.frames | add' <<<"$rs")" = "$total_s" ] || fail "$n queues: server frames $rs, not $total_s"
    [ "$(jq .not_parsed <<<"$rc")" = 0 ] || fail "$n queues: frames not parsed: $rc"
    : > "$T/all$n"
    for ((q = 0; q < n; q++)); do
        [ "$("$LC_PCAPCMP" --count "$T/c$n-$q.pcap" | awk '{ print $1 }')" = "$(jq ".frames[$q]" <<<"$rc")" ] ||
            fail "$n queues: queue $q's file does not hold the frames counted"
        addrs "$T/c$n-$q.pcap" src > "$T/ac"
        addrs "$T/s$n-$q.pcap" dst > "$T/as"
        [ -s "$T/ac" ] || fail "$n queues: queue $q has no client"
        cmp -s "$T/ac" "$T/as" || fail "$n queues: queue $q: the clients of the two directions differ"
        cat "$T/ac" >> "$T/all$n"
        [ "$(jq ".frames[$q] * 2 * $n >= $total_c" <<<"$rc")" = true ] ||
            fail "$n queues: queue $q has $(jq ".frames[$q]" <<<"$rc") of $total_c frames"
    done
    [ -z "$(sort "$T/all$n" | uniq -d)" ] || fail "$n queues: a client on two queues"
    echo "$n queues: client frames $(jq -c .frames <<<"$rc"), server frames $(jq -c .frames <<<"$rs")"
done
echo "ok"
