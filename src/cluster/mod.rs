//! What rcli knows about a cluster, as pure data and decisions with no I/O: hash slots
//! ([`slot`]), the slot map ([`topology`]), what each command's keys are ([`commands`]),
//! MOVED/ASK and transient errors ([`redirect`]) and where a command goes ([`route`]).

pub mod commands;
pub mod redirect;
pub mod route;
pub mod slot;
pub mod topology;
