#!/usr/bin/env bash
# TLS benchmark (not a test): makes a throwaway CA and a node certificate (openssl CLI),
# starts a local TLS-only 3-primary Redis Cluster (tls-port, tls-cluster yes), then in the
# same run measures
#   one-shot latency: N runs of `PING` and of `-c GET foo`, rcli --tls against redis-cli --tls
#                     (interleaved run by run)
#   piping: rcli -c --tls with 1,000,000 "SET key:i value" lines, redis-cli -c --tls with
#           100,000 (extrapolated per command)
# and prints the figures and the same-run ratios against the targets rcli keeps without
# TLS (one-shot <= 0.8x redis-cli's time, piping >= 40x redis-cli -c).
# Usage: benches/tls.sh [lines] [one-shot runs]     (defaults 1000000 and 200)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/ensure-redis.sh
. benches/lib.sh
ensure_redis
command -v openssl >/dev/null || { echo "benches/tls.sh needs the openssl CLI (apt-get install openssl)" >&2; exit 1; }
LINES="${1:-1000000}"
RUNS="${2:-200}"
CLI_LINES=$(( LINES / 10 ))
cargo build --release --quiet --bin rcli
RCLI=./target/release/rcli
bench_workdir

# Certificates: a CA and one v3 node certificate for 127.0.0.1 and localhost.
openssl req -x509 -new -nodes -newkey rsa:2048 -keyout "$work/ca.key" -out "$work/ca.crt" -days 2 \
    -subj "/CN=rcli bench CA" 2>/dev/null
openssl req -new -nodes -newkey rsa:2048 -keyout "$work/node.key" -out "$work/node.csr" -subj "/CN=localhost" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n' > "$work/san.ext"
openssl x509 -req -in "$work/node.csr" -CA "$work/ca.crt" -CAkey "$work/ca.key" -CAcreateserial \
    -out "$work/node.crt" -days 2 -extfile "$work/san.ext" 2>/dev/null

base=$(( 21000 + RANDOM % 1000 ))
ports=($base $((base + 1)) $((base + 2)))
for p in "${ports[@]}"; do
    redis-server --port 0 --tls-port "$p" --bind 127.0.0.1 --tls-cluster yes --tls-replication yes \
        --tls-cert-file "$work/node.crt" --tls-key-file "$work/node.key" --tls-ca-cert-file "$work/ca.crt" \
        --tls-auth-clients no --cluster-enabled yes --cluster-config-file "$work/nodes-$p.conf" \
        --dir "$work" --save '' --appendonly no --logfile "$work/$p.log" --daemonize no &
    pids+=($!)
done
CLI=(redis-cli --tls --cacert "$work/ca.crt")
for p in "${ports[@]}"; do
    for _ in $(seq 100); do "${CLI[@]}" -p "$p" ping >/dev/null 2>&1 && break; sleep 0.05; done
done
"${CLI[@]}" --cluster create "${ports[@]/#/127.0.0.1:}" --cluster-yes >/dev/null
for _ in $(seq 200); do
    ok=0; for p in "${ports[@]}"; do "${CLI[@]}" -p "$p" cluster info | grep -q cluster_state:ok && ok=$((ok + 1)); done
    [ "$ok" -eq 3 ] && break; sleep 0.1
done
seed=${ports[0]}
TLS=(--tls --cacert "$work/ca.crt")
"${CLI[@]}" -c -p "$seed" set foo bar >/dev/null
[ "$($RCLI "${TLS[@]}" -c -p "$seed" get foo)" = bar ] || { echo "rcli over TLS does not answer" >&2; exit 1; }

now() { date +%s.%N; }
rate() { awk -v n="$1" -v s="$2" -v e="$3" 'BEGIN { printf "%.0f", n / (e - s) }'; }
# pair "ARGS": RUNS runs of rcli and of redis-cli with ARGS, interleaved (one of each in
# turn, so a busy machine slows both alike); prints "rcli_ms redis_cli_ms" per run.
pair() {
    local rcli_total=0 cli_total=0 t0 t1 t2
    for _ in $(seq "$RUNS"); do
        t0=$EPOCHREALTIME; $RCLI "${TLS[@]}" $1 >/dev/null
        t1=$EPOCHREALTIME; "${CLI[@]}" $1 >/dev/null
        t2=$EPOCHREALTIME
        rcli_total=$(awk -v a="$rcli_total" -v s="$t0" -v e="$t1" 'BEGIN { print a + e - s }')
        cli_total=$(awk -v a="$cli_total" -v s="$t1" -v e="$t2" 'BEGIN { print a + e - s }')
    done
    awk -v r="$rcli_total" -v c="$cli_total" -v n="$RUNS" 'BEGIN { printf "%.2f %.2f", r * 1000 / n, c * 1000 / n }'
}
read -r rcli_ping cli_ping <<< "$(pair "-p $seed ping")"
read -r rcli_get cli_get <<< "$(pair "-c -p $seed get foo")"

awk -v n="$LINES" 'BEGIN { for (i = 0; i < n; i++) printf "SET key:%d value\n", i }' > "$work/set.txt"
head -n "$CLI_LINES" "$work/set.txt" > "$work/set-cli.txt"
s=$(now); $RCLI "${TLS[@]}" -c -p "$seed" < "$work/set.txt" > "$work/set.out"; e=$(now)
rcli_set=$(rate "$LINES" "$s" "$e")
[ "$(grep -c '^OK$' "$work/set.out")" -eq "$LINES" ] || { echo "rcli SET output is wrong" >&2; exit 1; }
s=$(now); "${CLI[@]}" -c -p "$seed" < "$work/set-cli.txt" > /dev/null; e=$(now)
cli_set=$(rate "$CLI_LINES" "$s" "$e")

row() { printf '%-52s %12s\n' "$1" "$2"; }
ratio() { awk -v l="$1" -v a="$2" -v b="$3" -v n="${4:-}" 'BEGIN { printf "%-46s %7.2f%s\n", l ":", a / b, n }'; }
row "one-shot over TLS ($RUNS runs each)" "ms per run"
row "rcli --tls ping" "$rcli_ping"
row "redis-cli --tls ping" "$cli_ping"
row "rcli --tls -c get foo" "$rcli_get"
row "redis-cli --tls -c get foo" "$cli_get"
row "piping over TLS (3 primaries)" "commands/s"
row "rcli -c --tls < $LINES SET lines" "$rcli_set"
row "redis-cli -c --tls < $CLI_LINES SET lines" "$cli_set"
ratio "rcli / redis-cli one-shot time, ping" "$rcli_ping" "$cli_ping" "  (target <= 0.8)"
ratio "rcli / redis-cli one-shot time, -c get" "$rcli_get" "$cli_get" "  (target <= 0.8)"
ratio "rcli SET / redis-cli -c SET, TLS" "$rcli_set" "$cli_set" "x (target >= 40x)"
