//! `--latency-dist`'s picture (docs/redis-cli-modes.md, section 5.2): 31 latency
//! buckets, each drawn as its character on a background whose shade says what share
//! of the samples fell in it, and the legend printed every 20 spectra. Pure.

/// The buckets: the longest latency (µs) each holds and its character; the last one
/// (0) takes everything slower.
pub const BUCKETS: [(u64, u8); 31] = [
    (10, b'.'),
    (125, b'-'),
    (250, b'*'),
    (500, b'#'),
    (1000, b'1'),
    (2000, b'2'),
    (3000, b'3'),
    (4000, b'4'),
    (5000, b'5'),
    (6000, b'6'),
    (7000, b'7'),
    (8000, b'8'),
    (9000, b'9'),
    (10000, b'A'),
    (20000, b'B'),
    (30000, b'C'),
    (40000, b'D'),
    (50000, b'E'),
    (100_000, b'F'),
    (200_000, b'G'),
    (300_000, b'H'),
    (400_000, b'I'),
    (500_000, b'J'),
    (1_000_000, b'K'),
    (2_000_000, b'L'),
    (4_000_000, b'M'),
    (8_000_000, b'N'),
    (16_000_000, b'O'),
    (30_000_000, b'P'),
    (60_000_000, b'Q'),
    (0, b'?'),
];

/// xterm-256 background colours from 0% to 100% of the samples.
pub const COLOR_PALETTE: &[u8] =
    &[0, 233, 234, 235, 237, 239, 241, 243, 245, 247, 144, 143, 142, 184, 226, 214, 208, 202, 196];
/// `--mono`: greys only.
pub const MONO_PALETTE: &[u8] = &[0, 233, 234, 235, 237, 239, 241, 243, 245, 247, 249, 251, 253];

/// The bucket a latency of `us` microseconds falls in.
pub fn bucket(us: u64) -> usize {
    BUCKETS.iter().position(|&(max, _)| max == 0 || us <= max).unwrap_or(BUCKETS.len() - 1)
}

/// Samples per bucket over one interval.
#[derive(Debug, Clone, Default)]
pub struct Distribution {
    pub counts: [u64; BUCKETS.len()],
    pub total: u64,
}

impl Distribution {
    pub fn record(&mut self, us: u64) {
        if let Some(count) = self.counts.get_mut(bucket(us)) {
            *count += 1;
        }
        self.total += 1;
    }

    /// One spectrum line (ANSI colours, ending in a reset and a newline), as
    /// redis-cli's `showLatencyDistSamples`.
    pub fn line(&self, palette: &[u8]) -> String {
        let mut out = String::from("\x1b[38;5;0m");
        let top = palette.len().saturating_sub(1);
        for (&count, &(_, character)) in self.counts.iter().zip(BUCKETS.iter()) {
            let share = if self.total == 0 { 0.0 } else { count as f64 / self.total as f64 };
            let index = ((share * top as f64).ceil() as usize).min(top);
            let color = palette.get(index).copied().unwrap_or(0);
            out.push_str(&format!("\x1b[48;5;{color}m{}", char::from(character)));
        }
        out.push_str("\x1b[0m\n");
        out
    }
}

/// The legend redis-cli prints before every 20th spectrum.
pub fn legend(palette: &[u8]) -> String {
    let mut out = String::from(
        "---------------------------------------------\n\
         . - * #          .01 .125 .25 .5 milliseconds\n\
         1,2,3,...,9      from 1 to 9     milliseconds\n\
         A,B,C,D,E        10,20,30,40,50  milliseconds\n\
         F,G,H,I,J        .1,.2,.3,.4,.5       seconds\n\
         K,L,M,N,O,P,Q,?  1,2,4,8,16,30,60,>60 seconds\n\
         From 0 to 100%: ",
    );
    for color in palette {
        out.push_str(&format!("\x1b[48;5;{color}m "));
    }
    out.push_str("\x1b[0m\n---------------------------------------------\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latencies_fall_in_the_first_bucket_that_holds_them() {
        assert_eq!(bucket(0), 0);
        assert_eq!(bucket(10), 0);
        assert_eq!(bucket(11), 1);
        assert_eq!(bucket(1000), 4);
        assert_eq!(bucket(1001), 5);
        assert_eq!(bucket(60_000_000), 29);
        assert_eq!(bucket(60_000_001), 30);
    }

    #[test]
    fn the_spectrum_shades_each_bucket_by_its_share() {
        let mut dist = Distribution::default();
        for us in [5, 5, 100, 300] {
            dist.record(us);
        }
        let line = dist.line(COLOR_PALETTE);
        // 50% → ceil(0.5 * 18) = 9 → 247; 25% → ceil(4.5) = 5 → 239; 0% → 0.
        assert!(line.starts_with("\x1b[38;5;0m\x1b[48;5;247m.\x1b[48;5;239m-\x1b[48;5;0m*\x1b[48;5;239m#"));
        assert!(line.ends_with("\x1b[48;5;0m?\x1b[0m\n"));
        assert_eq!(line.matches("\x1b[48;5;").count(), 31);
        let mono = legend(MONO_PALETTE);
        assert!(mono.contains("From 0 to 100%: \x1b[48;5;0m \x1b[48;5;233m "));
        assert_eq!(mono.lines().count(), 8);
        assert_eq!(legend(COLOR_PALETTE).matches("\x1b[48;5;").count(), 19);
    }
}
