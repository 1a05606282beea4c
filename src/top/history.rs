//! Sparkline data: the last few values of a figure (ops/s of a node or of the
//! cluster), kept in a ring, and drawn as block characters scaled to their own
//! maximum. Pure.

use std::collections::VecDeque;

/// Values a history keeps (a minute at the default interval; wider than any cell).
pub const KEPT: usize = 120;

/// The eight heights of a sparkline, lowest first.
const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// The last [`KEPT`] values, oldest first; `None` for a round without a value (the
/// node did not answer).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    values: VecDeque<Option<f64>>,
}

impl History {
    pub fn push(&mut self, value: Option<f64>) {
        if self.values.len() == KEPT {
            self.values.pop_front();
        }
        self.values.push_back(value.filter(|v| v.is_finite() && *v >= 0.0));
    }

    /// The values, oldest first.
    pub fn values(&self) -> Vec<Option<f64>> {
        self.values.iter().copied().collect()
    }
}

/// The last `width` values as whole numbers for a bar chart (a gap is 0).
pub fn bars(values: &[Option<f64>], width: usize) -> Vec<u64> {
    let skip = values.len().saturating_sub(width);
    values.iter().skip(skip).map(|v| v.map_or(0, |v| v.round() as u64)).collect()
}

/// The last `width` values as block characters, the highest one full; a gap is a
/// space, and an all-zero history the lowest bar.
pub fn sparkline(values: &[Option<f64>], width: usize) -> String {
    let shown = values.get(values.len().saturating_sub(width)..).unwrap_or_default();
    let top = shown.iter().flatten().copied().fold(0.0f64, f64::max);
    shown
        .iter()
        .map(|value| match value {
            None => ' ',
            Some(_) if top <= 0.0 => BARS[0],
            Some(v) => {
                let step = ((v / top) * (BARS.len() - 1) as f64).round() as usize;
                BARS.get(step).or(BARS.last()).copied().unwrap_or(' ')
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_history_keeps_the_last_values() {
        let mut history = History::default();
        for i in 0..(KEPT + 5) {
            history.push(Some(i as f64));
        }
        history.push(Some(f64::NAN));
        let values = history.values();
        assert_eq!(values.len(), KEPT);
        assert_eq!(values.first(), Some(&Some(6.0)));
        assert_eq!(values.last(), Some(&None), "a NaN is no value");
        assert_eq!(bars(&values, 3), [123, 124, 0]);
    }

    #[test]
    fn sparklines_scale_to_their_maximum() {
        assert_eq!(sparkline(&[Some(0.0), Some(50.0), Some(100.0), None], 4), "▁▅█ ");
        assert_eq!(sparkline(&[Some(1.0), Some(0.0), Some(0.0)], 2), "▁▁");
        assert_eq!(sparkline(&[Some(0.0); 3], 5), "▁▁▁");
        assert_eq!(sparkline(&[], 5), "");
    }
}
