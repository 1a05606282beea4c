#!/usr/bin/env bash
# Reading and printing big replies (not a test): one local redis-server with a
# 1,000,000-element list and a 100 MB string; rcli and redis-cli fetch each over TCP and
# over the Unix socket, in --raw and --no-raw, to /dev/null, in the same run. Prints the
# best of RUNS wall times per cell and rcli/redis-cli. Target: ≤ 0.5 in every cell.
# Usage: benches/render.sh [rcli-binary]     RUNS=N (default 5)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/ensure-redis.sh
ensure_redis
RUNS="${RUNS:-5}"
RCLI="${1:-}"
if [ -z "$RCLI" ]; then
    cargo build --release --quiet --bin rcli
    RCLI=./target/release/rcli
fi
work="$(mktemp -d)"
port=$(( 21000 + RANDOM % 1000 ))
sock="$work/redis.sock"
redis-server --port "$port" --bind 127.0.0.1 --unixsocket "$sock" --save '' --appendonly no \
    --dir "$work" --logfile "$work/redis.log" --daemonize no --proto-max-bulk-len 512mb &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.05; done
redis-cli -p "$port" eval "for i=1,1000000 do redis.call('rpush','big','value'..i) end" 0 >/dev/null
redis-cli -p "$port" eval "redis.call('set','blob',string.rep('x',100*1024*1024))" 0 >/dev/null

best() { # best wall time of RUNS runs of "$@" > /dev/null
    local best=999 s e t
    for _ in $(seq "$RUNS"); do
        s=$(date +%s.%N); "$@" > /dev/null; e=$(date +%s.%N)
        t=$(awk -v s="$s" -v e="$e" 'BEGIN { printf "%.4f", e - s }')
        best=$(awk -v a="$best" -v b="$t" 'BEGIN { print (b < a) ? b : a }')
    done
    echo "$best"
}
printf '%-22s %-5s %-9s %10s %10s %7s\n' reply conn mode rcli redis-cli ratio
for what in "lrange big 0 -1" "get blob"; do
    for conn in tcp unix; do
        if [ "$conn" = tcp ]; then target=(-p "$port"); else target=(-s "$sock"); fi
        for mode in --raw --no-raw; do
            # shellcheck disable=SC2086
            r=$(best "$RCLI" "${target[@]}" $mode $what)
            # shellcheck disable=SC2086
            c=$(best redis-cli "${target[@]}" $mode $what)
            printf '%-22s %-5s %-9s %9.3fs %9.3fs %7.2f\n' "$what" "$conn" "$mode" "$r" "$c" \
                "$(awk -v r="$r" -v c="$c" 'BEGIN { print r / c }')"
        done
    done
done
