//! Bytes and text, with no I/O: the RESP codec ([`resp`], [`encode`]), the scanner that
//! finds where a frame ends while it is still arriving ([`scan`]), big replies handed over
//! piece by piece ([`piecewise`]), redis-cli's argument
//! splitting and quoting ([`split`]), reply text for every output mode ([`render`]),
//! and server text made safe for a terminal ([`text`]).

pub mod encode;
pub mod frame;
pub mod piecewise;
pub mod render;
pub mod resp;
pub mod scan;
pub mod split;
pub mod text;
