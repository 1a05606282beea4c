#!/usr/bin/env bash
# CPU cost of reading a 1,000-node cluster's map, in instructions (not a test): runs
# examples/big_map.rs under `valgrind --tool=callgrind` once per step and subtracts the
# cost of generating the replies, then prints the example's own wall-time table (best
# and median of 50 runs). Instruction counts repeat from run to run where wall time
# does not, so they compare builds on a shared, noisy machine.
# Usage: benches/big_map.sh [nodes] [big_map-binary ...]   (default 1000, this tree's build)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { . scripts/ensure-redis.sh; apt_install valgrind; }
NODES="${1:-1000}"
shift || true
if [ "$#" -eq 0 ]; then
    cargo build --release --quiet --example big_map
    set -- "${CARGO_TARGET_DIR:-$PWD/target}/release/examples/big_map"
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
count() { # binary step
    valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" "$1" "$NODES" "$2" > /dev/null 2> "$work/log"
    awk '/^summary:/ { print $2 }' "$work/cg.out"
}
for bin in "$@"; do
    echo "$bin, $NODES nodes: instructions per step (the replies' generation subtracted)"
    base=$(count "$bin" generate)
    shards=$(count "$bin" shards)
    for step in shards slots queries nodes signature; do
        total=$(count "$bin" "$step")
        case "$step" in
            queries) cost=$(( total - shards )) ;; # the queries step builds the map first
            *) cost=$(( total - base )) ;;
        esac
        printf '  %-10s %12d\n' "$step" "$cost"
    done
    "$bin" "$NODES"
done
