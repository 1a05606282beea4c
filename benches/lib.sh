# Shared by the benchmark scripts (sourced, not run): a work directory removed on exit
# with every server started, and a local 3-primary cluster.
#   bench_workdir            sets $work and the cleanup trap; servers go in $pids
#   bench_cluster3 [ARGS…]   starts 3 cluster-enabled redis-servers on random free-ish
#                            ports 21000-21999, or from $BENCH_PORT_BASE (extra
#                            redis-server ARGS appended), joins
#                            them with redis-cli --cluster create, waits for
#                            cluster_state:ok; sets $ports and $seed

bench_workdir() {
    work="$(mktemp -d)"
    pids=()
    trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"' EXIT
}

bench_cluster3() {
    local base p ok
    base=${BENCH_PORT_BASE:-$(( 21000 + RANDOM % 1000 ))}
    ports=($base $((base + 1)) $((base + 2)))
    for p in "${ports[@]}"; do
        redis-server --port "$p" --bind 127.0.0.1 --cluster-enabled yes --cluster-config-file "$work/nodes-$p.conf" \
            --dir "$work" --save '' --appendonly no --logfile "$work/$p.log" --daemonize no "$@" &
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
    seed=${ports[0]}
}
