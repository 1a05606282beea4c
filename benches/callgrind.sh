#!/usr/bin/env bash
# CPU cost of piping, counted in instructions (not a test): starts a local 3-primary
# cluster and runs `valgrind --tool=callgrind` on rcli piping 200,000 fresh
# "SET key:i value" lines (FLUSHALL before each run). Instruction counts repeat from run
# to run where wall time does not, so they compare builds on a shared, noisy machine.
# Usage: benches/callgrind.sh [rcli-binary ...]   (default: this tree's release build)
#        LINES=N to change the line count.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/ensure-redis.sh
. benches/lib.sh
ensure_redis
command -v valgrind >/dev/null || apt-get install -y -qq valgrind >/dev/null
LINES="${LINES:-200000}"
if [ "$#" -eq 0 ]; then
    cargo build --release --quiet --bin rcli
    set -- ./target/release/rcli
fi
bench_workdir
bench_cluster3
awk -v n="$LINES" 'BEGIN { for (i = 0; i < n; i++) printf "SET key:%d value\n", i }' > "$work/set.txt"
for bin in "$@"; do
    # A warm-up run fills the on-disk command-table cache, as for a user.
    "$bin" -c -p "${ports[0]}" ping >/dev/null
    for p in "${ports[@]}"; do redis-cli -p "$p" flushall >/dev/null; done
    valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" "$bin" -c -p "${ports[0]}" \
        < "$work/set.txt" > "$work/set.out" 2> "$work/valgrind.log"
    [ "$(grep -c '^OK$' "$work/set.out")" -eq "$LINES" ] || { echo "$bin: wrong output" >&2; exit 1; }
    total=$(awk '/^summary:/ { print $2 }' "$work/cg.out")
    printf '%-40s %12s instructions  %6s per line\n' "$bin" "$total" "$(( total / LINES ))"
done
