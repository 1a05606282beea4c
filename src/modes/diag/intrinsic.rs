//! `--intrinsic-latency <sec>` (docs/redis-cli-modes.md, section 5.3): no server, just
//! rcli timing a small fixed computation over and over, reporting each new worst run in
//! microseconds and, at the end (or on Ctrl-C), the number of runs, the average and how
//! much longer the worst run took. The longest stall the kernel imposed on a process
//! that never makes a system call is a floor for any server's latency on this machine.

use std::hint::black_box;
use std::sync::atomic::AtomicBool;

use super::format::{Clock, c_fixed};
use super::nodes::interrupted;
use crate::exit::Exit;
use crate::output::Printer;

/// redis-cli's `compute_something_fast`: 1000 steps of an RC4-like byte shuffle.
#[allow(clippy::indexing_slicing, reason = "a u8 index into 256 bytes is always in bounds")]
pub fn compute_something_fast() -> u64 {
    let mut s: [u8; 256] = std::array::from_fn(|k| k as u8);
    let (mut i, mut j) = (0u8, 0u8);
    let mut output = 0u64;
    for _ in 0..1000 {
        i = i.wrapping_add(1);
        let si = s[usize::from(i)];
        j = j.wrapping_add(si);
        s.swap(usize::from(i), usize::from(j));
        let sum = s[usize::from(i)].wrapping_add(s[usize::from(j)]);
        output = output.wrapping_add(u64::from(s[usize::from(sum)]));
    }
    output
}

/// The closing lines: runs, the average per run, the worst against the average.
pub fn summary(runs: u64, run_time_us: i64, max_latency_us: i64) -> String {
    let avg_us = run_time_us as f64 / runs.max(1) as f64;
    format!(
        "\n{runs} total runs (avg latency: {} microseconds / {} nanoseconds per run).\n\
         Worst run took {}x longer than the average latency.\n",
        c_fixed(avg_us, 0, 4, false),
        c_fixed(avg_us * 1e3, 0, 2, false),
        c_fixed(max_latency_us as f64 / avg_us, 0, 0, false)
    )
}

/// Runs for `seconds` (or until Ctrl-C, when the average is taken over the time it
/// really ran; redis-cli divides the whole requested time); exit 0.
pub fn run(printer: &mut Printer, seconds: u64, flag: &AtomicBool) -> Exit {
    let clock = Clock::new();
    let run_time = i64::try_from(seconds).unwrap_or(i64::MAX).saturating_mul(1_000_000);
    let test_end = clock.us().saturating_add(run_time);
    let (mut max_latency, mut runs) = (0i64, 0u64);
    loop {
        let start = clock.us();
        black_box(compute_something_fast());
        let end = clock.us();
        let latency = end - start;
        runs += 1;
        let stopped = interrupted(flag);
        if latency > max_latency {
            max_latency = latency;
            let line = format!("Max latency so far: {max_latency} microseconds.\n");
            if printer.write(line.as_bytes()).and_then(|()| printer.flush()).is_err() {
                return Exit::Success;
            }
        }
        // As in redis-cli, the end is looked at after a run that took a microsecond or more.
        if stopped || (latency > 0 && end > test_end) {
            let elapsed = if stopped { end } else { run_time };
            let _ = printer.write(summary(runs, elapsed, max_latency).as_bytes());
            return Exit::Success;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_computation_is_redis_clis() {
        // The same 1000 steps in C give this sum.
        assert_eq!(compute_something_fast(), 125_875);
    }

    #[test]
    fn the_summary_reads_like_redis_cli() {
        assert_eq!(
            summary(1_000_000, 1_000_000, 250),
            "\n1000000 total runs (avg latency: 1.0000 microseconds / 1000.00 nanoseconds per run).\n\
             Worst run took 250x longer than the average latency.\n"
        );
        assert!(summary(7, 0, 3).ends_with("Worst run took infx longer than the average latency.\n"));
        assert!(summary(7, 0, 3).contains("(avg latency: 0.0000 microseconds / 0.00 nanoseconds per run)"));
    }
}
