//! Fuzz properties for rcli's pure input handling, one module per fuzz target. Each
//! `check(data)` panics when a property fails; the targets in `fuzz_targets/` only call
//! it. How to run them, the seeds and the corpus: docs/testing.md ("Fuzzing").

pub mod chunks;
pub mod frames;
pub mod keys;
pub mod pipe;
pub mod resp;
pub mod split;
