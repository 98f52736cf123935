#!/usr/bin/env bash
# Prometheus metrics ([metrics] listen): GET /metrics while the load of the
# shaping tests is replayed in a loop.
#
#   scrape      the page moves with the traffic, agrees with `stats` and
#               `user get`, escapes label values, and passes
#               `promtool check metrics`
#   bad-input   other paths, methods, queries, a long URL, a flood of
#               connections and more scrapes than allowed: 404, 405, 414
#               or 503 as fits, never a crash, and scrapes work after
#   prometheus  the Prometheus server scrapes linecapd every second; its
#               rate() of a user's bytes is what linecapd's own counters
#               give over the same time
#
# The output captures go to /dev/null: the replay runs as fast as it can,
# for many seconds.
. "$(dirname "$0")/lib.sh"

case_name=${1:?usage: test_metrics.sh scrape|bad-input|prometheus}

command -v curl > /dev/null || fail "curl not found (package curl)"
CIN=$WORK/client.pcap
SIN=$WORK/server.pcap
ALICE=alice@example.com
# An email with the characters the format escapes (a line feed is not
# allowed in an email).
ODD='o"hara\x@example.com'
ODD_LABEL='o\"hara\\x@example.com'
PROM_PID=

# Prometheus, then lib.sh's cleanup with the test's status. set +e first:
# under set -e, the (exit $rc) that hands the status on would end the trap
# before linecapd is killed.
metrics_cleanup() {
    local rc=$?
    set +e
    if [ -n "$PROM_PID" ]; then
        kill "$PROM_PID" 2> /dev/null
        wait "$PROM_PID" 2> /dev/null
    fi
    (exit $rc)
    lc_cleanup
}
trap metrics_cleanup EXIT INT TERM

PORT=$(lc_free_port)
URL=http://127.0.0.1:$PORT/metrics

"$LC_PCAPGEN" load "$CIN" "$SIN" --count 20 > /dev/null
lc_write_conf "$WORK/lc.conf" \
    "[eal]" \
    "args = --no-huge -m 512 --no-pci -l 0,1 --file-prefix=lc-$$ --log-level=warning" \
    "args = --vdev=net_pcap0,rx_pcap=$CIN,tx_pcap=/dev/null,infinite_rx=1" \
    "args = --vdev=net_pcap1,rx_pcap=$SIN,tx_pcap=/dev/null,infinite_rx=1" \
    "[wire]" "mbufs = 8192" "autostart = no" \
    "[flows]" "capacity = 65536" \
    "[users]" "capacity = 4096" "state_file = $WORK/users.conf" \
    "[mgmt]" "socket = $LC_SOCK" \
    "[shaper]" "port_rate = 10gbit" \
    "[metrics]" "listen = 127.0.0.1:$PORT"
lc_start "$WORK/lc.conf"
grep -q "metrics: serving $URL" "$LC_LOG" || fail "no 'metrics: serving' line in the log"

printf '%s\n' "plan set gold total=50mbit weight=4" \
    "user set $ALICE up=5mbit down=8mbit plan=gold" "assign $ALICE 10.1.0.1" \
    "user set $ODD up=1mbit down=2mbit" "assign $ODD 10.1.0.2 node=node-x" |
    lc_ctl - | jq -se 'all(.ok)' > /dev/null || fail "users not set"
[ "$(lc_ctl start | jq -r .receiving)" = true ] || fail "start"

# scrape FILE: GET /metrics into FILE; fails unless 200.
scrape() {
    local code
    code=$(curl -sS -o "$1" -w '%{http_code}' --max-time 30 "$URL") ||
        fail "curl $URL"
    [ "$code" = 200 ] || fail "GET /metrics: HTTP $code"
}

# value FILE SERIES: the value of one series, written as in the page
# (name{labels}), or fails.
value() {
    local v
    # By ENVIRON: awk -v would take the backslashes of a label as escapes.
    v=$(S=$2 awk 'index($0, ENVIRON["S"] " ") == 1 { print $2 }' "$1")
    [ -n "$v" ] || fail "no series $2 in the page"
    echo "$v"
}

alice_down() {
    echo "linecap_user_bytes_total{user=\"$ALICE\",direction=\"down\"}"
}

case $case_name in
scrape)
    scrape "$WORK/m1.txt"
    sleep 1
    scrape "$WORK/m2.txt"
    headers=$(curl -sS -D - -o /dev/null "$URL")
    grep -qi '^content-type: text/plain; version=0.0.4' <<<"$headers" ||
        fail "Content-Type: $headers"
    echo "ok: Content-Type is the text format 0.0.4"

    # Values move with the traffic.
    for s in 'linecap_port_rx_packets_total{port="client"}' \
             'linecap_port_rx_bytes_total{port="server"}' \
             'linecap_worker_packets_total' \
             "$(alice_down)" \
             "linecap_user_packets_total{user=\"$ALICE\",direction=\"up\"}" \
             "linecap_user_bytes_total{user=\"$ODD_LABEL\",direction=\"down\"}" \
             'linecap_shaper_dequeued_packets_total{direction="down"}'; do
        a=$(value "$WORK/m1.txt" "$s")
        b=$(value "$WORK/m2.txt" "$s")
        [ "$b" -gt "$a" ] || fail "$s did not move: $a then $b"
        echo "ok: $s moved from $a to $b"
    done
    # Limits, flows, users, the state.
    expect_eq "$(value "$WORK/m2.txt" "linecap_user_limit_bits_per_second{user=\"$ALICE\",direction=\"down\"}")" \
        8000000 "alice's download limit"
    expect_eq "$(value "$WORK/m2.txt" "linecap_user_limit_bits_per_second{user=\"$ODD_LABEL\",direction=\"up\"}")" \
        1000000 "the escaped user's upload limit"
    expect_eq "$(value "$WORK/m2.txt" "linecap_user_flows{user=\"$ALICE\"}")" 4 "alice's flows"
    expect_eq "$(value "$WORK/m2.txt" 'linecap_users{kind="static"}')" 2 "static users"
    expect_eq "$(value "$WORK/m2.txt" 'linecap_scrape_worker_answered')" 1 "the worker answered"
    expect_eq "$(value "$WORK/m2.txt" 'linecap_flows_active')" 44 "active flows"
    expect_eq "$(value "$WORK/m2.txt" 'linecap_assignments_ip_wide')" 2 "IP-wide assignments"
    expect_eq "$(value "$WORK/m2.txt" 'linecap_node_assigns_total{node="node-x"}')" 1 \
        "assignments through node-x"
    expect_eq "$(value "$WORK/m2.txt" 'linecap_node_followers{node="node-x"}')" 0 \
        "followers of node-x"
    # Plans: alice's, whose bytes are hers alone.
    expect_eq "$(value "$WORK/m2.txt" 'linecap_plan_users{plan="gold"}')" 1 "gold's users"
    expect_eq "$(value "$WORK/m2.txt" 'linecap_plan_weight{plan="gold"}')" 4 "gold's weight"
    expect_eq "$(value "$WORK/m2.txt" 'linecap_plan_total_bps{plan="gold",direction="down"}')" \
        50000000 "gold's download total"
    expect_eq "$(value "$WORK/m2.txt" 'linecap_plan_bytes_total{plan="gold",direction="down"}')" \
        "$(value "$WORK/m2.txt" "$(alice_down)")" "gold's bytes are alice's"
    grep -q '^linecap_info{version=".*",mode="inline",state="present"} 1$' "$WORK/m2.txt" ||
        fail "linecap_info: $(grep '^linecap_info' "$WORK/m2.txt")"
    echo "ok: linecap_info"
    for r in rx_missed rx_nombuf rx_errors tx_full; do
        value "$WORK/m2.txt" "linecap_port_drops_total{port=\"client\",reason=\"$r\"}" > /dev/null
    done
    echo "ok: drops by reason, the device's too"

    # The same numbers as the management socket, stopped so that they hold.
    [ "$(lc_ctl stop | jq -r .receiving)" = false ] || fail "stop"
    sleep 0.5
    scrape "$WORK/m3.txt"
    st=$(lc_ctl stats)
    u=$(lc_ctl user get "$ALICE")
    expect_eq "$(value "$WORK/m3.txt" 'linecap_port_rx_bytes_total{port="client"}')" \
        "$(jq .ports.client.rx_bytes <<<"$st")" "client rx_bytes as in stats"
    expect_eq "$(value "$WORK/m3.txt" 'linecap_flows_created_total')" \
        "$(jq .flows.created <<<"$st")" "flows created as in stats"
    expect_eq "$(value "$WORK/m3.txt" "$(alice_down)")" \
        "$(jq .user.counters.down.bytes <<<"$u")" "alice's download bytes as in user get"
    expect_eq "$(value "$WORK/m3.txt" "linecap_user_drops_total{user=\"$ALICE\",direction=\"down\"}")" \
        "$(jq .user.counters.down.drops <<<"$u")" "alice's download drops as in user get"

    # Each family once, its samples together: what promtool checks, and
    # its lint (names, units, _total) on top. The lint wants every unit in
    # bytes; the user's limit is in bits per second on purpose, as every
    # rate linecap is given or shows is, and is the one thing it may say.
    if command -v promtool > /dev/null; then
        promtool check metrics < "$WORK/m2.txt" > "$WORK/promtool.out" 2>&1 || true
        grep -v '^linecap_user_limit_bits_per_second use base unit "bytes" instead of "bits"$' \
            "$WORK/promtool.out" > "$WORK/promtool.rest" || true
        [ ! -s "$WORK/promtool.rest" ] ||
            fail "promtool check metrics: $(head -20 "$WORK/promtool.rest")"
        echo "ok: promtool check metrics: $(cat "$WORK/promtool.out" || true)"
    else
        echo "note: promtool not found (package prometheus): the format is checked by grep only"
    fi
    expect_eq "$(grep -c '^# TYPE linecap_user_bytes_total counter$' "$WORK/m2.txt")" 1 \
        "one TYPE line per family"
    lc_stop
    ;;

bad-input)
    # code ARGS...: the HTTP status of a curl request.
    code() {
        curl -sS -o /dev/null -w '%{http_code}' --max-time 30 "$@" || echo "curl-failed"
    }
    expect_eq "$(code "http://127.0.0.1:$PORT/")" 404 "GET /"
    expect_eq "$(code "http://127.0.0.1:$PORT/metricsx")" 404 "GET /metricsx"
    expect_eq "$(code "http://127.0.0.1:$PORT/metrics/")" 404 "GET /metrics/"
    expect_eq "$(code "http://127.0.0.1:$PORT/metrics?x")" 200 "GET /metrics?x (the query is ignored)"
    expect_eq "$(code "http://127.0.0.1:$PORT/metrics?a=%00&b=%ff")" 200 "GET /metrics with odd query bytes"
    expect_eq "$(code -X POST --data 'x=1' "$URL")" 405 "POST /metrics"
    expect_eq "$(code -X PUT --data-binary @"$CIN" "$URL")" 405 "PUT of 3 MB"
    expect_eq "$(code -X DELETE "$URL")" 405 "DELETE"
    expect_eq "$(code -I "$URL")" 200 "HEAD"
    long=$(head -c 100000 /dev/zero | tr '\0' a)
    c=$(code "$URL?$long")
    case $c in
    414|431|400) echo "ok: a URL of 100 kB gets $c" ;;
    *) fail "a URL of 100 kB: HTTP $c" ;;
    esac
    # Not HTTP at all, and a request cut in the middle.
    printf 'garbage\r\n\r\n' | timeout 5 python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(sys.stdin.buffer.read()); s.settimeout(5)
print(s.recv(100)[:12])' "$PORT" || true
    printf 'GET /metr' | timeout 5 python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(sys.stdin.buffer.read()); s.close()' "$PORT"

    # A flood of scrapes: 100 at once. Each gets a whole page or 503 (more
    # than 4 in progress), never a page cut short.
    python3 - "$PORT" > "$WORK/flood.txt" <<'PY' || fail "flood: $(tail -5 "$WORK/flood.txt")"
import socket, sys, threading
port = int(sys.argv[1])
codes = {}
lock = threading.Lock()
def scrape():
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=60)
        s.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
        data = b""
        while True:
            b = s.recv(65536)
            if not b:
                break
            data += b
        code = data[9:12].decode() if data else "closed"
        # The last family is the users' flows; a whole page ends with a line.
        if code == "200" and (b"# TYPE linecap_user_flows gauge" not in data
                              or not data.endswith(b"\n")):
            code = "200-cut"
    except OSError as e:
        code = type(e).__name__
    with lock:
        codes[code] = codes.get(code, 0) + 1
ts = [threading.Thread(target=scrape) for _ in range(100)]
for t in ts: t.start()
for t in ts: t.join()
print(codes)
sys.exit(0 if set(codes) <= {"200", "503"} and "200" in codes else 1)
PY
    echo "ok: 100 scrapes at once: $(cat "$WORK/flood.txt")"

    # A flood of connections that say nothing: 300 held for 2 s. linecapd
    # goes on answering its socket meanwhile; once they are gone, a scrape
    # works again (it may wait for the idle ones in the backlog to close).
    python3 - "$PORT" "$LINECAPCTL" "$LC_SOCK" > "$WORK/idle.txt" <<'PY' || fail "idle flood: $(tail -5 "$WORK/idle.txt")"
import socket, subprocess, sys, time
port, ctl, sock = int(sys.argv[1]), sys.argv[2], sys.argv[3]
idle = []
for _ in range(300):
    try:
        idle.append(socket.create_connection(("127.0.0.1", port), timeout=5))
    except OSError:
        pass
time.sleep(1)
ping = subprocess.run([ctl, "-s", sock, "ping"], capture_output=True, timeout=10)
time.sleep(1)
for s in idle:
    s.close()
print(len(idle), "connections held; ping while held:", ping.returncode)
sys.exit(ping.returncode)
PY
    echo "ok: $(cat "$WORK/idle.txt")"
    lc_ping || fail "linecapd does not answer after the flood"
    scrape "$WORK/after.txt"
    value "$WORK/after.txt" "$(alice_down)" > /dev/null
    grep -q '^linecap_user_flows{user=' "$WORK/after.txt" || fail "page after the flood cut short"
    echo "ok: scrapes work after the flood"
    kill -0 "$LC_PID" || fail "linecapd died"
    LC_STOP_CHECK=1
    lc_stop
    grep -i "metrics:" "$LC_LOG" | head -5
    echo "ok: linecapd stopped cleanly"
    ;;

prometheus)
    command -v prometheus > /dev/null || {
        echo "SKIP: the Prometheus server is not installed (Debian package prometheus; scripts/install-deps.sh installs it)"
        exit 77
    }
    command -v jq > /dev/null || fail "jq not found"
    PPORT=$(lc_free_port)
    mkdir -p "$WORK/tsdb"
    cat > "$WORK/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: linecap
    static_configs:
      - targets: ['127.0.0.1:$PORT']
EOF
    prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/tsdb" \
        --web.listen-address="127.0.0.1:$PPORT" --log.level=warn \
        > "$WORK/prometheus.log" 2>&1 &
    PROM_PID=$!
    API=http://127.0.0.1:$PPORT/api/v1

    # query EXPR: the first value of an instant query, or empty.
    query() {
        curl -sS --max-time 5 -G "$API/query" --data-urlencode "query=$1" 2>/dev/null |
            jq -r '.data.result[0].value[1] // empty' 2>/dev/null || true
    }

    # Alice's download bytes by the management socket, before and after.
    t0=$(date +%s.%N)
    b0=$(lc_ctl user get "$ALICE" | jq .user.counters.down.bytes)
    up=
    for _ in $(seq 1 60); do
        kill -0 "$PROM_PID" 2> /dev/null ||
            fail "prometheus exited: $(tail -5 "$WORK/prometheus.log")"
        up=$(query "count_over_time(up{job=\"linecap\"}[1m])")
        [ -n "$up" ] && [ "$up" -ge 8 ] && break
        sleep 1
    done
    [ -n "$up" ] && [ "$up" -ge 8 ] || fail "prometheus scraped $up times in 60 s"
    expect_eq "$(query 'min_over_time(up{job="linecap"}[1m])')" 1 "every scrape succeeded"
    t1=$(date +%s.%N)
    b1=$(lc_ctl user get "$ALICE" | jq .user.counters.down.bytes)
    ours=$(awk -v a="$b0" -v b="$b1" -v s="$t0" -v e="$t1" 'BEGIN { printf "%.0f", (b - a) / (e - s) }')
    theirs=$(query "rate(linecap_user_bytes_total{user=\"$ALICE\",direction=\"down\"}[5s])")
    [ -n "$theirs" ] || fail "no rate of alice's bytes in prometheus"
    echo "alice down: $ours B/s by the management socket, $theirs B/s by prometheus"
    awk -v o="$ours" -v t="$theirs" 'BEGIN { exit !(o > 0 && t > 0 && t > o / 2 && t < o * 2) }' ||
        fail "prometheus's rate $theirs B/s is not within a factor 2 of $ours B/s"
    echo "ok: prometheus's rate of alice's bytes is near linecapd's"
    # The escaped email is one series, found by its own value.
    odd=$(curl -sS -G "$API/series" --data-urlencode "match[]=linecap_user_flows{user=\"o\\\"hara\\\\x@example.com\"}" |
          jq -r '.data[0].user // empty')
    expect_eq "$odd" "$ODD" "the escaped email as prometheus stores it"
    expect_eq "$(query "linecap_user_limit_bits_per_second{user=\"$ALICE\",direction=\"up\"}")" \
        5000000 "alice's upload limit in prometheus"
    lc_stop
    ;;
*)
    fail "unknown case $case_name"
    ;;
esac
echo "PASS: metrics $case_name"
