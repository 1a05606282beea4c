#!/usr/bin/env bash
# Scale benchmark (not a test): rcli against redis-cli on big local clusters, same run.
# Two phases, one cluster alive at a time (gossip of hundreds of nodes is most of what two
# cores can do):
#   1. 100 primaries (no replicas), plus two empty nodes for the rebalance rows;
#   2. 300 nodes: 150 primaries with one replica each.
# In each phase, `--cluster create` is timed for redis-cli and for rcli, each on fresh
# servers (the second cluster is kept), and whether every node agreed on slots and roles
# the moment the tool returned is noted; then, on that cluster: 100k piped SETs (rcli)
# against 10k (redis-cli -c) in keys/s, `--cluster check`, `--cluster info`, `--cluster
# call HOST:PORT DBSIZE`, a one-shot `-c get foo` (hyperfine), fan-out DBSIZE over the
# primaries and over every node against `--cluster call`, `--scan -c`, `--bigkeys -c` and
# `--rdb DIR -c` against redis-cli on each primary one after another, and (phase 1) a
# rebalance after adding an empty primary (redis-cli adds one and rebalances, then rcli
# adds a second and rebalances: the same kind of move, 1/101 and 1/102 of the slots).
# Each row: both wall times, the ratio rcli / redis-cli, and rcli's peak RSS (exact),
# peak threads and open descriptors (sampled every 3 ms from /proc: lower bounds).
# Short rows are the median of RUNS runs (peaks: the largest).
#
# Ports: the first block of free ports in SCALE_PORTS (default 21800-22700) whose bus
# ports (+10000) are free too; every port stays below 22768 so bus ports stay below
# 32768. Every server started is stopped on exit, Ctrl-C included.
# Usage: benches/scale.sh            env: SCALE_PORTS=A-B  NODE_TIMEOUT=ms (60000)
#        SETTLE=s (900: the most to wait for a created cluster to agree)
#        PHASES="100:0:2 300:1:0" (nodes:replicas per primary:spare nodes for the
#        rebalance rows) KEYS=100000 CLI_KEYS=10000 RUNS=3 RCLI=path (else a release build)
#        CREATE_BOTH=no: only rcli creates (its row then has no redis-cli time: the
#        ratio is meaningless), for a rerun of the other rows
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/ensure-redis.sh
ensure_redis
command -v python3 >/dev/null || apt_install python3
command -v hyperfine >/dev/null || apt_install hyperfine || echo "(no hyperfine: one-shot rows timed by a loop)" >&2
command -v ss >/dev/null || apt_install iproute2
PHASES="${PHASES:-100:0:2 300:1:0}"
KEYS="${KEYS:-100000}"
CLI_KEYS="${CLI_KEYS:-10000}"
RUNS="${RUNS:-3}"
NODE_TIMEOUT="${NODE_TIMEOUT:-60000}"
SETTLE="${SETTLE:-900}"
CREATE_BOTH="${CREATE_BOTH:-yes}"
SCALE_PORTS="${SCALE_PORTS:-21800-22700}"
if [ -z "${RCLI:-}" ]; then
    cargo build --release --quiet --bin rcli
    RCLI="${CARGO_TARGET_DIR:-$PWD/target}/release/rcli"
fi
MEASURE="python3 $PWD/benches/scale_measure.py"
AGREE="python3 $PWD/benches/scale_agree.py"
export TERM=dumb

work="$(mktemp -d)"
stop_all() {
    local f pid
    local -a all=()
    # A server removes its pid file as it exits: read them all first.
    for f in "$work"/nodes/*/pid; do
        pid=$(cat "$f" 2>/dev/null) && all+=("$pid")
    done
    for pid in "${all[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${all[@]}"; do
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
        kill -9 "$pid" 2>/dev/null || true
    done
    rm -rf "$work/nodes"
}
trap 'stop_all; rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

# The first BASE in SCALE_PORTS with BASE..BASE+COUNT-1 and their bus ports all free.
pick_base() {
    local count=$1 lo=${SCALE_PORTS%-*} hi=${SCALE_PORTS#*-} base
    ss -Htan | awk '{ n = split($4, a, ":"); print a[n] }' | sort -un > "$work/busy"
    for (( base = lo; base + count <= hi && base + count <= 22768; base += 10 )); do
        if awk -v a="$base" -v b=$(( base + count - 1 )) \
            '($1 >= a && $1 <= b) || ($1 >= a + 10000 && $1 <= b + 10000) { found = 1 } END { exit !found }' "$work/busy"; then
            continue
        fi
        echo "$base"
        return
    done
    echo "no $count free ports (and bus ports) in $SCALE_PORTS" >&2
    exit 1
}

# start_nodes BASE COUNT: fresh cluster-enabled servers, daemonized, pid files in $work.
start_nodes() {
    local p
    for p in $(seq "$1" $(( $1 + $2 - 1 ))); do
        mkdir -p "$work/nodes/$p"
        printf '%s\n' "port $p" "bind 127.0.0.1" "dir $work/nodes/$p" "cluster-enabled yes" \
            "cluster-config-file nodes.conf" "cluster-node-timeout $NODE_TIMEOUT" "appendonly no" 'save ""' \
            "protected-mode no" "repl-diskless-sync-delay 0" "pidfile $work/nodes/$p/pid" \
            "logfile $work/nodes/$p/log" "daemonize yes" > "$work/nodes/$p/redis.conf"
        redis-server "$work/nodes/$p/redis.conf"
    done
    for p in $(seq "$1" $(( $1 + $2 - 1 ))); do
        for _ in $(seq 200); do [ -f "$work/nodes/$p/pid" ] && redis-cli -p "$p" ping >/dev/null 2>&1 && break; sleep 0.05; done
    done
}

addrs() { local p; for p in $(seq "$1" $(( $1 + $2 - 1 ))); do printf '127.0.0.1:%s ' "$p"; done; }
ports() { seq "$1" $(( $1 + $2 - 1 )); }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# measure OUT [--stdin F] -- CMD…: appends "wall rss threads fds exit" to OUT; the
# command's output goes to OUT.log.
measure() {
    local out=$1
    shift
    $MEASURE --stdout "$out.log" "$@" >> "$out"
    local code
    code=$(tail -1 "$out" | awk '{ print $5 }')
    if [ "$code" != 0 ]; then
        echo "failed (exit $code): ${*}" >&2
        tail -5 "$out.log" >&2
    fi
}

header() {
    printf '\n%s\n\n' "$1"
    printf '| workload | rcli | redis-cli | rcli / redis-cli | rcli peak RSS | peak threads | peak fds |\n'
    printf '|---|---|---|---|---|---|---|\n'
}

# row NAME RCLI_FILE CLI_FILE [UNIT]: medians of the wall times, the largest peaks.
row() {
    local name=$1 x=$2 r=$3 tx tr rss threads fds
    tx=$(awk '{ print $1 }' "$x" | median)
    tr=$(awk '{ print $1 }' "$r" | median)
    rss=$(awk '$2 > m { m = $2 } END { printf "%.1f MB", m / 1024 }' "$x")
    threads=$(awk '$3 > m { m = $3 } END { print m + 0 }' "$x")
    fds=$(awk '$4 > m { m = $4 } END { print m + 0 }' "$x")
    printf '| %s | %.3f s | %.3f s | %.2f× | %s | %s | %s |\n' "$name" "$tx" "$tr" \
        "$(awk -v a="$tx" -v b="$tr" 'BEGIN { print a / b }')" "$rss" "$threads" "$fds"
}

# compare NAME RCLI_CMD… ::: REDIS_CMD…  (RUNS runs each, interleaved)
compare() {
    local name=$1 i
    shift
    local -a x=() r=()
    while [ "$1" != ":::" ]; do x+=("$1"); shift; done
    shift
    r=("$@")
    : > "$work/x.txt"; : > "$work/r.txt"
    for i in $(seq "$RUNS"); do
        measure "$work/x.txt" -- "${x[@]}"
        measure "$work/r.txt" -- "${r[@]}"
    done
    row "$name" "$work/x.txt" "$work/r.txt"
}

# slots_of SEED PORT: how many slots the node at PORT serves, as SEED sees it.
slots_of() {
    redis-cli -p "$1" cluster nodes | awk -v a=":$2@" 'index($2, a) {
        for (i = 9; i <= NF; i++) { if ($i ~ /^\[/) continue; k = split($i, r, "-"); n += (k == 1 ? 1 : r[2] - r[1] + 1) } }
        END { print n + 0 }'
}

primaries() { redis-cli -p "$1" cluster nodes | awk '$3 ~ /master/ && $3 !~ /fail/ { split($2, a, "@"); split(a[1], b, ":"); print b[2] }' | sort -n; }

# settle WHOSE BASE N: waits up to SETTLE seconds for the N nodes to agree; notes how
# long it took, or what still differed (the benchmark goes on).
settle() {
    local s e problem
    s=$(date +%s)
    if problem=$($AGREE --wait "$SETTLE" $(ports "$2" "$3")); then
        e=$(date +%s)
        notes+=("$1 cluster of $3 nodes: every node agreed $(( e - s )) s after the create returned")
    else
        notes+=("$1 cluster of $3 nodes: not settled after $SETTLE s: $problem")
    fi
}

# create_row N REPLICAS BASE: redis-cli then rcli, each on fresh servers; rcli's kept.
create_row() {
    local n=$1 replicas=$2 base=$3 extra=$4 agree_r agree_x
    : > "$work/cx.txt"; : > "$work/cr.txt"
    if [ "$CREATE_BOTH" = yes ]; then
        start_nodes "$base" $(( n + extra ))
        measure "$work/cr.txt" -- redis-cli --cluster create $(addrs "$base" "$n") --cluster-replicas "$replicas" --cluster-yes
        agree_r=$($AGREE $(ports "$base" "$n") || true)
        settle "redis-cli's" "$base" "$n"
        stop_all
    else
        agree_r="not run (CREATE_BOTH=no)"
        echo "0 0 0 0 0" > "$work/cr.txt"
    fi
    start_nodes "$base" $(( n + extra ))
    measure "$work/cx.txt" -- "$RCLI" --cluster create $(addrs "$base" "$n") --cluster-replicas "$replicas" --cluster-yes
    agree_x=$($AGREE $(ports "$base" "$n") || true)
    settle "rcli's" "$base" "$n"
    row "\`--cluster create\` $n nodes, replicas $replicas" "$work/cx.txt" "$work/cr.txt"
    notes+=("create of $n nodes (replicas $replicas), every node agreeing on slots and roles when the tool returned: redis-cli: $agree_r; rcli: $agree_x")
}

# A loop of N one-shot runs when hyperfine is missing.
loop_time() { # N CMD…
    local n=$1 s e
    shift
    s=$(date +%s.%N)
    for _ in $(seq "$n"); do "$@" > /dev/null; done
    e=$(date +%s.%N)
    awk -v s="$s" -v e="$e" -v n="$n" 'BEGIN { printf "%.6f", (e - s) / n }'
}

oneshot_row() { # SEED
    local seed=$1 tx tr
    if command -v hyperfine >/dev/null; then
        hyperfine -N --warmup 5 --runs 60 --export-json "$work/hf.json" \
            "$RCLI -c -p $seed get foo" "redis-cli -c -p $seed get foo" > /dev/null 2>&1
        read -r tx tr < <(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"]; print(r[0]["median"], r[1]["median"])' "$work/hf.json")
    else
        tx=$(loop_time 60 "$RCLI" -c -p "$seed" get foo)
        tr=$(loop_time 60 redis-cli -c -p "$seed" get foo)
    fi
    : > "$work/x.txt"
    measure "$work/x.txt" -- "$RCLI" -c -p "$seed" get foo
    awk -v t="$tx" '{ $1 = t; print }' "$work/x.txt" > "$work/x1.txt"
    echo "$tr 0 0 0 0" > "$work/r1.txt"
    row "one-shot \`-c get foo\` (median of 60)" "$work/x1.txt" "$work/r1.txt"
}

# The keys: "SET key:i value" lines, and redis-cli's own (other names).
awk -v n="$KEYS" 'BEGIN { for (i = 0; i < n; i++) printf "SET key:%d value\n", i }' > "$work/sets.txt"
awk -v n="$CLI_KEYS" 'BEGIN { for (i = 0; i < n; i++) printf "SET rkey:%d value\n", i }' > "$work/cli-sets.txt"

workloads() { # SEED NODES WITH_REBALANCE_BASE
    local seed=$1 nodes=$2 spare=${3:-} p
    "$RCLI" -c -p "$seed" ping > /dev/null # fills rcli's on-disk command table cache
    # Piping: keys/s.
    : > "$work/x.txt"; : > "$work/r.txt"
    measure "$work/x.txt" --stdin "$work/sets.txt" -- "$RCLI" -c -p "$seed"
    measure "$work/r.txt" --stdin "$work/cli-sets.txt" -- redis-cli -c -p "$seed"
    local kx kr
    kx=$(awk -v n="$KEYS" '{ printf "%.0f", n / $1 }' "$work/x.txt")
    kr=$(awk -v n="$CLI_KEYS" '{ printf "%.0f", n / $1 }' "$work/r.txt")
    printf '| piped SETs (%d vs %d lines) | %s keys/s | %s keys/s | %.0f× faster | %s | %s | %s |\n' "$KEYS" "$CLI_KEYS" "$kx" "$kr" \
        "$(awk -v a="$kx" -v b="$kr" 'BEGIN { print a / b }')" "$(awk '{ printf "%.1f MB", $2 / 1024 }' "$work/x.txt")" \
        "$(awk '{ print $3 }' "$work/x.txt")" "$(awk '{ print $4 }' "$work/x.txt")"
    compare "\`--cluster check\`" "$RCLI" --cluster check "127.0.0.1:$seed" ::: redis-cli --cluster check "127.0.0.1:$seed"
    compare "\`--cluster info\`" "$RCLI" --cluster info "127.0.0.1:$seed" ::: redis-cli --cluster info "127.0.0.1:$seed"
    compare "\`--cluster call DBSIZE\`" "$RCLI" --cluster call "127.0.0.1:$seed" DBSIZE ::: redis-cli --cluster call "127.0.0.1:$seed" DBSIZE
    oneshot_row "$seed"
    compare "fan-out \`-c --target primaries dbsize\` vs \`call --cluster-only-masters\`" "$RCLI" -c -p "$seed" --target primaries dbsize \
        ::: redis-cli --cluster call "127.0.0.1:$seed" DBSIZE --cluster-only-masters
    compare "fan-out \`-c --target all dbsize\` vs \`--cluster call\`" "$RCLI" -c -p "$seed" --target all dbsize \
        ::: redis-cli --cluster call "127.0.0.1:$seed" DBSIZE
    primaries "$seed" > "$work/primaries"
    local list
    list=$(tr '\n' ' ' < "$work/primaries")
    # Walks of every primary: rcli at once, redis-cli one primary after another.
    local RUNS=1
    compare "\`--scan -c\` vs \`--scan\` per primary" "$RCLI" -c -p "$seed" --scan \
        ::: bash -c "for p in $list; do redis-cli -p \$p --scan; done"
    notes+=("--scan -c at $nodes nodes: rcli listed $(grep -c 'key:' "$work/x.txt.log" || true) keys, redis-cli $(grep -c 'key:' "$work/r.txt.log" || true)")
    compare "\`--bigkeys -c\` vs \`--bigkeys\` per primary" "$RCLI" -c -p "$seed" --bigkeys \
        ::: bash -c "for p in $list; do redis-cli -p \$p --bigkeys; done"
    mkdir -p "$work/rdb-x" "$work/rdb-r"
    compare "\`--rdb DIR -c\` vs \`--rdb FILE\` per primary" "$RCLI" -c -p "$seed" --rdb "$work/rdb-x/" \
        ::: bash -c "for p in $list; do redis-cli -p \$p --rdb $work/rdb-r/\$p.rdb; done"
    notes+=("--rdb: rcli wrote $(ls "$work/rdb-x" | wc -l) files, redis-cli $(ls "$work/rdb-r" | wc -l)")
    rm -rf "$work/rdb-x" "$work/rdb-r"
    if [ -n "$spare" ]; then
        # redis-cli adds the first spare node and rebalances; rcli adds the second and
        # rebalances (the same moves: every primary gives 1/101 or 1/102 of its slots).
        redis-cli --cluster add-node "127.0.0.1:$spare" "127.0.0.1:$seed" > /dev/null
        $AGREE --wait 120 $(ports "$seed" $(( nodes + 1 ))) > /dev/null || true
        : > "$work/r.txt"; : > "$work/x.txt"
        measure "$work/r.txt" -- redis-cli --cluster rebalance "127.0.0.1:$seed" --cluster-use-empty-masters
        $AGREE --wait 120 $(ports "$seed" $(( nodes + 1 ))) > /dev/null || true
        "$RCLI" --cluster add-node "127.0.0.1:$(( spare + 1 ))" "127.0.0.1:$seed" > /dev/null
        $AGREE --wait 120 $(ports "$seed" $(( nodes + 2 ))) > /dev/null || true
        measure "$work/x.txt" -- "$RCLI" --cluster rebalance "127.0.0.1:$seed" --cluster-use-empty-masters
        row "\`--cluster rebalance\` after adding an empty primary" "$work/x.txt" "$work/r.txt"
        notes+=("rebalance: slots held afterwards by the node redis-cli added: $(slots_of "$seed" "$spare"), by the node rcli added: $(slots_of "$seed" $(( spare + 1 )))")
    fi
}

notes=()
echo "rcli: $("$RCLI" --version | head -1); redis-cli: $(redis-cli --version); cluster-node-timeout $NODE_TIMEOUT; $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
for phase in $PHASES; do
    IFS=: read -r n replicas extra <<< "$phase"
    base=$(pick_base $(( n + extra )))
    header "$n nodes ($(( n / (replicas + 1) )) primaries, $replicas replica each), ports $base-$(( base + n + extra - 1 ))"
    create_row "$n" "$replicas" "$base" "$extra"
    if [ "$extra" -gt 0 ]; then workloads "$base" "$n" $(( base + n )); else workloads "$base" "$n"; fi
    stop_all
done
printf '\n'
for note in "${notes[@]}"; do printf -- '- %s\n' "$note"; done
