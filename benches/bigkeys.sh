#!/usr/bin/env bash
# --bigkeys benchmark (not a test): starts a local 3-primary Redis Cluster, loads KEYS keys
# (default 1,000,000: strings of 1-100 bytes, and every 50th key a list, hash, set or
# zset), then in the same run times
#   rcli -c --bigkeys                          every primary at once
#   redis-cli --bigkeys -p P, for each primary one after another (what you do without rcli)
# and the same pair for --memkeys, prints wall times and the ratio (target: rcli <= 0.5x),
# and checks that rcli's biggest key of each type is the biggest of redis-cli's per-node
# reports.
# Usage: benches/bigkeys.sh [keys]      (default 1000000)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/ensure-redis.sh
. benches/lib.sh
ensure_redis
KEYS="${1:-1000000}"
cargo build --release --quiet --bin rcli
RCLI=./target/release/rcli
bench_workdir
bench_cluster3
awk -v n="$KEYS" 'BEGIN {
    pad = "vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv"
    for (i = 0; i < n; i++) {
        kind = (i % 50 == 0) ? (i / 50) % 4 : -1
        m = 1 + (i * 7919) % 9
        if (kind == 0) { printf "RPUSH list:%d", i; for (j = 0; j < m; j++) printf " e%d", j; print "" }
        else if (kind == 1) { printf "HSET hash:%d", i; for (j = 0; j < m; j++) printf " f%d v", j; print "" }
        else if (kind == 2) { printf "SADD set:%d", i; for (j = 0; j < m; j++) printf " m%d", j; print "" }
        else if (kind == 3) { printf "ZADD zset:%d", i; for (j = 0; j < m; j++) printf " %d m%d", j, j; print "" }
        else printf "SET key:%d %s\n", i, substr(pad, 1, 1 + (i * 31) % 100)
    }
}' > "$work/load.txt"
$RCLI -c -p "$seed" < "$work/load.txt" > /dev/null
total=0
for p in "${ports[@]}"; do total=$(( total + $(redis-cli -p "$p" dbsize) )); done
[ "$total" -eq "$KEYS" ] || { echo "loaded $total keys, not $KEYS" >&2; exit 1; }

now() { date +%s.%N; }
secs() { awk -v s="$1" -v e="$2" 'BEGIN { printf "%.2f", e - s }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

measure() {
    local mode=$1
    s=$(now); $RCLI -c -p "$seed" "$mode" > "$work/rcli$mode.txt" 2>/dev/null; e=$(now)
    rcli_s=$(secs "$s" "$e")
    # The same with redis-cli's pages (SCAN's default COUNT of 10): parallel nodes and
    # pipelining alone.
    s=$(now); $RCLI -c -p "$seed" "$mode" --count 10 > /dev/null 2>&1; e=$(now)
    rcli10_s=$(secs "$s" "$e")
    s=$(now)
    for p in "${ports[@]}"; do redis-cli -p "$p" "$mode" > "$work/cli$mode.$p.txt"; done
    e=$(now)
    cli_s=$(secs "$s" "$e")
    printf '%-10s rcli -c: %6s s (with --count 10: %6s s)   redis-cli per primary, in turn: %6s s   ratio %s (%s)\n' \
        "$mode" "$rcli_s" "$rcli10_s" "$cli_s" "$(ratio "$rcli_s" "$cli_s")" "$(ratio "$rcli10_s" "$cli_s")"
}

echo "$KEYS keys on 3 primaries ($(nproc) cores)"
measure --bigkeys
measure --memkeys

# rcli's biggest key of each type must be the biggest in redis-cli's per-node summaries.
for kind in string list hash set zset; do
    best=$(cat "$work"/cli--bigkeys.*.txt | awk -v t="$kind" '$1 == "Biggest" && $2 == t && $3 == "found" { print $6, $4 }' \
        | sort -n | tail -1 | cut -d' ' -f1)
    ours=$(awk -v t="$kind" '/^-------- summary/ { s = 1 } s && $1 == "Biggest" && $2 == t && $3 == "found" { print $6 }' \
        "$work/rcli--bigkeys.txt")
    [ "$best" = "$ours" ] || { echo "biggest $kind: redis-cli says $best, rcli says $ours" >&2; exit 1; }
done
echo "biggest keys agree with redis-cli's per-node reports"
