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
//! - [`manager`]: the cluster manager, `rcli --cluster <subcommand>`.
//! - [`top`]: `rcli top`, the live view of a cluster (lower floors only).
//! - [`cli`]: options; [`output`]: everything printed; [`exit`]: how a run ends.
//! - [`front`]: the front door, every entry's start-up and dispatch.

// No panics on anything from outside: indexing, slicing, unwrap and expect are denied in
// the library (tests may use them); the few places that index by construction say why
// in an `allow` with a reason. Arithmetic on external numbers is checked where it is
// parsed (docs/testing.md, "Hardening").
#![cfg_attr(
    not(test),
    deny(
        clippy::indexing_slicing,
        clippy::string_slice,
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::unreachable,
        clippy::todo,
        clippy::unimplemented
    )
)]

pub mod cli;
pub mod client;
pub mod cluster;
pub mod endpoint;
pub mod error;
pub mod exit;
pub mod front;
pub mod manager;
pub mod modes;
pub mod output;
pub mod protocol;
pub mod session;
pub mod shell;
pub mod top;

pub use error::{Error, Result};
