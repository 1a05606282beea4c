//! What rcli knows and decides about a cluster, as pure data with no I/O: hash slots
//! ([`slot`]), the slot map ([`topology`]), each command's keys and tips
//! ([`commands`]), CLUSTER SHARDS/SLOTS replies read and validated ([`map_reply`]),
//! the slot map as the on-disk cache's text, checked on read ([`map_file`]),
//! CLUSTER NODES lines read ([`nodes_reply`]),
//! where a command goes ([`route`], [`target`]), which replica serves a read
//! ([`replica_choice`]), MOVED/ASK ([`redirect`]), the one retry policy ([`retry`]),
//! node health and the failure budget ([`health`]), the databases a node uses
//! ([`keyspace`]), how replies combine ([`reply`]), the hop lines the user sees
//! ([`event`]) and which streams run cluster-wide ([`watch`]).

pub mod command;
pub mod commands;
pub mod event;
pub mod health;
pub mod key_specs;
pub mod keyspace;
pub mod map_file;
pub mod map_reply;
pub mod nodes_reply;
pub mod redirect;
pub mod replica_choice;
pub mod reply;
pub mod retry;
pub mod route;
pub mod slot;
pub mod target;
pub mod topology;
pub mod watch;
