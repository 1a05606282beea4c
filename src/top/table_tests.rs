//! The node table: cells, tones, sorting with shards kept together, filtering.

use std::time::{Duration, SystemTime};

use super::*;
use crate::endpoint::Endpoint;
use crate::top::rates::Rates;
use crate::top::sample::NodeInfo;
use crate::top::view::{HotSlots, Totals};

fn node(port: u16, primary: bool, ops: f64, keys: u64) -> NodeView {
    NodeView {
        endpoint: Endpoint::tcp("127.0.0.1", port),
        id: format!("{port}abcdef"),
        primary,
        health: "online".into(),
        link: Link::Ok,
        info: Some(NodeInfo {
            used_memory: Some(2048),
            max_memory: Some(0),
            clients: Some(3),
            keys: vec![(0, keys)],
            ..NodeInfo::default()
        }),
        rates: Rates { ops: Some(ops), input: Some(1536.0), output: None, cpu: Some(1.25) },
        history: vec![Some(0.0), Some(ops)],
        lag: (!primary).then_some(Lag { bytes: Some(0), seconds: Some(1), link_up: Some(true), down_for: None }),
    }
}

fn view() -> View {
    View {
        sampled: SystemTime::UNIX_EPOCH,
        seed: Endpoint::tcp("127.0.0.1", 7000),
        cluster: true,
        state: Some("ok".into()),
        shards: vec![
            ShardView { ranges: vec![(0, 8191)], nodes: vec![node(7000, true, 5.0, 10), node(7002, false, 1.0, 10)] },
            ShardView {
                ranges: vec![(8192, 16000), (16001, 16383)],
                nodes: vec![node(7001, true, 50.0, 20), node(7003, false, 2.0, 20), node(7004, false, 9.0, 20)],
            },
        ],
        totals: Totals::default(),
        history: Vec::new(),
        hot: HotSlots::None,
        events: Vec::new(),
        interval: Duration::from_secs(1),
        budget: Duration::from_secs(5),
        rounds: 2,
    }
}

fn names(rows: &[Row]) -> Vec<String> {
    rows.iter().map(|r| r.cells[1].trim_start_matches(" └ ").to_string()).collect()
}

#[test]
fn a_row_has_every_column() {
    let rows = rows(&view(), SortBy::Slots, false, "");
    assert_eq!(rows[0].cells.len(), COLUMNS.len());
    assert_eq!(
        rows[0].cells,
        [
            "0-8191",
            "127.0.0.1:7000",
            "primary",
            "ok",
            "online",
            "5",
            "▁█",
            "1.5K",
            "-",
            "2.0K",
            "none",
            "3",
            "10",
            "",
            "1.2"
        ]
    );
    assert_eq!(rows[1].cells[1], " └ 127.0.0.1:7002");
    assert_eq!(rows[1].cells[0], "");
    assert_eq!(rows[1].cells[13], "0B 1s");
    assert_eq!(rows[2].cells[0], "8192-16000 +1");
    assert!(rows[0].primary && !rows[1].primary);
}

#[test]
fn sorting_keeps_each_primary_before_its_replicas() {
    let v = view();
    assert_eq!(
        names(&rows(&v, SortBy::Slots, false, "")),
        ["127.0.0.1:7000", "127.0.0.1:7002", "127.0.0.1:7001", "127.0.0.1:7003", "127.0.0.1:7004"]
    );
    assert_eq!(
        names(&rows(&v, SortBy::Ops, true, "")),
        ["127.0.0.1:7001", "127.0.0.1:7004", "127.0.0.1:7003", "127.0.0.1:7000", "127.0.0.1:7002"],
        "the busiest shard first, its replicas busiest first"
    );
    assert_eq!(
        names(&rows(&v, SortBy::Ops, false, "")),
        ["127.0.0.1:7000", "127.0.0.1:7002", "127.0.0.1:7001", "127.0.0.1:7003", "127.0.0.1:7004"]
    );
    assert_eq!(names(&rows(&v, SortBy::Slots, true, ""))[0], "127.0.0.1:7001");
}

#[test]
fn a_node_without_a_figure_sorts_last() {
    let mut v = view();
    v.shards[1].nodes[0].rates.ops = None;
    v.shards[1].nodes[1].rates.ops = None;
    v.shards[1].nodes[2].rates.ops = None;
    assert_eq!(names(&rows(&v, SortBy::Ops, true, ""))[0], "127.0.0.1:7000");
}

#[test]
fn a_filter_keeps_matching_nodes() {
    let v = view();
    assert_eq!(names(&rows(&v, SortBy::Slots, false, "7003")), ["127.0.0.1:7003"]);
    assert_eq!(rows(&v, SortBy::Slots, false, "REPLICA").len(), 3, "any case, the role too");
    assert_eq!(rows(&v, SortBy::Slots, false, "7001abc").len(), 1, "an id prefix");
    assert!(rows(&v, SortBy::Slots, false, "nothing").is_empty());
}

#[test]
fn trouble_has_a_tone() {
    let mut v = view();
    v.shards[0].nodes[0].link = Link::Silent { since: Duration::from_secs(2), cause: "x".into() };
    v.shards[0].nodes[1].lag = Some(Lag { link_up: Some(false), down_for: Some(3), ..Lag::default() });
    v.shards[1].nodes[0].link = Link::Down { since: Duration::from_secs(61), cause: "x".into() };
    v.shards[1].nodes[1].health = "fail".into();
    let rows = rows(&v, SortBy::Slots, false, "");
    let tones: Vec<Tone> = rows.iter().map(|r| r.tone).collect();
    assert_eq!(tones, [Tone::Warning, Tone::Warning, Tone::Bad, Tone::Bad, Tone::Normal]);
    assert_eq!(rows[0].cells[3], "silent 2s");
    assert_eq!(rows[1].cells[13], "link down 3s");
    assert_eq!(rows[2].cells[3], "DOWN 1m01s");
}

#[test]
fn figures_read_short() {
    assert_eq!(bytes(812.0), "812B");
    assert_eq!(bytes(1536.0), "1.5K");
    assert_eq!(bytes(5.0 * 1024.0 * 1024.0 * 1024.0), "5.0G");
    assert_eq!(seconds(59), "59s");
    assert_eq!(seconds(3725), "1h02m");
    assert_eq!(keys_text(&[(0, 10), (3, 2)]), "12 0:10,3:2");
    assert_eq!(keys_text(&[(5, 2)]), "2 5:2");
    assert_eq!(keys_text(&[]), "0");
    assert_eq!(slots_text(&[]), "-");
    assert_eq!(slots_text(&[(7, 7)]), "7");
    assert_eq!(lag_text(&Lag::default()), "- -");
}
