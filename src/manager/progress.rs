//! A progress bar with ETA for long manager runs (reshard, rebalance, fix, import,
//! backup), drawn by `indicatif` on stderr, and only when stderr is a terminal: piped
//! and scripted runs print exactly redis-cli's lines (docs/dependencies.md).

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A bar counting units (slots, keys, bytes) towards a known total.
#[derive(Clone)]
pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// A bar for `total` units named `unit`, or `None` when stderr is not a terminal.
    pub fn start(what: &str, total: u64, unit: &str) -> Option<Progress> {
        if !std::io::stderr().is_terminal() || total == 0 {
            return None;
        }
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr_with_hz(5));
        let template = format!("{what} [{{bar:30}}] {{pos}}/{{len}} {unit} {{msg}} ETA {{eta}}");
        if let Ok(style) = ProgressStyle::with_template(&template) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.enable_steady_tick(Duration::from_millis(200));
        Some(Progress { bar })
    }

    pub fn advance(&self, units: u64) {
        self.bar.inc(units);
    }

    pub fn set_message(&self, message: String) {
        self.bar.set_message(message);
    }

    /// Runs `f` with the bar hidden, so a line printed meanwhile is not torn.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        self.bar.suspend(f)
    }

    pub fn finish(self) {
        self.bar.finish_and_clear();
    }
}
