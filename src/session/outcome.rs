//! What the last command got, in brief: the reply itself when it is small and flat
//! (a status, an error, an integer, nil, a short string), only that it was something
//! bigger otherwise, or why rcli got no reply. The shell's lessons check the user's own
//! commands against it (`shell/lesson/`); nothing else reads it.

use crate::cluster::reply::Reply;
use crate::protocol::resp::Frame;

/// Bulk strings up to this length are kept whole.
pub const KEPT_BYTES: usize = 4096;

/// What one command got.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// A flat reply (a bulk string only up to [`KEPT_BYTES`]), from one node or merged
    /// from the parts of a split command.
    Scalar(Frame),
    /// A reply too big or nested to keep: an array, a long string, several nodes' replies.
    Other,
    /// No reply: rcli refused the command, or a node could not be reached (the error).
    Failed(String),
}

impl Outcome {
    /// The brief of what `Client::execute` returned.
    pub fn of(result: &crate::Result<Reply>) -> Outcome {
        match result {
            Ok(Reply::One(frame)) => match frame {
                Frame::Bulk(bytes) if bytes.len() > KEPT_BYTES => Outcome::Other,
                Frame::Simple(_) | Frame::Error(_) | Frame::Integer(_) | Frame::Bulk(_) | Frame::Null => {
                    Outcome::Scalar(frame.clone())
                }
                Frame::Boolean(_) | Frame::Double(_) => Outcome::Scalar(frame.clone()),
                _ => Outcome::Other,
            },
            Ok(_) => Outcome::Other,
            Err(error) => Outcome::Failed(error.to_string()),
        }
    }

    /// The error reply's text, or why there was no reply.
    pub fn error(&self) -> Option<String> {
        match self {
            Outcome::Scalar(frame) => frame.as_error().map(|e| String::from_utf8_lossy(e).into_owned()),
            Outcome::Failed(text) => Some(text.clone()),
            Outcome::Other => None,
        }
    }

    /// `+OK`.
    pub fn is_ok(&self) -> bool {
        matches!(self, Outcome::Scalar(Frame::Simple(text)) if text.as_ref() == b"OK")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    #[test]
    fn flat_replies_are_kept_and_big_ones_are_not() {
        let ok = Outcome::of(&Ok(Reply::One(Frame::Simple(b"OK".as_slice().into()))));
        assert!(ok.is_ok() && ok.error().is_none());
        let error = Outcome::of(&Ok(Reply::One(Frame::Error(b"CROSSSLOT Keys".to_vec()))));
        assert_eq!(error.error().as_deref(), Some("CROSSSLOT Keys"));
        assert_eq!(Outcome::of(&Ok(Reply::One(Frame::Bulk(vec![b'x'; KEPT_BYTES + 1])))), Outcome::Other);
        assert_eq!(Outcome::of(&Ok(Reply::One(Frame::Array(Vec::new())))), Outcome::Other);
        let refused = Outcome::of(&Err(Error::Refused("CROSSSLOT: not sent".into())));
        assert_eq!(refused, Outcome::Failed("CROSSSLOT: not sent".into()));
    }
}
