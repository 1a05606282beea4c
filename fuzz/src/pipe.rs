//! The `--pipe` splitter (`modes::input::Splitter`):
//!
//! * the commands it produces (and where it stops with an error) do not depend on how
//!   the input is cut into reads: all at once, byte by byte, or pseudo-random reads;
//! * each command's byte count is exactly its own bytes, in order: a RESP array parses
//!   from those bytes to that command, an inline line splits from them to it; without
//!   an error the counts add up to the whole input.

use rcli::modes::input::{Input, Splitter};
use rcli::protocol::resp::{Frame, parse};
use rcli::protocol::split::split_args;

use crate::chunks::cuttings;

/// One command from the splitter, comparable.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Command {
    Argv(Vec<Vec<u8>>),
    InvalidLine,
    Error(String),
}

fn command(input: Input) -> Command {
    match input {
        Input::Line(Ok(argv)) => Command::Argv(argv),
        Input::Line(Err(_)) => Command::InvalidLine,
        Input::ReadError(e) => Command::Error(e),
    }
}

/// Feeds `data` in reads ending at `ends`, taking commands after each read as the
/// reader thread does, then the end of input; stops at the first error, as it does.
fn split(data: &[u8], ends: &[usize]) -> Vec<(Command, usize)> {
    let mut splitter = Splitter::default();
    let mut out = Vec::new();
    let mut from = 0;
    for (i, &end) in ends.iter().chain(std::iter::once(&data.len())).enumerate() {
        let at_end = i == ends.len();
        splitter.feed(&data[from..end]);
        from = end;
        while let Some((input, bytes)) = splitter.next(at_end) {
            let command = command(input);
            let stop = matches!(command, Command::Error(_));
            out.push((command, bytes));
            if stop {
                return out;
            }
        }
    }
    out
}

pub fn check(data: &[u8]) {
    let whole = split(data, &[data.len()]);
    // The end of input at once, without a read that did not know it was the last.
    let at_end_only = split(data, &[]);
    assert_eq!(at_end_only, whole, "input seen only at its end");
    for ends in cuttings(data) {
        assert_eq!(split(data, &ends), whole, "commands depend on the reads (cut at {ends:?})");
    }

    let mut at = 0;
    let mut failed = false;
    for (command, bytes) in &whole {
        let own = &data[at..at + bytes];
        match command {
            Command::Error(_) => {
                assert_eq!(*bytes, 0, "an error counts no bytes");
                failed = true;
            }
            Command::Argv(argv) if own.first() == Some(&b'*') => {
                let Ok(Some((Frame::Array(items), used))) = parse(own) else { panic!("{own:?} is not an array") };
                assert_eq!(used, own.len(), "a RESP command's byte count");
                let parsed: Vec<Vec<u8>> = items.iter().filter_map(|i| i.as_bytes().map(<[u8]>::to_vec)).collect();
                assert_eq!(&parsed, argv, "a RESP command's arguments");
            }
            Command::Argv(argv) => assert_eq!(split_args(own).as_ref(), Ok(argv), "an inline command's bytes"),
            Command::InvalidLine => assert!(split_args(own).is_err(), "an invalid line's bytes split"),
        }
        if !matches!(command, Command::Error(_)) {
            assert!(*bytes > 0, "a command of no bytes");
            assert!(own.first() == Some(&b'*') || !own[..own.len() - 1].contains(&b'\n'), "a line across a newline");
        }
        at += bytes;
    }
    if !failed {
        assert_eq!(at, data.len(), "the commands' bytes do not add up to the input");
    }
}
