//! Reading cluster redirections (MOVED, ASK) out of `-ERR` replies. Pure: deciding to
//! follow them is [`crate::cluster::retry`]'s job.

use crate::endpoint::Endpoint;

/// MOVED or ASK.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedirectKind {
    Moved,
    Ask,
}

/// `-MOVED 3999 127.0.0.1:6381` / `-ASK 3999 127.0.0.1:6381`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect {
    pub kind: RedirectKind,
    pub slot: u16,
    pub to: Endpoint,
}

impl Redirect {
    /// Parses an error reply. An empty host (`MOVED 3999 :6381`) or `?` (no hostname
    /// while hostnames are preferred) means the host of the node that answered,
    /// `from`; IPv6 addresses come bare (`::1:7000`) or in brackets.
    pub fn parse(error: &[u8], from: &Endpoint) -> Option<Redirect> {
        let text = std::str::from_utf8(error).ok()?;
        let mut words = text.split(' ');
        let kind = match words.next()? {
            "MOVED" => RedirectKind::Moved,
            "ASK" => RedirectKind::Ask,
            _ => return None,
        };
        let slot = words.next()?.parse().ok().filter(|&s: &u16| usize::from(s) < crate::cluster::slot::SLOTS)?;
        let addr = words.next()?;
        let (host, port) = addr.rsplit_once(':')?;
        let port = port.parse().ok().filter(|&p: &u16| p != 0)?;
        // A target rcli could connect to: printable, no spaces (the rest of a hostile
        // redirect is shown as the error it is).
        if !host.bytes().all(|b| b.is_ascii_graphic()) || host.len() > 255 {
            return None;
        }
        let host = match (host, from) {
            ("" | "?", Endpoint::Tcp { host, .. }) => host.clone(),
            ("" | "?", Endpoint::Unix(_)) => "127.0.0.1".to_string(),
            (h, _) => h.trim_start_matches('[').trim_end_matches(']').to_string(),
        };
        Some(Redirect { kind, slot, to: Endpoint::Tcp { host, port } })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_moved_ask_and_empty_hosts() {
        let from = Endpoint::tcp("10.1.1.1", 7000);
        let moved = Redirect::parse(b"MOVED 12182 127.0.0.1:7002", &from).unwrap();
        assert_eq!(
            (moved.kind, moved.slot, moved.to.to_string()),
            (RedirectKind::Moved, 12182, "127.0.0.1:7002".into())
        );
        let ask = Redirect::parse(b"ASK 1 :7005", &from).unwrap();
        assert_eq!((ask.kind, ask.to.to_string()), (RedirectKind::Ask, "10.1.1.1:7005".into()));
        let v6 = Redirect::parse(b"MOVED 1 ::1:7000", &from).unwrap();
        assert_eq!(v6.to.to_string(), "[::1]:7000");
        assert_eq!(Redirect::parse(b"MOVED 1 [::1]:7000", &from).unwrap().to, Endpoint::tcp("::1", 7000));
        assert_eq!(Redirect::parse(b"MOVED 1 ?:7003", &from).unwrap().to, Endpoint::tcp("10.1.1.1", 7003));
        let named = Redirect::parse(b"MOVED 1 node3.example.test:7003", &from).unwrap();
        assert_eq!(named.to, Endpoint::tcp("node3.example.test", 7003));
        assert_eq!(Redirect::parse(b"MOVED 99999 a:1", &from), None);
        assert_eq!(Redirect::parse(b"ERR MOVED 1 a:1", &from), None);
        assert_eq!(Redirect::parse(b"MOVED 1 a:0", &from), None, "port 0");
        assert_eq!(Redirect::parse(b"MOVED 1 a:70000", &from), None);
        assert_eq!(Redirect::parse(b"MOVED 1 \x1b]0;x\x07:7000", &from), None);
    }
}
