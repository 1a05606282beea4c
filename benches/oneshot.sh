#!/usr/bin/env bash
# One-shot latency in cluster mode (not a test): starts a local 3-primary cluster and, in
# the same run, times `-c get foo` (foo lives on the third node, the seed is the first, so
# redis-cli -c needs its MOVED hop) with hyperfine -N for
#   redis-cli -c
#   rcli --no-map-cache   (one start-up exchange on the seed, then the owner)
#   rcli                  (the slot map cached on disk: the owner proves its id, answers)
#   $BEFORE               (an older rcli build, if given: BEFORE=/path/to/rcli)
# in ROUNDS rounds of BLOCK runs each, the order of the commands turned every round, so
# that a noisy machine weighs on all of them alike; prints each one's median and min over
# every run, and the ratio of medians against redis-cli -c (docs/performance.md).
# Usage: benches/oneshot.sh [rounds] [block]     (defaults 12 and 25; BENCH_PORT_BASE=N puts
# the cluster on ports N..N+2)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/ensure-redis.sh
. benches/lib.sh
ensure_redis
command -v hyperfine >/dev/null || { echo "benches/oneshot.sh needs hyperfine" >&2; exit 1; }
ROUNDS="${1:-12}"
BLOCK="${2:-25}"
cargo build --release --quiet --bin rcli
RCLI="${CARGO_TARGET_DIR:-$PWD/target}/release/rcli"
bench_workdir
bench_cluster3
redis-cli -c -p "$seed" set foo bar >/dev/null
mkdir -p "$work/cached" "$work/uncached" "$work/before"
# Warm the caches (the command table, the slot map) the way a user's second run finds them.
for _ in 1 2; do
    XDG_CACHE_HOME="$work/cached" "$RCLI" -c -p "$seed" get foo >/dev/null
    XDG_CACHE_HOME="$work/uncached" "$RCLI" --no-map-cache -c -p "$seed" get foo >/dev/null
    [ -n "${BEFORE:-}" ] && XDG_CACHE_HOME="$work/before" "$BEFORE" -c -p "$seed" get foo >/dev/null
done
names=("redis-cli -c" "rcli --no-map-cache" "rcli (map cached)")
cmds=("redis-cli -c -p $seed get foo"
      "env XDG_CACHE_HOME=$work/uncached $RCLI --no-map-cache -c -p $seed get foo"
      "env XDG_CACHE_HOME=$work/cached $RCLI -c -p $seed get foo")
if [ -n "${BEFORE:-}" ]; then
    names+=("rcli before"); cmds+=("env XDG_CACHE_HOME=$work/before $BEFORE -c -p $seed get foo")
fi
n=${#cmds[@]}
for r in $(seq "$ROUNDS"); do
    args=()
    for i in $(seq 0 $((n - 1))); do
        k=$(( (i + r) % n ))
        args+=(-n "${names[$k]}" "${cmds[$k]}")
    done
    hyperfine -N --warmup 3 --runs "$BLOCK" --export-json "$work/round-$r.json" "${args[@]}" >/dev/null 2>&1
done
python3 - "$work" <<'PY'
import glob, json, statistics, sys
times = {}
for path in glob.glob(sys.argv[1] + "/round-*.json"):
    for result in json.load(open(path))["results"]:
        times.setdefault(result["command"], []).extend(result["times"])
base = statistics.median(times["redis-cli -c"])
print(f"{'one-shot -c get foo':24s} {'median':>9s} {'min':>9s} {'runs':>5s}  vs redis-cli -c")
for name, t in sorted(times.items(), key=lambda kv: statistics.median(kv[1])):
    med = statistics.median(t)
    print(f"{name:24s} {med*1000:7.2f} ms {min(t)*1000:7.2f} ms {len(t):5d}  {med/base:.2f}x")
PY
