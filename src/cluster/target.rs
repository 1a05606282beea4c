//! Where keyless commands go (`:use`, `--target`): the node in the prompt, one named
//! node, or a set of nodes for fan-out.

use crate::endpoint::Endpoint;

/// Where keyless commands go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The node in the prompt (redis-cli's behaviour).
    Current,
    Node(Endpoint),
    Primaries,
    Replicas,
    All,
    Random,
    /// Follow the command's `request_policy` tip.
    Auto,
}

/// The words `:use` and `--target` accept besides an address or node id.
pub const TARGET_WORDS: &[&str] = &["primaries", "replicas", "all", "random", "auto", "current"];

impl Target {
    /// Parses a target name or `HOST:PORT`.
    pub fn parse(text: &str) -> Option<Target> {
        Some(match text.to_ascii_lowercase().as_str() {
            "current" | "prompt" => Target::Current,
            "primaries" | "masters" => Target::Primaries,
            "replicas" | "slaves" => Target::Replicas,
            "all" => Target::All,
            "random" => Target::Random,
            "auto" => Target::Auto,
            _ => Target::Node(Endpoint::parse(text)?),
        })
    }

    pub fn describe(&self) -> String {
        match self {
            Target::Current => "the node in the prompt".into(),
            Target::Node(e) => e.to_string(),
            Target::Primaries => "all primaries".into(),
            Target::Replicas => "all replicas".into(),
            Target::All => "all nodes".into(),
            Target::Random => "a random primary".into(),
            Target::Auto => "auto (the command's request_policy tip)".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse() {
        assert_eq!(Target::parse("primaries"), Some(Target::Primaries));
        assert_eq!(Target::parse("127.0.0.1:7000"), Some(Target::Node(Endpoint::tcp("127.0.0.1", 7000))));
        assert_eq!(Target::parse("bogus"), None);
    }
}
