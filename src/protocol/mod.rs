//! Bytes and text, with no I/O: the RESP codec ([`resp`]), redis-cli's argument
//! splitting and quoting ([`split`]), and reply text for every output mode ([`render`]).

pub mod render;
pub mod resp;
pub mod split;
