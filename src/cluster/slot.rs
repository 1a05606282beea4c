//! Redis Cluster hash slots: CRC16 (XMODEM) of the key, or of its hash tag, mod 16384.
//!
//! The hash-tag rule is the cluster spec's: the bytes between the first `{` and the first
//! `}` after it, when that is not empty; otherwise the whole key. Pure functions only.

/// Number of hash slots in a Redis Cluster.
pub const SLOTS: usize = 16384;

/// Which part of a key is hashed, and why: the teaching half of [`slot_of`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashedPart {
    /// No `{`, or no `}` after it: the whole key is hashed.
    WholeKey,
    /// `{}` with nothing inside: the whole key is hashed.
    EmptyTag,
    /// A non-empty tag: only the bytes in `start..end` are hashed.
    Tag { start: usize, end: usize },
}

impl HashedPart {
    /// The bytes of `key` that are hashed.
    pub fn bytes<'k>(&self, key: &'k [u8]) -> &'k [u8] {
        match *self {
            HashedPart::Tag { start, end } => key.get(start..end).unwrap_or(key),
            _ => key,
        }
    }

    /// One line saying which rule applied.
    pub fn explain(&self, key: &[u8]) -> String {
        match self {
            HashedPart::WholeKey => "no {…} tag → whole key hashed".to_string(),
            HashedPart::EmptyTag => "{} empty → whole key hashed".to_string(),
            HashedPart::Tag { .. } => {
                format!("first {{…}} → \"{}\" hashed", String::from_utf8_lossy(self.bytes(key)))
            }
        }
    }
}

/// Finds the hashed part of `key`.
pub fn hashed_part(key: &[u8]) -> HashedPart {
    let Some(open) = key.iter().position(|&b| b == b'{') else {
        return HashedPart::WholeKey;
    };
    match key.get(open + 1..).unwrap_or_default().iter().position(|&b| b == b'}') {
        None => HashedPart::WholeKey,
        Some(0) => HashedPart::EmptyTag,
        Some(len) => HashedPart::Tag { start: open + 1, end: open + 1 + len },
    }
}

/// The hash slot of `key`.
pub fn slot_of(key: &[u8]) -> u16 {
    let hashed = hashed_part(key).bytes(key);
    crc16::State::<crc16::XMODEM>::calculate(hashed) % SLOTS as u16
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values from `CLUSTER KEYSLOT` on redis-server 7.0.15.
    #[test]
    fn slots_match_cluster_keyslot() {
        for (key, slot) in [
            ("foo", 12182),
            ("hello", 866),
            ("bar", 5061),
            ("{}", 15257),
            ("a{}{b}", 15033),
            ("{{x}}", 11068),
            ("user:{1000}.following", 11326),
            ("{user1000}.following", 3443),
            ("foo{}{bar}", 8363),
            ("foo{{bar}}zap", 4015),
        ] {
            assert_eq!(slot_of(key.as_bytes()), slot, "{key}");
        }
    }

    #[test]
    fn crc16_is_xmodem() {
        assert_eq!(crc16::State::<crc16::XMODEM>::calculate(b"123456789"), 0x31C3);
    }

    #[test]
    fn hash_tag_rules_explain_themselves() {
        assert_eq!(hashed_part(b"plain"), HashedPart::WholeKey);
        assert_eq!(hashed_part(b"a{b"), HashedPart::WholeKey);
        assert_eq!(hashed_part(b"a{}b"), HashedPart::EmptyTag);
        let tagged = hashed_part(b"user:{1000}.following");
        assert_eq!(tagged.bytes(b"user:{1000}.following"), b"1000");
        assert_eq!(tagged.explain(b"user:{1000}.following"), "first {…} → \"1000\" hashed");
        assert_eq!(hashed_part(b"{{x}}").bytes(b"{{x}}"), b"{x");
    }
}
