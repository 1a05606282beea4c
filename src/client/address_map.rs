//! The address map, for clusters behind NAT or in containers whose announced addresses
//! the client cannot reach (`--address-map ANNOUNCED=REACHABLE`, repeatable; `:set
//! address-map` in the shell and the rclirc file). Each side is `host:port` or `host`
//! (IPv6 in brackets, or bare without a port). The announced endpoint stays the node's
//! identity everywhere (slot map, prompt, `:nodes`, TLS names); only the socket goes to
//! the reachable address. Pure.

use crate::endpoint::Endpoint;

/// One side of a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Place {
    host: String,
    port: Option<u16>,
}

impl Place {
    fn parse(text: &str) -> Result<Place, String> {
        let text = text.trim();
        let (host, port) = if let Some(rest) = text.strip_prefix('[') {
            let (host, after) = rest.split_once(']').ok_or_else(|| format!("'{text}': missing ']'"))?;
            match after {
                "" => (host, None),
                _ => (host, Some(after.strip_prefix(':').ok_or_else(|| format!("'{text}': expected :PORT after ]"))?)),
            }
        } else if text.matches(':').count() > 1 {
            (text, None) // a bare IPv6 address
        } else {
            match text.split_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (text, None),
            }
        };
        if host.is_empty() || host.chars().any(|c| c.is_whitespace() || c.is_control() || c == '=' || c == '/') {
            return Err(format!("'{text}': not a host"));
        }
        let port = match port {
            None => None,
            Some(p) => Some(p.parse::<u16>().ok().filter(|&p| p > 0).ok_or_else(|| format!("'{text}': bad port"))?),
        };
        Ok(Place { host: host.to_string(), port })
    }

    fn text(&self) -> String {
        match self.port {
            Some(port) => Endpoint::tcp(&self.host, port).to_string(),
            None if self.host.contains(':') => format!("[{}]", self.host),
            None => self.host.clone(),
        }
    }
}

/// Announced address → reachable address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddressMap {
    rules: Vec<(Place, Place)>,
}

impl AddressMap {
    /// Adds `ANNOUNCED=REACHABLE`; a rule for the same announced place replaces the
    /// earlier one.
    pub fn add(&mut self, rule: &str) -> Result<(), String> {
        let usage = || format!("invalid address map '{rule}' (use ANNOUNCED=REACHABLE, each host:port or host)");
        let (from, to) = rule.split_once('=').ok_or_else(usage)?;
        let from = Place::parse(from).map_err(|e| format!("{} : {e}", usage()))?;
        let to = Place::parse(to).map_err(|e| format!("{} : {e}", usage()))?;
        if from.port.is_none() && to.port.is_some() {
            return Err(format!("invalid address map '{rule}': a host without a port maps to a host without a port"));
        }
        self.rules.retain(|(f, _)| *f != from);
        self.rules.push((from, to));
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    pub fn clear(&mut self) {
        self.rules.clear();
    }

    /// Where to open the socket for the node announced as `endpoint`: a `host:port`
    /// rule first, then a `host` rule (the port kept), else the endpoint itself.
    pub fn reach(&self, endpoint: &Endpoint) -> Endpoint {
        let Endpoint::Tcp { host, port } = endpoint else { return endpoint.clone() };
        let same_host = |place: &Place| place.host.eq_ignore_ascii_case(host);
        let exact = self.rules.iter().find(|(from, _)| same_host(from) && from.port == Some(*port));
        let by_host = || self.rules.iter().find(|(from, _)| same_host(from) && from.port.is_none());
        match exact.or_else(by_host) {
            Some((_, to)) => Endpoint::Tcp { host: to.host.clone(), port: to.port.unwrap_or(*port) },
            None => endpoint.clone(),
        }
    }

    /// The rules as typed back (`:set address-map` with no argument lists them).
    pub fn rules(&self) -> Vec<String> {
        self.rules.iter().map(|(from, to)| format!("{}={}", from.text(), to.text())).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(rules: &[&str]) -> AddressMap {
        let mut map = AddressMap::default();
        for rule in rules {
            map.add(rule).unwrap();
        }
        map
    }

    #[test]
    fn exact_rules_win_over_host_rules_and_unmapped_endpoints_stay() {
        let m = map(&["10.0.0.1:6379=127.0.0.1:7000", "10.0.0.1=127.0.0.2", "node-b.internal=localhost"]);
        assert_eq!(m.reach(&Endpoint::tcp("10.0.0.1", 6379)), Endpoint::tcp("127.0.0.1", 7000));
        assert_eq!(m.reach(&Endpoint::tcp("10.0.0.1", 6380)), Endpoint::tcp("127.0.0.2", 6380));
        assert_eq!(m.reach(&Endpoint::tcp("NODE-B.internal", 1)), Endpoint::tcp("localhost", 1));
        assert_eq!(m.reach(&Endpoint::tcp("10.0.0.9", 6379)), Endpoint::tcp("10.0.0.9", 6379));
    }

    #[test]
    fn ipv6_sides_parse_with_or_without_brackets() {
        let m = map(&["[fd00::1]:6379=[::1]:7000", "fd00::2=::1"]);
        assert_eq!(m.reach(&Endpoint::tcp("fd00::1", 6379)), Endpoint::tcp("::1", 7000));
        assert_eq!(m.reach(&Endpoint::tcp("fd00::2", 6390)), Endpoint::tcp("::1", 6390));
        assert_eq!(m.rules(), ["[fd00::1]:6379=[::1]:7000", "[fd00::2]=[::1]"]);
    }

    #[test]
    fn bad_rules_are_refused_and_a_later_rule_replaces_an_earlier_one() {
        let mut m = AddressMap::default();
        for bad in ["nothing", "a:0=b:1", "a:x=b", "=b", "a=b:7000", "a b=c", "[::1=b"] {
            assert!(m.add(bad).is_err(), "{bad}");
        }
        m.add("a:1=b:2").unwrap();
        m.add("a:1=c:3").unwrap();
        assert_eq!(m.rules(), ["a:1=c:3"]);
        assert_eq!(m.reach(&Endpoint::Unix("/tmp/s".into())), Endpoint::Unix("/tmp/s".into()));
    }
}
