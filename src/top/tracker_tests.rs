//! The tracker's rules, round by round, with made-up answers and clocks.

use super::*;
use crate::cluster::topology::{Node, Shard};
use crate::top::view::Lag;

fn ep(port: u16) -> Endpoint {
    Endpoint::tcp("127.0.0.1", port)
}

fn port_of(endpoint: &Endpoint) -> u16 {
    match endpoint {
        Endpoint::Tcp { port, .. } => *port,
        Endpoint::Unix(_) => 0,
    }
}

fn node(port: u16, primary: bool, health: &str) -> Node {
    Node { id: format!("{port:040}"), endpoint: ep(port), primary, health: health.into(), hostname: None, zone: None }
}

/// Two shards: 7000 (replica 7002) with slots 0-8191, 7001 (replica 7003) the rest.
fn topology(failed_over: bool) -> Topology {
    let (first, second) = if failed_over { (7002, 7000) } else { (7000, 7002) };
    Topology::new(vec![
        Shard {
            primary: Some(node(first, true, "online")),
            replicas: vec![node(second, false, if failed_over { "failed" } else { "online" })],
            ranges: vec![(0, 8191)],
        },
        Shard {
            primary: Some(node(7001, true, "online")),
            replicas: vec![node(7003, false, "online")],
            ranges: vec![(8192, 16383)],
        },
    ])
    .unwrap()
}

fn info(commands: u64, keys: u64, replica: bool) -> NodeInfo {
    NodeInfo {
        run_id: Some("r".into()),
        role: Some(if replica { "slave" } else { "master" }.into()),
        commands: Some(commands),
        net_input: Some(commands * 10),
        net_output: Some(commands * 20),
        cpu_seconds: Some(commands as f64 / 1000.0),
        used_memory: Some(1000),
        clients: Some(2),
        keys: vec![(0, keys)],
        repl_offset: (!replica).then_some(500),
        replica_offset: replica.then_some(400),
        master_link_up: replica.then_some(true),
        ..NodeInfo::default()
    }
}

fn answered(info: NodeInfo) -> Answer {
    Answer::Info(Box::new(Replies { info, by_keys: None, by_cpu: None }))
}

fn silent() -> Answer {
    Answer::Failed { cause: "no reply for 1 s".into(), waited: Duration::from_secs(1) }
}

struct Clock {
    start: Instant,
    wall: SystemTime,
}

impl Clock {
    fn new() -> Clock {
        Clock { start: Instant::now(), wall: SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000) }
    }

    fn round(&self, second: u64, map: Option<Topology>, answers: Vec<(u16, Answer)>) -> Round {
        Round {
            now: self.start + Duration::from_secs(second),
            wall: self.wall + Duration::from_secs(second),
            map: map.map(|topology| MapAnswer { topology, state: Some("ok".into()) }),
            answers: answers.into_iter().map(|(port, a)| (ep(port), a)).collect(),
        }
    }
}

fn everyone(commands: u64) -> Vec<(u16, Answer)> {
    vec![
        (7000, answered(info(commands, 10, false))),
        (7001, answered(info(commands * 2, 20, false))),
        (7002, answered(info(commands, 10, true))),
        (7003, answered(info(commands, 20, true))),
    ]
}

fn tracker() -> Tracker {
    Tracker::new(ep(7000), Some(topology(false)), Duration::from_secs(1), Duration::from_secs(5), 10)
}

#[test]
fn every_node_is_asked_and_one_for_the_map() {
    let t = tracker();
    let asks = t.asks();
    let ports: Vec<u16> = asks.iter().map(|a| port_of(&a.endpoint)).collect();
    assert_eq!(ports, [7000, 7002, 7001, 7003], "shard by shard, the primary first");
    assert_eq!(asks.iter().filter(|a| a.map).count(), 1);
    assert!(asks[0].map && !asks[0].replica && asks[1].replica);
    assert!(asks[0].slots_by_keys && !asks[1].slots_by_keys, "hot slots are asked of primaries");
    assert!(asks[0].slots_by_cpu, "per-slot CPU is asked once to learn whether it is on");
}

#[test]
fn rates_totals_and_lag_from_two_rounds() {
    let clock = Clock::new();
    let mut t = tracker();
    let first = t.update(clock.round(0, Some(topology(false)), everyone(100)));
    assert_eq!(first.totals.ops, None, "one sample gives no rate");
    assert_eq!(first.totals.keys, 30, "primaries' keys only");
    let view = t.update(clock.round(2, None, everyone(300)));
    let nodes: Vec<&NodeView> = view.nodes().collect();
    assert_eq!(nodes[0].rates.ops, Some(100.0));
    assert_eq!(nodes[0].rates.input, Some(1000.0));
    assert_eq!(nodes[0].rates.cpu, Some(10.0));
    assert_eq!(view.totals.ops, Some(100.0 + 200.0 + 100.0 + 100.0));
    assert_eq!((view.totals.nodes, view.totals.answering, view.totals.clients), (4, 4, 8));
    assert_eq!(nodes[1].lag.as_ref().and_then(|l| l.bytes), Some(100), "500 - 400");
    assert_eq!(nodes[0].lag, None, "a primary has no lag");
    assert_eq!(view.history, [None, Some(500.0)]);
    assert_eq!(nodes[0].history, [None, Some(100.0)]);
    assert!(view.events.is_empty());
}

#[test]
fn a_silent_node_is_silent_then_down_within_the_budget() {
    let clock = Clock::new();
    let mut t = tracker();
    t.update(clock.round(0, Some(topology(false)), everyone(100)));
    let mut answers = everyone(200);
    answers[0].1 = silent();
    let view = t.update(clock.round(1, None, answers.clone()));
    let first = view.nodes().next().unwrap();
    assert!(matches!(&first.link, Link::Silent { since, .. } if *since == Duration::from_secs(1)));
    assert!(first.info.is_some(), "the last figures stay readable");
    assert_eq!(first.rates.ops, None);
    assert_eq!(view.totals.answering, 3);
    assert_eq!(view.events.last().unwrap().text, "127.0.0.1:7000 stopped answering (no reply for 1 s)");
    let view = t.update(clock.round(5, None, answers));
    assert!(matches!(view.nodes().next().unwrap().link, Link::Down { .. }), "5 s since the wait began");
    assert!(view.events.last().unwrap().text.starts_with("127.0.0.1:7000 is down: no answer for 5.0s"));
    let view = t.update(clock.round(6, None, everyone(300)));
    assert_eq!(view.nodes().next().unwrap().link, Link::Ok);
    assert_eq!(view.events.last().unwrap().text, "127.0.0.1:7000 answers again");
}

#[test]
fn the_map_is_asked_of_another_node_when_its_node_is_silent() {
    let clock = Clock::new();
    let mut t = tracker();
    t.update(clock.round(0, Some(topology(false)), everyone(100)));
    let mut answers = everyone(200);
    answers[0].1 = silent();
    t.update(clock.round(1, None, answers));
    let asks = t.asks();
    let map: Vec<u16> = asks.iter().filter(|a| a.map).map(|a| port_of(&a.endpoint)).collect();
    assert_eq!(map, [7001], "the first node that answered");
}

#[test]
fn a_failover_is_an_event_and_regroups_the_shard() {
    let clock = Clock::new();
    let mut t = tracker();
    t.update(clock.round(0, Some(topology(false)), everyone(100)));
    let mut answers = everyone(200);
    answers[0].1 = silent();
    answers[2].1 = answered(info(200, 10, false));
    let view = t.update(clock.round(1, Some(topology(true)), answers));
    let texts: Vec<&str> = view.events.iter().map(|e| e.text.as_str()).collect();
    assert_eq!(
        texts,
        [
            "127.0.0.1:7000 stopped answering (no reply for 1 s)",
            "127.0.0.1:7000 marked failed by the cluster",
            "failover: 127.0.0.1:7002 took over from 127.0.0.1:7000",
            "127.0.0.1:7000 is now a replica",
        ]
    );
    let first: Vec<u16> = view.shards[0].nodes.iter().map(|n| port_of(&n.endpoint)).collect();
    assert_eq!(first, [7002, 7000]);
    assert!(view.events.iter().all(|e| e.at == clock.wall + Duration::from_secs(1)));
}

#[test]
fn a_single_node_brings_the_replicas_it_names() {
    let clock = Clock::new();
    let mut t = Tracker::new(ep(6379), None, Duration::from_secs(1), Duration::from_secs(18), 10);
    let asks = t.asks();
    assert_eq!(asks.len(), 1);
    assert!(!asks[0].map && !asks[0].slots_by_keys, "no cluster, no map and no slots");
    let mut primary = info(100, 5, false);
    primary.replicas = vec![crate::top::sample::ReplicaLine {
        ip: "127.0.0.1".into(),
        port: 6380,
        state: "online".into(),
        offset: Some(450),
        lag: Some(1),
    }];
    t.update(clock.round(0, None, vec![(6379, answered(primary.clone()))]));
    let ports: Vec<u16> = t.asks().iter().map(|a| port_of(&a.endpoint)).collect();
    assert_eq!(ports, [6379, 6380]);
    let view = t.update(clock.round(1, None, vec![(6379, answered(primary)), (6380, answered(info(50, 5, true)))]));
    assert!(!view.cluster);
    assert_eq!(view.hot, HotSlots::None);
    let replica = &view.shards[0].nodes[1];
    assert_eq!(replica.lag, Some(Lag { bytes: Some(100), seconds: Some(1), link_up: Some(true), down_for: None }));
}

fn slots(list: &[(u16, u64, Option<u64>)]) -> Vec<SlotStat> {
    list.iter().map(|&(slot, keys, cpu)| SlotStat { slot, keys, cpu_usec: cpu, net_in: cpu, net_out: cpu }).collect()
}

#[test]
fn hot_slots_merge_the_primaries_lists() {
    let clock = Clock::new();
    let mut t = Tracker::new(ep(7000), Some(topology(false)), Duration::from_secs(1), Duration::from_secs(5), 2);
    let with_slots = |by_keys: Vec<SlotStat>, by_cpu: Vec<SlotStat>| {
        answered_with(info(1, 1, false), Some(Ok(by_keys)), Some(by_cpu))
    };
    let round = |second, cpu: u64| {
        clock.round(
            second,
            (second == 0).then(|| topology(false)),
            vec![
                (7000, with_slots(slots(&[(5, 9, Some(1)), (6, 0, Some(1))]), slots(&[(5, 9, Some(cpu))]))),
                (7001, with_slots(slots(&[(9000, 30, Some(1)), (9001, 2, Some(1))]), slots(&[]))),
            ],
        )
    };
    t.update(round(0, 100));
    let view = t.update(round(2, 300));
    let HotSlots::Slots { by_keys, by_cpu, stats_enabled } = view.hot else { panic!("{:?}", view.hot) };
    assert!(stats_enabled);
    let keys: Vec<(u16, u64)> = by_keys.iter().map(|h| (h.stat.slot, h.stat.keys)).collect();
    assert_eq!(keys, [(9000, 30), (5, 9)], "the top 2 over every primary");
    assert_eq!(by_keys[0].owner, ep(7001));
    assert_eq!(by_cpu.len(), 1);
    assert_eq!(by_cpu[0].cpu_rate, Some(100.0), "(300 - 100) µs over 2 s");
    assert!(t.asks()[2].slots_by_cpu, "7001's replies carried CPU figures: asked again");
    let off = answered_with(info(1, 1, false), Some(Ok(slots(&[(9000, 30, None)]))), None);
    t.update(clock.round(3, None, vec![(7001, off)]));
    assert!(!t.asks()[2].slots_by_cpu, "statistics off: per-slot CPU no longer asked");
}

fn answered_with(
    info: NodeInfo,
    by_keys: Option<Result<Vec<SlotStat>, String>>,
    by_cpu: Option<Vec<SlotStat>>,
) -> Answer {
    Answer::Info(Box::new(Replies { info, by_keys, by_cpu }))
}

#[test]
fn a_server_without_slot_stats_is_said_so_and_not_asked_again() {
    let clock = Clock::new();
    let mut t = tracker();
    let refused = || answered_with(info(1, 1, false), Some(Err("ERR unknown subcommand 'SLOT-STATS'".into())), None);
    let view = t.update(clock.round(0, Some(topology(false)), vec![(7000, refused()), (7001, refused())]));
    assert_eq!(view.hot, HotSlots::Unsupported("ERR unknown subcommand 'SLOT-STATS'".into()));
    assert!(t.asks().iter().all(|a| !a.slots_by_keys && !a.slots_by_cpu));
}

#[test]
fn events_are_kept_up_to_a_bound() {
    let clock = Clock::new();
    let mut t = tracker();
    t.update(clock.round(0, Some(topology(false)), everyone(1)));
    let mut last = None;
    for second in 1..=(EVENTS_KEPT as u64) {
        let mut answers = everyone(second);
        if second % 2 == 1 {
            answers[3].1 = silent();
        }
        last = Some(t.update(clock.round(second, None, answers)));
    }
    assert_eq!(last.unwrap().events.len(), EVENTS_KEPT);
}
