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
