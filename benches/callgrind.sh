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
ensure_redis
command -v valgrind >/dev/null || apt-get install -y -qq valgrind >/dev/null
LINES="${LINES:-200000}"
if [ "$#" -eq 0 ]; then
    cargo build --release --quiet --bin rcli
    set -- ./target/release/rcli
fi
work="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
base=$(( 21000 + RANDOM % 1000 ))
ports=($base $((base + 1)) $((base + 2)))
for p in "${ports[@]}"; do
    redis-server --port "$p" --bind 127.0.0.1 --cluster-enabled yes --cluster-config-file "$work/nodes-$p.conf" \
        --dir "$work" --save '' --appendonly no --logfile "$work/$p.log" --daemonize no &
    pids+=($!)
done
for p in "${ports[@]}"; do
    for _ in $(seq 100); do redis-cli -p "$p" ping >/dev/null 2>&1 && break; sleep 0.05; done
done
redis-cli --cluster create "${ports[@]/#/127.0.0.1:}" --cluster-yes >/dev/null
for _ in $(seq 200); do
    ok=0; for p in "${ports[@]}"; do redis-cli -p "$p" cluster info | grep -q cluster_state:ok && ok=$((ok + 1)); done
    [ "$ok" -eq 3 ] && break; sleep 0.1
done
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
