//! Bytes and text, with no I/O: the RESP codec ([`resp`], [`encode`]), the scanner that
//! finds where a frame ends while it is still arriving ([`scan`]), big replies handed over
//! piece by piece ([`piecewise`]), redis-cli's argument
//! splitting and quoting ([`split`]), reply text for every output mode ([`render`]),
//! server text made safe for a terminal ([`text`]), and text replies read into named
//! fields or merged across nodes ([`shapes`]).

pub mod encode;
pub mod frame;
pub mod piecewise;
pub mod render;
pub mod resp;
pub mod scan;
pub mod shapes;
pub mod split;
pub mod text;
