//! Deterministic ways to cut one input into reads: the same input always gets the same
//! cuts, and different inputs get different ones, so the fuzzer explores splits without
//! spending input bytes on them.

/// A small xorshift generator seeded from the input (FNV-1a), with a salt per cutting.
pub struct Cuts {
    state: u64,
}

impl Cuts {
    pub fn new(data: &[u8], salt: u64) -> Cuts {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325 ^ salt.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        for &b in data {
            hash = (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        Cuts { state: hash | 1 }
    }

    fn next(&mut self) -> u64 {
        let mut x = self.state;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.state = x;
        x
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    /// Increasing end offsets of reads of 1..=`max` bytes, the last one `len`.
    pub fn ends(&mut self, len: usize, max: usize) -> Vec<usize> {
        let mut ends = Vec::new();
        let mut at = 0;
        while at < len {
            let size = self.below(max) + 1;
            at = (at + size).min(len);
            ends.push(at);
        }
        if ends.is_empty() {
            ends.push(0);
        }
        ends
    }
}

/// The cuttings every target tries: all at once, byte by byte (short inputs), and
/// three pseudo-random ones with small and larger reads.
pub fn cuttings(data: &[u8]) -> Vec<Vec<usize>> {
    let len = data.len();
    let mut all = vec![vec![len]];
    if len <= 512 {
        all.push((1..=len).collect());
    }
    all.push(Cuts::new(data, 1).ends(len, 3));
    all.push(Cuts::new(data, 2).ends(len, 16));
    all.push(Cuts::new(data, 3).ends(len, 200));
    all
}
