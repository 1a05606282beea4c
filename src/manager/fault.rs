//! Fault injection for the interruption tests (docs/testing.md): `RCLI_FAULT=<point>:<n>`
//! makes rcli stop at a named point of a slot move so a test can `kill -9` it there.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// Fault injection for the interruption tests (docs/testing.md): with
/// `RCLI_FAULT=<point>:<n>`, the n-th time rcli reaches `point` it prints
/// `rcli-fault: <point>` on stderr and waits to be killed (`kill -9`).
pub fn fault_point(point: &str) {
    static SPEC: OnceLock<Option<(String, usize)>> = OnceLock::new();
    static SEEN: AtomicUsize = AtomicUsize::new(0);
    let spec = SPEC.get_or_init(|| {
        let value = std::env::var("RCLI_FAULT").ok()?;
        let (name, n) = value.rsplit_once(':')?;
        Some((name.to_string(), n.parse().ok()?))
    });
    if let Some((name, n)) = spec
        && name == point
        && SEEN.fetch_add(1, Ordering::SeqCst) + 1 == *n
    {
        crate::output::note(&format!("rcli-fault: {point}"));
        std::thread::sleep(Duration::from_secs(120));
    }
}
