//! rcli: a cluster-aware Redis shell, compatible with redis-cli.
//!
//! # Layout (bottom to top; docs/architecture.md has the picture)
//! - [`protocol`]: RESP frames, parser, encoders, frame scanning, piecewise replies,
//!   redis-cli's argument splitting and quoting, reply text. Pure.
//! - [`cluster`]: slots, the slot map, command key-specs, routing plans, targets,
//!   redirects, the retry policy, node health, reply merging, hop events. Pure.
//! - [`endpoint`], [`error`]: shared basics.
//! - [`client`]: the only I/O with servers — streams, connections, the pool that owns
//!   them, session state, the routed loop, slot-map and table loading, fan-out.
//! - [`session`]: one line of input (shell, piped, one-shot).
//! - [`shell`]: the interactive shell; [`modes`]: stdin readers, the pipeline, `--pipe`,
//!   the sandbox.
//! - [`cli`]: options; [`run`]: modes and exit codes; [`output`]: everything printed.

pub mod cli;
pub mod client;
pub mod cluster;
pub mod endpoint;
pub mod error;
pub mod modes;
pub mod output;
pub mod protocol;
pub mod run;
pub mod session;
pub mod shell;

pub use error::{Error, Result};
