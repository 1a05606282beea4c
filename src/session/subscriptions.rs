//! What the replies on a subscribed connection say, pure: how many subscriptions a
//! (un)subscribe confirmation leaves ([`count_of`]), and where a SUBSCRIBE stands while
//! its confirmations arrive ([`Confirmations`]). The session confirms a subscription
//! with it before the shell serves it (`shell/subscribed.rs`).

use crate::protocol::resp::Frame;

/// What a frame on a subscribed connection says about the subscriptions left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count {
    /// A (un)subscribe confirmation: this many subscriptions are left.
    Left(i64),
    /// RESET's reply: the connection is back to normal.
    Reset,
    /// Anything else (a message, PONG, an error).
    Other,
}

/// Reads what a frame says about the subscription count. Pure.
pub fn count_of(frame: &Frame) -> Count {
    if matches!(frame, Frame::Simple(text) if text.as_ref() == b"RESET") {
        return Count::Reset;
    }
    match frame.as_items() {
        Some([kind, _, Frame::Integer(n)])
            if kind.as_bytes().is_some_and(|k| {
                [
                    b"subscribe".as_slice(),
                    b"psubscribe",
                    b"ssubscribe",
                    b"unsubscribe",
                    b"punsubscribe",
                    b"sunsubscribe",
                ]
                .iter()
                .any(|w| k.eq_ignore_ascii_case(w))
            }) =>
        {
            Count::Left(*n)
        }
        _ => Count::Other,
    }
}

/// Where a SUBSCRIBE, PSUBSCRIBE or SSUBSCRIBE stands while its confirmations arrive:
/// one per channel given (one when none is), each an array whose first element is the
/// command's name, as redis-cli 7.2 counts them. An error reply ends the wait: the
/// subscriptions confirmed before it stay (a partial refusal), or there are none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirmations {
    command: Vec<u8>,
    expected: usize,
    left: i64,
}

/// What the frames so far say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirming {
    /// More confirmations are owed (messages may arrive in between).
    Waiting,
    /// Every confirmation arrived, or an error reply ended the wait; `subscribed` is
    /// whether any subscription is left on the connection.
    Done { subscribed: bool },
}

impl Confirmations {
    /// The confirmations `argv` is owed.
    pub fn expecting(argv: &[Vec<u8>]) -> Confirmations {
        Confirmations {
            command: argv.first().cloned().unwrap_or_default(),
            expected: argv.len().saturating_sub(1).max(1),
            left: 0,
        }
    }

    /// Takes the next frame into account. Pure.
    pub fn see(&mut self, frame: &Frame) -> Confirming {
        if frame.as_error().is_some() {
            self.expected = 0;
            return Confirming::Done { subscribed: self.left > 0 };
        }
        let confirms = frame
            .as_items()
            .and_then(|items| items.first())
            .and_then(Frame::as_bytes)
            .is_some_and(|kind| kind.eq_ignore_ascii_case(&self.command));
        if let (true, Count::Left(n)) = (confirms, count_of(frame)) {
            self.left = n;
            self.expected = self.expected.saturating_sub(1);
        }
        match self.expected {
            0 => Confirming::Done { subscribed: self.left > 0 },
            _ => Confirming::Waiting,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(kind: &str, count: i64) -> Frame {
        Frame::Array(vec![Frame::Bulk(kind.as_bytes().to_vec()), Frame::Bulk(b"ch".to_vec()), Frame::Integer(count)])
    }

    #[test]
    fn confirmations_count_what_is_left() {
        assert_eq!(count_of(&reply("subscribe", 2)), Count::Left(2));
        assert_eq!(count_of(&reply("SUNSUBSCRIBE", 0)), Count::Left(0));
        assert_eq!(count_of(&Frame::Simple(b"RESET".as_slice().into())), Count::Reset);
        let message = Frame::Array(vec![
            Frame::Bulk(b"message".to_vec()),
            Frame::Bulk(b"ch".to_vec()),
            Frame::Bulk(b"hi".to_vec()),
        ]);
        assert_eq!(count_of(&message), Count::Other);
        assert_eq!(
            count_of(&Frame::Push(vec![Frame::Bulk(b"unsubscribe".to_vec()), Frame::Null, Frame::Integer(0)])),
            Count::Left(0)
        );
    }

    fn argv(words: &[&str]) -> Vec<Vec<u8>> {
        words.iter().map(|w| w.as_bytes().to_vec()).collect()
    }

    #[test]
    fn a_subscription_is_confirmed_channel_by_channel() {
        let mut confirming = Confirmations::expecting(&argv(&["SUBSCRIBE", "a", "b"]));
        assert_eq!(confirming.see(&reply("subscribe", 1)), Confirming::Waiting);
        // A message for the first channel before the second is confirmed.
        let message = Frame::Push(vec![
            Frame::Bulk(b"message".to_vec()),
            Frame::Bulk(b"a".to_vec()),
            Frame::Bulk(b"hi".to_vec()),
        ]);
        assert_eq!(confirming.see(&message), Confirming::Waiting);
        assert_eq!(confirming.see(&reply("subscribe", 2)), Confirming::Done { subscribed: true });
        let mut patterns = Confirmations::expecting(&argv(&["psubscribe", "n*"]));
        assert_eq!(patterns.see(&reply("subscribe", 1)), Confirming::Waiting, "not its own confirmation");
        assert_eq!(patterns.see(&reply("psubscribe", 2)), Confirming::Done { subscribed: true });
    }

    #[test]
    fn an_error_ends_the_wait_with_what_was_confirmed_before_it() {
        let refused = Frame::Error(b"NOPERM this user has no permissions to access one of the channels".to_vec());
        // Wrong number of arguments: nothing was subscribed.
        let mut bare = Confirmations::expecting(&argv(&["subscribe"]));
        assert_eq!(
            bare.see(&Frame::Error(b"ERR wrong number of arguments".to_vec())),
            Confirming::Done { subscribed: false }
        );
        let mut all = Confirmations::expecting(&argv(&["ssubscribe", "news"]));
        assert_eq!(all.see(&refused), Confirming::Done { subscribed: false });
        // A partial refusal: the first channel stays subscribed.
        let mut partial = Confirmations::expecting(&argv(&["subscribe", "a", "b"]));
        assert_eq!(partial.see(&reply("subscribe", 1)), Confirming::Waiting);
        assert_eq!(partial.see(&refused), Confirming::Done { subscribed: true });
    }
}
