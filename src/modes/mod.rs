//! The ways rcli runs besides the shell: `--eval` and the Lua debugger ([`eval`]),
//! commands read from stdin ([`input`]), piped
//! lines pipelined per node ([`pipeline`]), `--pipe` mass insertion ([`pipe`]), the
//! throwaway local cluster ([`sandbox`]), the diagnostic modes ([`diag`]) and the
//! completion scripts and man page ([`packaging`]).

pub mod consistency;
pub mod diag;
pub mod eval;
pub mod input;
pub mod pipe;
pub mod pipeline;
pub mod replication;
pub mod sandbox;
