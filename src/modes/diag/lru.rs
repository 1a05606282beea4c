//! `--lru-test <keys>` (docs/redis-cli-modes.md, section 5.4): a cache workload with an
//! 80/20 distribution over `lru:1` … `lru:<keys>`, in one-second cycles of pipelined
//! batches of 250 SETs (5 random letters) and 250 GETs, one line of gets per second
//! and hit/miss shares per cycle. With `-c` each batch is split per slot owner (redis-cli
//! sends everything to one node and prints the MOVED errors).

use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use super::format::two_decimals;
use super::nodes::{interrupted, reply_wait};
use crate::cluster::slot::slot_of;
use crate::endpoint::Endpoint;
use crate::error::Error;
use crate::exit::Exit;
use crate::protocol::encode::encode_command;
use crate::protocol::resp::Frame;
use crate::session::Session;

/// Commands per pipelined batch.
const BATCH: usize = 250;
const CYCLE: Duration = Duration::from_secs(1);

/// A small pseudo-random generator (xorshift64*), seeded from the clock and the pid
/// like redis-cli's `srand(time^pid)`.
#[derive(Debug, Clone)]
pub struct Random {
    state: u64,
}

impl Random {
    pub fn new(seed: u64) -> Random {
        Random { state: seed | 1 }
    }

    pub fn seeded() -> Random {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
        Random::new(now ^ u64::from(std::process::id()))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        self.state.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in [0, 1].
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / ((1u64 << 53) - 1) as f64
    }
}

/// redis-cli's `powerLawRand(min, max, alpha)` for a uniform `r` in [0, 1]: with alpha
/// 6.2, 20% of the numbers get 80% of the draws (the low ones).
pub fn power_law(min: u64, max: u64, alpha: f64, r: f64) -> u64 {
    let (min, max) = (min as f64, max as f64 + 1.0);
    let a = alpha + 1.0;
    let pl = ((max.powf(a) - min.powf(a)) * r + min.powf(a)).powf(1.0 / a);
    ((max - 1.0 - pl.trunc()) + min).max(min) as u64
}

/// A key of the test: `lru:<n>`.
fn key(random: &mut Random, keys: u64) -> Vec<u8> {
    let r = random.unit();
    format!("lru:{}", power_law(1, keys, 6.2, r)).into_bytes()
}

/// Five letters from `A` to `y`, as redis-cli's values.
fn value(random: &mut Random) -> Vec<u8> {
    (0..5).map(|_| b'A' + (random.next_u64() % u64::from(b'z' - b'A')) as u8).collect()
}

/// The line printed after each cycle.
pub fn cycle_line(hits: u64, misses: u64) -> String {
    let gets = hits + misses;
    let share = |n: u64| if gets == 0 { -f64::NAN } else { n as f64 / gets as f64 * 100.0 };
    format!(
        "{gets} Gets/sec | Hits: {hits} ({}%) | Misses: {misses} ({}%)\n",
        two_decimals(share(hits)),
        two_decimals(share(misses))
    )
}

/// Pipelined commands per node, by the node's index in a list.
#[derive(Default)]
struct Batches {
    nodes: Vec<Endpoint>,
    /// Per node: the encoded commands and how many.
    pending: Vec<(Vec<u8>, usize)>,
}

impl Batches {
    /// Where `key`'s commands go: its slot's owner with `-c`, else `current`.
    fn node(&mut self, session: &Session, key: &[u8], current: &Endpoint) -> usize {
        let owner = session.client.topology().and_then(|t| t.owner(slot_of(key))).unwrap_or(current);
        match self.nodes.iter().position(|n| n == owner) {
            Some(index) => index,
            None => {
                self.nodes.push(owner.clone());
                self.pending.push((Vec::new(), 0));
                self.nodes.len() - 1
            }
        }
    }

    fn add(&mut self, node: usize, argv: &[&[u8]]) {
        if let Some((bytes, count)) = self.pending.get_mut(node) {
            encode_command(argv, bytes);
            *count += 1;
        }
    }

    /// Sends every node its commands, then reads the replies (node by node).
    fn round(&mut self, session: &mut Session, wait: Option<Duration>) -> Result<Vec<Frame>, Error> {
        let pool = session.client.pool();
        let mut sent = Vec::with_capacity(self.nodes.len());
        for (endpoint, (bytes, count)) in self.nodes.iter().zip(self.pending.iter_mut()) {
            if *count == 0 {
                continue;
            }
            let mut exchange = pool.borrow(endpoint)?;
            exchange.send(bytes, *count)?;
            sent.push((exchange, *count));
            bytes.clear();
            *count = 0;
        }
        let mut replies = Vec::with_capacity(BATCH);
        for (mut exchange, count) in sent {
            for _ in 0..count {
                replies.push(exchange.read(wait)?);
            }
            pool.give_back(exchange);
        }
        Ok(replies)
    }
}

/// `--lru-test` until Ctrl-C (exit 130) or a failure (exit 1).
pub fn run(session: &mut Session, keys: u64, flag: &AtomicBool) -> Exit {
    let wait = reply_wait(session);
    let current = session.client.current().clone();
    let mut random = Random::seeded();
    let mut batches = Batches::default();
    loop {
        let started = Instant::now();
        let (mut hits, mut misses) = (0u64, 0u64);
        while started.elapsed() < CYCLE {
            for set in [true, false] {
                for _ in 0..BATCH {
                    let key = key(&mut random, keys);
                    let node = batches.node(session, &key, &current);
                    if set {
                        batches.add(node, &[b"SET", &key, &value(&mut random)]);
                    } else {
                        batches.add(node, &[b"GET", &key]);
                    }
                }
                let replies = match batches.round(session, wait) {
                    Ok(replies) => replies,
                    Err(Error::Interrupted) => return Exit::Interrupted,
                    Err(error) => {
                        session.printer.note(&format!("I/O error during LRU test: {error}"));
                        return Exit::Failure;
                    }
                };
                for reply in replies {
                    match reply {
                        Frame::Error(text) => session.printer.note(&String::from_utf8_lossy(&text)),
                        _ if set => {}
                        Frame::Null => misses += 1,
                        _ => hits += 1,
                    }
                }
            }
            if interrupted(flag) {
                let _ = session.printer.flush();
                return Exit::Interrupted;
            }
        }
        if session.printer.write(cycle_line(hits, misses).as_bytes()).and_then(|()| session.printer.flush()).is_err() {
            return Exit::Success;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_an_80_20_distribution() {
        let mut random = Random::new(42);
        let draws: Vec<u64> = (0..100_000).map(|_| power_law(1, 1000, 6.2, random.unit())).collect();
        assert!(draws.iter().all(|&n| (1..=1000).contains(&n)));
        let low = draws.iter().filter(|&&n| n <= 200).count();
        assert!((75_000..=85_000).contains(&low), "{low} of 100000 draws in the lowest 20%");
        assert_eq!(power_law(1, 1000, 6.2, 0.0), 1000);
        assert_eq!(power_law(1, 1000, 6.2, 1.0), 1);
        assert_eq!(power_law(1, 1, 6.2, 0.5), 1);
    }

    #[test]
    fn values_and_lines() {
        let mut random = Random::new(7);
        for _ in 0..100 {
            let v = value(&mut random);
            assert!(v.len() == 5 && v.iter().all(|b| (b'A'..=b'y').contains(b)));
        }
        assert_eq!(cycle_line(207_000, 0), "207000 Gets/sec | Hits: 207000 (100.00%) | Misses: 0 (0.00%)\n");
        assert_eq!(cycle_line(206_425, 575), "207000 Gets/sec | Hits: 206425 (99.72%) | Misses: 575 (0.28%)\n");
    }
}
