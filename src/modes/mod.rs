//! The ways rcli runs besides the shell: commands read from stdin ([`input`]), piped
//! lines pipelined per node ([`pipeline`]), `--pipe` mass insertion ([`pipe`]) and the
//! throwaway local cluster ([`sandbox`]).

pub mod input;
pub mod pipe;
pub mod pipeline;
pub mod sandbox;
