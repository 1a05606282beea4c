//! The interactive shell: the line editor loop ([`repl`]), completion/hints/highlighting
//! ([`helper`], [`hints`], [`paint`], keys by SCAN: [`key_scan`]), command docs for
//! help ([`docs`]), history without secrets ([`history`]), rcli's `:meta` commands
//! ([`meta`]), the sandbox lab's state ([`lab`]), the rclirc file ([`rcfile`]),
//! subscribed mode ([`subscribed`]), the sandbox's guided lessons ([`lesson`]), the
//! question before dangerous commands ([`confirm`]), the pager ([`pager`]),
//! `| command` ([`pipe`]), `peek KEY` ([`peek`]), and what the shell keeps beside its
//! session and the words it answers for it ([`state`]).

pub mod above_prompt;
pub mod answers;
pub mod confirm;
pub mod docs;
pub mod helper;
pub mod hints;
pub mod history;
pub mod key_scan;
pub mod lab;
pub mod lesson;
pub mod meta;
pub mod pager;
pub mod paint;
pub mod peek;
pub mod pipe;
pub mod rcfile;
pub mod repl;
pub mod state;
pub mod subscribed;
