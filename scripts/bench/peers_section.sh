# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# The peers section of bench.sh (only with --peers DPDK_TREE): linecapd
# beside DPDK's examples/qos_sched and dpdk-testpmd on the same QinQ
# traffic, not limiting and with every user limited, for each number of
# users in PEER_USERS. The runs are the peer tool's, in ../shared/peers
# beside the project (PEERS_DIR), which builds qos_sched from the given
# DPDK 22.11 tree under the work folder: nothing of it is committed here.

peers_section() {
    local u dir table
    if [ ! -x "$PEERS_DIR/peers.sh" ]; then
        say "[peers] $PEERS_DIR/peers.sh not found: skipped"
        put .peers.skipped '"the peer tool is not at hand"'
        return 0
    fi
    for u in "${PEER_USERS[@]}"; do
        dir=$W/peers-$u
        say "[peers] $u users: testpmd, linecapd and qos_sched, not limiting and limiting"
        "$PEERS_DIR/peers.sh" "$PEER_SRC" --build "$B" --work "$dir" --users "$u" \
            --rounds "$PEER_ROUNDS" --traffic 64 --no-wait > "$dir.txt" 2> "$dir.log" ||
            { say "  the peer tool failed: $(tail -3 "$dir.log" | tr '\n' ' ')"; continue; }
        table=$(cat "$dir.txt")
        printf '%s\n' "$table" >&2
        put ".peers.u$u" "$(jq -c --arg t "$table" \
            '{runs: .runs, users: .args.users, rounds: .args.rounds, table: $t}' "$dir/results.json")"
    done
}

# The peak-peer section (only with --peers DPDK_TREE): the peak matrix of
# S users at their limits for linecapd and qos_sched side by side, on the
# peer tool's QinQ traffic of 10,000 users (scripts/bench/peak_peer.py).
# qos_sched is built from the given tree under the work folder, as the
# peer tool builds it.
peakpeer_section() {
    local dir=$W/peak-peer s
    if [ ! -f "$PEERS_DIR/perflib.py" ] || [ ! -f "$PEERS_DIR/qos_sched-perf.patch" ]; then
        say "[peak-peer] the peer tool is not at hand in $PEERS_DIR: skipped"
        put .peak_peer.skipped '"the peer tool is not at hand"'
        return 0
    fi
    mkdir -p "$dir"
    cp -r "$PEER_SRC/examples/qos_sched" "$dir/qos_sched"
    patch -s -d "$dir/qos_sched" -p1 < "$PEERS_DIR/qos_sched-perf.patch" &&
        make -s -C "$dir/qos_sched" > "$dir/build.log" 2>&1 ||
        { say "[peak-peer] qos_sched did not build: $(tail -3 "$dir/build.log" | tr '\n' ' ')"; return 0; }
    s=$(IFS=,; echo "${PEAK_S[*]}")
    say "[peak-peer] S = $s: linecapd and qos_sched, a reference and S users limited each"
    python3 "$ROOT/scripts/bench/peak_peer.py" --peers "$PEERS_DIR" \
        --qos-sched "$dir/qos_sched/build/qos_sched" --build "$B" --work "$dir" --S "$s" \
        --json "$dir/results.json" > "$dir.txt" 2> "$dir.log" ||
        { say "  peak_peer.py failed: $(tail -3 "$dir.log" | tr '\n' ' ')"; return 0; }
    cat "$dir.txt" >&2
    put .peak_peer "$(jq -c --arg t "$(cat "$dir.txt")" '{runs: .runs, table: $t}' "$dir/results.json")"
}
