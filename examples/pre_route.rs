//! The ideal client of `benches/pipe.sh`: splits `COMMAND key …` lines into one RESP
//! file per node, by the slot of the second word, so that plain `redis-cli --pipe` (one
//! per node, in parallel) can feed a cluster with no parsing or routing at run time.
//! What that reaches is the most any client could get out of the cluster for the same
//! input on the same machine.
//!
//! `cargo run --release --example pre_route -- OUT_PREFIX PORT=FIRST-LAST … < lines`
//! writes `OUT_PREFIX.PORT.resp` for every node given with its slot range.

use std::fs::File;
use std::io::{BufRead, BufWriter, Write};
use std::process::ExitCode;

use rcli::cluster::slot::slot_of;
use rcli::protocol::encode::encode_command;
use rcli::protocol::split::split_args;

struct Node {
    first: u16,
    last: u16,
    out: BufWriter<File>,
}

fn parse_node(prefix: &str, spec: &str) -> Result<Node, String> {
    let bad = || format!("expected PORT=FIRST-LAST, got {spec:?}");
    let (port, range) = spec.split_once('=').ok_or_else(bad)?;
    let (first, last) = range.split_once('-').ok_or_else(bad)?;
    let path = format!("{prefix}.{port}.resp");
    let file = File::create(&path).map_err(|e| format!("{path}: {e}"))?;
    Ok(Node {
        first: first.parse().map_err(|_| bad())?,
        last: last.parse().map_err(|_| bad())?,
        out: BufWriter::new(file),
    })
}

fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((prefix, specs)) = args.split_first() else {
        return Err("usage: pre_route OUT_PREFIX PORT=FIRST-LAST ... < lines".into());
    };
    let mut nodes = specs.iter().map(|spec| parse_node(prefix, spec)).collect::<Result<Vec<_>, _>>()?;
    let mut encoded = Vec::new();
    for (number, line) in std::io::stdin().lock().split(b'\n').enumerate() {
        let line = line.map_err(|e| format!("stdin: {e}"))?;
        let argv = split_args(&line).map_err(|_| format!("line {}: invalid argument(s)", number + 1))?;
        let Some(key) = argv.get(1) else { continue };
        let slot = slot_of(key);
        let node = nodes
            .iter_mut()
            .find(|n| (n.first..=n.last).contains(&slot))
            .ok_or_else(|| format!("line {}: no node given for slot {slot}", number + 1))?;
        encoded.clear();
        encode_command(&argv, &mut encoded);
        node.out.write_all(&encoded).map_err(|e| e.to_string())?;
    }
    for node in &mut nodes {
        node.out.flush().map_err(|e| e.to_string())?;
    }
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("pre_route: {message}");
            ExitCode::FAILURE
        }
    }
}
