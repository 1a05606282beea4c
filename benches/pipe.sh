#!/usr/bin/env bash
# Piping benchmark (not a test): starts a local 3-primary Redis Cluster, then in the same
# run measures
#   rcli -c            1,000,000 "SET key:i value" lines, then 1,000,000 "GET key:i" lines
#   redis-cli -c         100,000 SET lines (extrapolated per command)
#   the ideal client: the same lines pre-routed per node, one redis-cli --pipe per node
#   redis-benchmark --cluster -P 64 -n 1000000 -t set,get   (the ceiling)
# and prints commands/s, the ratios, and rcli's peak RSS (/usr/bin/time -v).
# Usage: benches/pipe.sh [lines]      (default 1000000)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/ensure-redis.sh
. benches/lib.sh
ensure_redis
command -v /usr/bin/time >/dev/null || apt-get install -y -qq time >/dev/null
LINES="${1:-1000000}"
CLI_LINES=$(( LINES / 10 ))
cargo build --release --quiet --bin rcli --example pre_route
RCLI=./target/release/rcli
bench_workdir
bench_cluster3
awk -v n="$LINES" 'BEGIN { for (i = 0; i < n; i++) printf "SET key:%d value\n", i }' > "$work/set.txt"
awk -v n="$LINES" 'BEGIN { for (i = 0; i < n; i++) printf "GET key:%d\n", i }' > "$work/get.txt"
head -n "$CLI_LINES" "$work/set.txt" > "$work/set-cli.txt"
now() { date +%s.%N; }
rate() { awk -v n="$1" -v s="$2" -v e="$3" 'BEGIN { printf "%.0f", n / (e - s) }'; }

s=$(now); /usr/bin/time -v -o "$work/set.time" $RCLI -c -p "$seed" < "$work/set.txt" > "$work/set.out"; e=$(now)
rcli_set=$(rate "$LINES" "$s" "$e")
s=$(now); /usr/bin/time -v -o "$work/get.time" $RCLI -c -p "$seed" < "$work/get.txt" > "$work/get.out"; e=$(now)
rcli_get=$(rate "$LINES" "$s" "$e")
[ "$(grep -c '^OK$' "$work/set.out")" -eq "$LINES" ] || { echo "rcli SET output is wrong" >&2; exit 1; }
[ "$(grep -c '^value$' "$work/get.out")" -eq "$LINES" ] || { echo "rcli GET output is wrong" >&2; exit 1; }
rss_set=$(awk -F: '/Maximum resident/ { gsub(/ /, "", $2); print $2 }' "$work/set.time")
rss_get=$(awk -F: '/Maximum resident/ { gsub(/ /, "", $2); print $2 }' "$work/get.time")

# The same SET lines again: the keys exist now, so the servers overwrite instead of
# inserting, which is what redis-benchmark's single-key SET measures.
s=$(now); $RCLI -c -p "$seed" < "$work/set.txt" > /dev/null; e=$(now)
rcli_set_warm=$(rate "$LINES" "$s" "$e")

# The ideal client: the same lines pre-routed into one RESP file per node
# (examples/pre_route.rs), fed by one `redis-cli --pipe` per node in parallel, so nothing
# is parsed or routed at run time. What it reaches is the most any client could get out
# of this cluster for these lines on this machine. FLUSHALL first: its SETs create the
# keys, as rcli's first run did.
ranges=$(redis-cli -p "$seed" cluster nodes | awk '{ split($2, a, "[:@]"); print a[2] "=" $9 }')
./target/release/examples/pre_route "$work/set" $ranges < "$work/set.txt"
./target/release/examples/pre_route "$work/get" $ranges < "$work/get.txt"
pipe_all() {
    local feeders=()
    for p in "${ports[@]}"; do
        redis-cli -p "$p" --pipe < "$work/$1.$p.resp" > "$work/$1.$p.pipe" &
        feeders+=($!)
    done
    wait "${feeders[@]}"
    for p in "${ports[@]}"; do grep -q '^errors: 0,' "$work/$1.$p.pipe" || { echo "redis-cli --pipe $1 failed on $p" >&2; exit 1; }; done
}
for p in "${ports[@]}"; do redis-cli -p "$p" flushall > /dev/null; done
s=$(now); pipe_all set; e=$(now)
ideal_set=$(rate "$LINES" "$s" "$e")
s=$(now); pipe_all get; e=$(now)
ideal_get=$(rate "$LINES" "$s" "$e")

s=$(now); redis-cli -c -p "$seed" < "$work/set-cli.txt" > /dev/null; e=$(now)
cli_set=$(rate "$CLI_LINES" "$s" "$e")

bench=$(redis-benchmark --cluster -p "$seed" -P 64 -n "$LINES" -t set,get -q 2>/dev/null | tr '\r' '\n' | grep -E '^(SET|GET): [0-9.]+ requests per second')
bench_set=$(echo "$bench" | awk '/^SET:/ { print int($2) }')
bench_get=$(echo "$bench" | awk '/^GET:/ { print int($2) }')
# The command above sends every SET to one key per node; -r spreads them over 1M keys,
# as rcli's input does (new keys cost the servers more).
bench_r=$(redis-benchmark --cluster -p "$seed" -P 64 -n "$LINES" -r "$LINES" -t set,get -q 2>/dev/null | tr '\r' '\n' | grep -E '^(SET|GET): [0-9.]+ requests per second')
bench_r_set=$(echo "$bench_r" | awk '/^SET:/ { print int($2) }')
bench_r_get=$(echo "$bench_r" | awk '/^GET:/ { print int($2) }')

row() { printf '%-50s %12s\n' "$1" "$2"; }
# ratio LABEL A B [NOTE]: prints A / B.
ratio() { awk -v l="$1" -v a="$2" -v b="$3" -v n="${4:-}" 'BEGIN { printf "%-44s %7.2f%s\n", l ":", a / b, n }'; }
row "run ($LINES lines, 3 primaries)" "commands/s"
row "rcli -c < SET lines" "$rcli_set"
row "rcli -c < GET lines" "$rcli_get"
row "rcli -c < SET lines, keys exist" "$rcli_set_warm"
row "ideal: pre-routed, redis-cli --pipe per node, SET" "$ideal_set"
row "ideal: pre-routed, redis-cli --pipe per node, GET" "$ideal_get"
row "redis-cli -c < SET lines ($CLI_LINES lines)" "$cli_set"
row "redis-benchmark --cluster -P 64 SET" "$bench_set"
row "redis-benchmark --cluster -P 64 GET" "$bench_get"
row "redis-benchmark ... -r $LINES SET" "$bench_r_set"
row "redis-benchmark ... -r $LINES GET" "$bench_r_get"
ratio "rcli SET / redis-cli -c SET" "$rcli_set" "$cli_set" "x (target >= 40x)"
ratio "rcli SET / redis-benchmark SET" "$rcli_set" "$bench_set" "  (target >= 0.5)"
ratio "rcli GET / redis-benchmark GET" "$rcli_get" "$bench_get" "  (target >= 0.5)"
ratio "rcli SET (keys exist) / redis-benchmark SET" "$rcli_set_warm" "$bench_set"
ratio "rcli SET / redis-benchmark -r SET" "$rcli_set" "$bench_r_set"
ratio "rcli GET / redis-benchmark -r GET" "$rcli_get" "$bench_r_get"
ratio "rcli SET / ideal pre-routed SET" "$rcli_set" "$ideal_set"
ratio "rcli GET / ideal pre-routed GET" "$rcli_get" "$ideal_get"
ratio "ideal SET / redis-benchmark SET" "$ideal_set" "$bench_set" "  (the most a 0.5 target can get here)"
echo "rcli peak RSS: SET run ${rss_set} KB, GET run ${rss_get} KB (target <= 32768 KB)"
