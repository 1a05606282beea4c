//! Rates from two samples of one node: ops/s, network in and out (bytes/s) and CPU (%
//! of one core, from the `used_cpu_*` seconds), each the change of a counter divided
//! by the time between the samples. Pure. No rate when the node restarted between them
//! (a new `run_id`), a counter went backwards (`CONFIG RESETSTAT`), or the samples are
//! too close to divide by.

use std::time::Duration;

use super::sample::NodeInfo;

/// A node's rates over one interval; `None` where they cannot be told.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Rates {
    pub ops: Option<f64>,
    pub input: Option<f64>,
    pub output: Option<f64>,
    /// Percent of one core (200 = two cores busy).
    pub cpu: Option<f64>,
}

/// Samples closer than this give no rate (a division by almost nothing).
const SHORTEST: Duration = Duration::from_millis(20);

fn per_second(old: Option<u64>, new: Option<u64>, seconds: f64) -> Option<f64> {
    let change = new?.checked_sub(old?)?;
    Some(change as f64 / seconds)
}

/// The rates between `old` and `new`, taken `elapsed` apart.
pub fn between(old: &NodeInfo, new: &NodeInfo, elapsed: Duration) -> Rates {
    if elapsed < SHORTEST || old.run_id != new.run_id {
        return Rates::default();
    }
    let seconds = elapsed.as_secs_f64();
    let cpu = old.cpu_seconds.zip(new.cpu_seconds).and_then(|(a, b)| (b >= a).then(|| (b - a) / seconds * 100.0));
    Rates {
        ops: per_second(old.commands, new.commands, seconds),
        input: per_second(old.net_input, new.net_input, seconds),
        output: per_second(old.net_output, new.net_output, seconds),
        cpu,
    }
}

/// The sum of the rates that are known, or `None` when none is.
pub fn sum(values: impl Iterator<Item = Option<f64>>) -> Option<f64> {
    values.flatten().fold(None, |total, v| Some(total.unwrap_or(0.0) + v))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(commands: u64, input: u64, cpu: f64, run_id: &str) -> NodeInfo {
        NodeInfo {
            run_id: Some(run_id.into()),
            commands: Some(commands),
            net_input: Some(input),
            net_output: None,
            cpu_seconds: Some(cpu),
            ..NodeInfo::default()
        }
    }

    #[test]
    fn counters_become_rates() {
        let rates = between(&info(100, 1000, 1.0, "a"), &info(300, 5000, 1.5, "a"), Duration::from_secs(2));
        assert_eq!(rates.ops, Some(100.0));
        assert_eq!(rates.input, Some(2000.0));
        assert_eq!(rates.output, None, "no counter, no rate");
        assert_eq!(rates.cpu, Some(25.0));
    }

    #[test]
    fn a_restart_or_a_reset_gives_no_rate() {
        let restarted = between(&info(100, 1000, 1.0, "a"), &info(300, 5000, 1.5, "b"), Duration::from_secs(1));
        assert_eq!(restarted, Rates::default());
        let reset = between(&info(100, 1000, 1.0, "a"), &info(5, 10, 0.5, "a"), Duration::from_secs(1));
        assert_eq!(reset, Rates::default());
        let instant = between(&info(1, 1, 1.0, "a"), &info(2, 2, 2.0, "a"), Duration::from_millis(1));
        assert_eq!(instant, Rates::default());
    }

    #[test]
    fn sums_skip_the_unknown() {
        assert_eq!(sum([Some(1.0), None, Some(2.5)].into_iter()), Some(3.5));
        assert_eq!(sum([None, None].into_iter()), None);
    }
}
