//! Structured output (docs/json.md) on a real cluster: every `--json` shape parsed with
//! serde_json and compared with the node's own text reply, in RESP2 and RESP3, and the
//! object keyed by node when several nodes answer; `--csv` CLIENT LIST.

use serde_json::Value;

use crate::merged::{call, entries, fanout, label, probe};
use crate::util::*;

/// The fields of `section` in INFO text, minus those that change between two reads.
fn stable_fields(info: &str, section: &str) -> Vec<(String, String)> {
    const MOVING: &[&str] = &["uptime_in_seconds", "uptime_in_days", "lru_clock", "server_time_usec"];
    let mut inside = false;
    let mut fields = Vec::new();
    for line in info.lines().map(str::trim_end) {
        if let Some(title) = line.strip_prefix("# ") {
            inside = title.eq_ignore_ascii_case(section);
        } else if inside
            && let Some((k, v)) = line.split_once(':')
            && !MOVING.contains(&k)
        {
            fields.push((k.to_string(), v.to_string()));
        }
    }
    fields
}

/// A JSON value printed back as server text: numbers as the server writes them.
fn as_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[test]
fn every_json_shape_matches_the_nodes_own_reply() {
    if !have_redis() {
        return;
    }
    let cluster = cluster(3, 0);
    let home = Home::new();
    let port = cluster.port(0).to_string();
    let (_probe, probe_id) = probe(&cluster, 0, "probe-json");
    for i in 0..3 {
        write_ok(&cluster.endpoint(i), &["CONFIG", "SET", "slowlog-log-slower-than", "-1"]);
    }
    let json = |protocol: &str, argv: &[&str]| -> Value {
        let mut args = vec!["-p", port.as_str(), protocol, "--json"];
        args.extend_from_slice(argv);
        let out = rcli_run(&home, &args, "");
        assert_eq!(out.code, Some(0), "{argv:?}: {}", out.stderr);
        serde_json::from_str(out.text().trim()).unwrap_or_else(|e| panic!("{argv:?}: {e}: {}", out.text()))
    };
    for protocol in ["-3", "-2"] {
        // INFO: sections of fields, numbers as numbers.
        let info = json(protocol, &["info"]);
        let own = text(&call(&cluster, 0, &["INFO"]));
        for section in ["Server", "Cluster", "Keyspace", "Replication"] {
            let key = section.to_ascii_lowercase();
            for (name, value) in stable_fields(&own, section) {
                let got = &info[&key][&name];
                if value.contains('=') {
                    assert!(got.is_object(), "{key}.{name}: {got}");
                } else {
                    assert_eq!(as_text(got), value, "{key}.{name}");
                }
            }
        }
        assert_eq!(info["server"]["tcp_port"], cluster.port(0));

        // CLUSTER INFO: every field (but the message counters, which move).
        let got = json(protocol, &["cluster", "info"]);
        let own = text(&call(&cluster, 0, &["CLUSTER", "INFO"]));
        for line in own.lines().map(str::trim_end).filter(|l| !l.starts_with("cluster_stats_messages")) {
            let Some((name, value)) = line.split_once(':') else { continue };
            assert_eq!(as_text(&got[name]), value, "{name}");
        }
        assert_eq!(got["cluster_state"], "ok");

        // CLUSTER NODES: one object per line, the same ids, ports, flags and slots.
        let got = json(protocol, &["cluster", "nodes"]);
        let own = text(&call(&cluster, 0, &["CLUSTER", "NODES"]));
        let nodes = got.as_array().unwrap();
        assert_eq!(nodes.len(), own.lines().count());
        for line in own.lines() {
            let words: Vec<&str> = line.split(' ').collect();
            let node = nodes.iter().find(|n| n["id"] == words[0]).unwrap_or_else(|| panic!("{line}"));
            assert_eq!(node["address"], words[1]);
            assert_eq!(node["port"].to_string(), words[1].split('@').next().unwrap().rsplit(':').next().unwrap());
            assert_eq!(node["flags"].as_array().unwrap().iter().map(as_text).collect::<Vec<_>>().join(","), words[2]);
            let slots: Vec<String> = node["slots"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| if r[0] == r[1] { r[0].to_string() } else { format!("{}-{}", r[0], r[1]) })
                .collect();
            assert_eq!(slots, words[8..], "{line}");
        }

        // CLUSTER SHARDS and CLUSTER SLOTS: the same ranges and owners as the node says.
        let owners: Vec<(i64, i64, i64)> = call(&cluster, 0, &["CLUSTER", "SLOTS"])
            .as_items()
            .unwrap()
            .iter()
            .map(|r| {
                let r = r.as_items().unwrap();
                (
                    r[0].as_integer().unwrap(),
                    r[1].as_integer().unwrap(),
                    r[2].as_items().unwrap()[1].as_integer().unwrap(),
                )
            })
            .collect();
        let slots = json(protocol, &["cluster", "slots"]);
        let got: Vec<(i64, i64, i64)> = slots
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["start"].as_i64().unwrap(), r["end"].as_i64().unwrap(), r["primary"]["port"].as_i64().unwrap()))
            .collect();
        assert_eq!(got, owners, "{slots}");
        let shards = json(protocol, &["cluster", "shards"]);
        let mut got: Vec<(i64, i64, i64)> = Vec::new();
        for shard in shards.as_array().unwrap() {
            let primary = shard["nodes"].as_array().unwrap().iter().find(|n| n["role"] == "master").unwrap();
            for range in shard["slots"].as_array().unwrap() {
                got.push((range[0].as_i64().unwrap(), range[1].as_i64().unwrap(), primary["port"].as_i64().unwrap()));
            }
        }
        got.sort();
        let mut owners = owners.clone();
        owners.sort();
        assert_eq!(got, owners, "{shards}");

        // CLIENT LIST: the probe with its id and name.
        let clients = json(protocol, &["client", "list"]);
        let found =
            clients.as_array().unwrap().iter().find(|c| c["id"] == probe_id).unwrap_or_else(|| panic!("{clients}"));
        assert_eq!(found["name"], "probe-json");
        assert!(found["age"].is_number() && found["flags"].is_string(), "{found}");

        // SLOWLOG and COMMANDLOG (Valkey 8.1+): the node's own entries.
        let own = entries(&call(&cluster, 0, &["SLOWLOG", "GET", "128"]));
        let got = json(protocol, &["slowlog", "get", "128"]);
        assert_eq!(got.as_array().unwrap().len(), own.len());
        for (entry, (id, time, micros, args, client, name)) in got.as_array().unwrap().iter().zip(&own) {
            assert_eq!(entry["id"], *id);
            assert_eq!(entry["time"], *time);
            assert_eq!(entry["duration_us"], *micros);
            assert_eq!(entry["command"], serde_json::json!(args));
            assert_eq!(
                (entry["client"].as_str(), entry["client_name"].as_str()),
                (Some(client.as_str()), Some(name.as_str()))
            );
        }
        let commandlog = cluster.call(0, &["COMMANDLOG", "GET", "128", "slow"]).ok().filter(|f| f.as_error().is_none());
        if let Some(frame) = commandlog {
            let got = json(protocol, &["commandlog", "get", "128", "slow"]);
            let ids: Vec<i64> = got.as_array().unwrap().iter().map(|e| e["id"].as_i64().unwrap()).collect();
            assert_eq!(ids, entries(&frame).iter().map(|e| e.0).collect::<Vec<_>>());
        }

        // MEMORY STATS: the node's fields, db.0 an object.
        let got = json(protocol, &["memory", "stats"]);
        let own = call(&cluster, 0, &["MEMORY", "STATS"]);
        let names: Vec<String> = own.to_pairs().unwrap().iter().map(|(k, _)| text(k)).collect();
        let mut got_names: Vec<String> = got.as_object().unwrap().keys().cloned().collect();
        got_names.sort();
        let mut names_sorted = names.clone();
        names_sorted.sort();
        assert_eq!(got_names, names_sorted);
        let keys =
            own.to_pairs().unwrap().iter().find(|(k, _)| text(k) == "keys.count").and_then(|(_, v)| v.as_integer());
        assert_eq!(got["keys.count"].as_i64(), keys);
        if names.iter().any(|n| n == "db.0") {
            assert!(got["db.0"].is_object(), "{got}");
        }
    }

    // LATENCY LATEST: a slow command recorded, the same event, time and figures.
    call(&cluster, 0, &["CONFIG", "SET", "latency-monitor-threshold", "1"]);
    call(&cluster, 0, &["DEBUG", "SLEEP", "0.02"]);
    call(&cluster, 0, &["CONFIG", "SET", "latency-monitor-threshold", "0"]);
    let own = call(&cluster, 0, &["LATENCY", "LATEST"]);
    let got = json("-3", &["latency", "latest"]);
    let own: Vec<(String, i64, i64, i64)> = own
        .as_items()
        .unwrap()
        .iter()
        .map(|e| {
            let e = e.as_items().unwrap();
            (text(&e[0]), e[1].as_integer().unwrap(), e[2].as_integer().unwrap(), e[3].as_integer().unwrap())
        })
        .collect();
    assert!(own.iter().any(|e| e.0 == "command"), "{own:?}");
    let got: Vec<(String, i64, i64, i64)> = got
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                as_text(&e["event"]),
                e["time"].as_i64().unwrap(),
                e["latest_ms"].as_i64().unwrap(),
                e["max_ms"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, own);

    // With several nodes: one object keyed by node.
    let got: Value = serde_json::from_str(fanout(&home, &cluster, &["--json", "cluster", "info"], "").trim()).unwrap();
    let mut keys: Vec<&String> = got.as_object().unwrap().keys().collect();
    keys.sort();
    let mut labels: Vec<String> = (0..3).map(|i| label(&cluster, i)).collect();
    labels.sort();
    assert_eq!(keys, labels.iter().collect::<Vec<_>>());
    for label in &labels {
        assert_eq!(got[label]["cluster_state"], "ok", "{got}");
        assert_eq!(got[label]["cluster_known_nodes"], 3);
    }
    // --csv CLIENT LIST: a header of the fields, a row per client.
    let out = rcli_run(&home, &["-p", &port, "--csv", "client", "list"], "");
    let header = out.text().lines().next().unwrap_or_default().to_string();
    assert!(header.starts_with("id,addr,"), "{}", out.text());
    assert!(
        out.text().lines().any(|l| l.starts_with(&format!("{probe_id},")) && l.contains(",probe-json,")),
        "{}",
        out.text()
    );

    // A reply long enough to be printed piece by piece otherwise (64+ entries) is
    // read whole and shaped, one-shot and piped.
    call(&cluster, 0, &["CONFIG", "SET", "slowlog-max-len", "300"]);
    call(&cluster, 0, &["CONFIG", "SET", "slowlog-log-slower-than", "0"]);
    assert_eq!(rcli_run(&home, &["-p", &port], &"PING\n".repeat(100)).code, Some(0));
    call(&cluster, 0, &["CONFIG", "SET", "slowlog-log-slower-than", "-1"]);
    for (args, input) in [(&["slowlog", "get", "100"][..], ""), (&[][..], "slowlog get 100\n")] {
        let all: Vec<&str> = ["-p", port.as_str(), "--json"].into_iter().chain(args.iter().copied()).collect();
        let out = rcli_run(&home, &all, input);
        let got: Value = serde_json::from_str(out.text().trim()).unwrap_or_else(|e| panic!("{e}: {}", out.text()));
        let got = got.as_array().unwrap_or_else(|| panic!("{got}"));
        assert_eq!(got.len(), 100);
        assert!(got.iter().all(|e| e["duration_us"].is_i64() && e["command"].is_array()), "{got:?}");
    }
}
