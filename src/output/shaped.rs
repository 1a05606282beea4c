//! Replies printed with a shape (docs/json.md) or merged across nodes
//! (docs/compatibility.md, "Merged diagnostics"): the Printer's side of
//! [`crate::protocol::shapes`], which decides the text. Several nodes' SLOWLOG,
//! COMMANDLOG, LATENCY LATEST, CLIENT LIST and INFO become one list or table unless
//! merging is off; `--json` prints the text replies with named fields (several nodes:
//! one object keyed by node); `--csv` prints CLIENT LIST, the logs and LATENCY LATEST
//! as rows.

use super::{Printer, StdoutClosed};
use crate::cluster::reply::NodeReply;
use crate::protocol::render::OutputMode;
use crate::protocol::resp::Frame;
use crate::protocol::shapes::{self, Kind, merged};
use crate::protocol::text::escape_for_terminal;

impl Printer {
    /// True when the reply to `argv` is printed from the whole reply with a shape, so
    /// it must not be printed piece by piece as it arrives.
    pub fn shapes<A: AsRef<[u8]>>(&self, argv: &[A]) -> bool {
        Kind::of(argv).is_some_and(|kind| self.shape_mode(kind).is_some())
    }

    /// The output mode in which replies to a command of `kind` get their shape.
    fn shape_mode(&self, kind: Kind) -> Option<OutputMode> {
        match self.format.mode {
            OutputMode::Json => Some(OutputMode::Json),
            OutputMode::Csv if kind.has_csv() => Some(OutputMode::Csv),
            _ => None,
        }
    }

    /// Prints one node's reply with its shape; false (nothing printed) when it has
    /// none in this output mode.
    pub(super) fn shaped_one<A: AsRef<[u8]>>(&mut self, argv: &[A], frame: &Frame) -> Result<bool, StdoutClosed> {
        // Only JSON and CSV shape one reply: the other modes never look at the command
        // (every piped line's reply comes through here).
        if !matches!(self.format.mode, OutputMode::Json | OutputMode::Csv) {
            return Ok(false);
        }
        let Some(kind) = Kind::of(argv) else { return Ok(false) };
        let lines = match self.shape_mode(kind) {
            Some(OutputMode::Json) => shapes::to_json(kind, frame).map(|value| vec![value.to_string()]),
            Some(OutputMode::Csv) => merged::csv(kind, &[(String::new(), Ok(frame))], false),
            _ => None,
        };
        self.shaped_lines(lines)
    }

    /// Prints several nodes' replies as one: a JSON object keyed by node, CSV rows with
    /// a node column, or (merging on) one list or table; false (nothing printed) when
    /// the command has no such form, so the replies print node by node.
    pub(super) fn shaped_fanout<A: AsRef<[u8]>>(
        &mut self,
        argv: &[A],
        parts: &[NodeReply],
    ) -> Result<bool, StdoutClosed> {
        let Some(kind) = Kind::of(argv) else { return Ok(false) };
        let mut sorted: Vec<&NodeReply> = parts.iter().collect();
        sorted.sort_by(|a, b| a.endpoint.cmp(&b.endpoint));
        let answers: Vec<merged::Answer> =
            sorted.iter().map(|p| (p.endpoint.to_string(), p.result.as_ref().map_err(Clone::clone))).collect();
        let lines = match (self.shape_mode(kind), self.format.mode) {
            (Some(OutputMode::Json), _) => Some(vec![merged::json_by_node(kind, &answers).to_string()]),
            (Some(OutputMode::Csv), _) if self.merge => merged::csv(kind, &answers, true),
            (None, OutputMode::Tty | OutputMode::Raw) if self.merge && kind.merges() => merged::text(kind, &answers),
            _ => None,
        };
        self.shaped_lines(lines)
    }

    fn shaped_lines(&mut self, lines: Option<Vec<String>>) -> Result<bool, StdoutClosed> {
        let Some(lines) = lines else { return Ok(false) };
        let start = self.pending.len();
        for line in lines {
            self.pending.extend_from_slice(line.as_bytes());
            self.pending.push(b'\n');
        }
        if self.format.terminal {
            escape_for_terminal(&mut self.pending, start);
        }
        self.write_if_full()?;
        Ok(true)
    }
}
