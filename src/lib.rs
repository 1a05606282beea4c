//! rcli: a cluster-aware Redis shell, compatible with redis-cli.
//!
//! # Layout
//! - [`resp`]: RESP2/RESP3 frames, the incremental parser and the encoders.
//! - [`split`]: redis-cli's argument splitting (`sdssplitargs`) and quoting (`sdscatrepr`).
//! - [`render`]: reply text for tty, raw, CSV and JSON output.
//! - [`connection`]: sockets, bounded reads, the session handshake.
//! - [`commands`]: key positions, flags and tips from `COMMAND`; [`docs`]: `COMMAND DOCS`.
//! - [`cache`]: both, cached on disk per server version.
//! - [`slot`]: hash slots and hash tags; [`topology`]: the slot map.
//! - [`redirect`]: MOVED/ASK and transient errors; [`route`]: pure routing decisions.
//! - [`client`]: connections per node, routing, redirects, fan-out, failover.
//! - [`session`]: one line of input (shell, piped, one-shot); [`meta`]: `:commands`.
//! - [`pipeline`]: piped input, pipelined per node; [`pipe`]: `--pipe` mass insertion.
//! - [`repl`], [`helper`], [`history`], [`rcfile`], [`askpass`]: the interactive shell.
//! - [`output`], [`paint`]: where text goes and its colours.
//! - [`cli`]: options; [`run`]: modes and exit codes; [`sandbox`]: local throwaway servers.
//! - [`manager`]: the cluster manager, `rcli --cluster <subcommand>`.
//! - [`error`]: the one error type.

pub mod cli;
pub mod client;
pub mod cluster;
pub mod endpoint;
pub mod error;
pub mod manager;
pub mod modes;
pub mod output;
pub mod protocol;
pub mod run;
pub mod session;
pub mod shell;

pub use error::{Error, Result};
