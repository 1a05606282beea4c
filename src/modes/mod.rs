//! The ways rcli runs besides the shell: piped lines pipelined per node ([`pipeline`]),
//! `--pipe` mass insertion ([`pipe`]) and the throwaway local cluster ([`sandbox`]).

pub mod pipe;
pub mod pipeline;
pub mod sandbox;
