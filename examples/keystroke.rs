//! Micro-benchmark of what the shell does on every keystroke: the hint and the
//! highlighted line for typical inputs, over the built-in command docs and a 3-primary
//! slot map. Prints the cost per keystroke. Run: `cargo run --release --example keystroke`

use std::sync::Arc;
use std::time::Instant;

use rcli::cluster::commands::CommandTable;
use rcli::cluster::topology::Topology;
use rcli::endpoint::Endpoint;
use rcli::shell::docs::Docs;
use rcli::shell::helper::HelperState;

fn main() {
    let state = HelperState {
        docs: Arc::new(Docs::builtin()),
        commands: Arc::new(CommandTable::builtin()),
        topology: Some(Arc::new(Topology::evenly(&[7000, 7001, 7002].map(|p| Endpoint::tcp("127.0.0.1", p))))),
        hints: true,
        color: true,
        keys: Arc::new((0..1000).map(|i| format!("user:{i}").into_bytes()).collect()),
        scanner: None,
    };
    let lines = [
        "set foo ",
        "set user:{1000}.following v EX 10 ",
        "mset a 1 b 2 c 3",
        "zadd leaderboard NX 1 alice 2 bob 3 ",
        "client kill ID 7 ",
        "xadd stream MAXLEN ~ 1000 * field value ",
        "eval \"return redis.call('get', KEYS[1])\" 1 user:1 ",
    ];
    let rounds = 2000;
    println!("{:<48} {:>12}", "line", "µs/keystroke");
    let mut worst: f64 = 0.0;
    for line in lines {
        let started = Instant::now();
        for _ in 0..rounds {
            std::hint::black_box(state.hint_for(line));
            std::hint::black_box(state.highlight_line(line));
        }
        let micros = started.elapsed().as_secs_f64() * 1e6 / f64::from(rounds);
        worst = worst.max(micros);
        println!("{:<48} {:>12.1}", line, micros);
    }
    println!("worst: {worst:.1} µs per keystroke (hint + highlight), budget 1000 µs: {:.0}x under", 1000.0 / worst);
}
