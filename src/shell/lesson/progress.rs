//! Walking a lesson (pure): the current step, what it wants read for an attempt, and
//! what to say after it — a step done (and the next one checked against the same
//! attempt, quietly, since the user may already have reached it), a hint, the end.
//! Skipping and the texts shown for a step live here too.

use super::{Attempt, Lesson, Memory, Probe, Readings, Step, Verdict};

/// Something to tell the user after an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Said {
    /// Step `index` (0-based) is done: why it worked.
    Done { index: usize, explanation: String },
    /// The attempt was relevant but did not reach the step.
    Hint(String),
    /// Every step is behind: the lesson's last words.
    Finished(String),
}

/// A lesson under way.
pub struct Progress {
    pub lesson: &'static Lesson,
    /// The current step (0-based); `steps.len()` once finished.
    step: usize,
    pub memory: Memory,
    skipped: usize,
}

impl Progress {
    /// Starts `lesson`; `lab` says whether the shell has the sandbox lab commands.
    pub fn new(lesson: &'static Lesson, lab: bool) -> Progress {
        Progress { lesson, step: 0, memory: Memory { lab, ..Memory::default() }, skipped: 0 }
    }

    /// The current step and its index, until the lesson is finished.
    pub fn current(&self) -> Option<(usize, &'static Step)> {
        self.lesson.steps.get(self.step).map(|s| (self.step, s))
    }

    pub fn is_finished(&self) -> bool {
        self.current().is_none()
    }

    /// The probes for `attempt`: what the lesson observes (when `observing`) and what
    /// the current step checks, without repeats, a fresh map first.
    pub fn probes(&self, attempt: &Attempt, observing: bool) -> Vec<Probe> {
        let mut probes = if observing { (self.lesson.observe_probes)(attempt, &self.memory) } else { Vec::new() };
        if let Some((_, step)) = self.current() {
            probes.extend((step.probes)(attempt, &self.memory));
        }
        let mut unique: Vec<Probe> = Vec::new();
        for probe in probes {
            if !unique.contains(&probe) {
                unique.push(probe);
            }
        }
        unique.sort_by_key(|p| !matches!(p, Probe::FreshMap));
        unique
    }

    /// Lets the lesson remember what `attempt` showed (once per attempt, before checks).
    pub fn observe(&mut self, attempt: &Attempt, readings: &Readings) {
        (self.lesson.observe)(attempt, readings, &mut self.memory);
    }

    /// Checks `attempt` against the current step. `chained` is set when an earlier
    /// step was just reached by the same attempt: then only success is worth saying.
    /// Returns what to say and whether the lesson moved on (the caller checks the next
    /// step with fresh readings).
    pub fn check(&mut self, attempt: &Attempt, readings: &Readings, chained: bool) -> (Vec<Said>, bool) {
        let Some((index, step)) = self.current() else { return (Vec::new(), false) };
        match (step.check)(attempt, readings, &self.memory) {
            Verdict::Done(explanation) => {
                self.step += 1;
                let mut said = vec![Said::Done { index, explanation }];
                said.extend(self.finish());
                (said, !self.is_finished())
            }
            Verdict::Hint(text) if !chained => (vec![Said::Hint(text)], false),
            Verdict::Hint(_) | Verdict::Quiet => (Vec::new(), false),
        }
    }

    /// `:lesson skip`: moves past the current step.
    pub fn skip(&mut self) -> Vec<Said> {
        if self.is_finished() {
            return Vec::new();
        }
        self.step += 1;
        self.skipped += 1;
        self.finish().into_iter().collect()
    }

    fn finish(&self) -> Option<Said> {
        if !self.is_finished() {
            return None;
        }
        let total = self.lesson.steps.len();
        let done = total.saturating_sub(self.skipped);
        let skipped = if self.skipped > 0 { format!(" ({} skipped)", self.skipped) } else { String::new() };
        Some(Said::Finished(format!(
            "Lesson {} complete: {done} of {total} steps done{skipped}. {}",
            self.lesson.name, self.lesson.outro
        )))
    }

    /// The line shown above each prompt: `[lesson hash-tags 2/5] Two keys, one slot`.
    pub fn banner(&self) -> Option<String> {
        let (index, step) = self.current()?;
        Some(format!("[lesson {} {}/{}] {}", self.lesson.name, index + 1, self.lesson.steps.len(), step.title))
    }

    /// The current step in full: its heading and goal.
    pub fn step_text(&self) -> Option<String> {
        let (index, step) = self.current()?;
        Some(format!(
            "── {}, step {} of {}: {}\n{}",
            self.lesson.name,
            index + 1,
            self.lesson.steps.len(),
            step.title,
            (step.goal)(&self.memory)
        ))
    }

    /// The lesson's opening: title, introduction and the `:lesson` commands.
    pub fn intro(&self) -> String {
        format!(
            "Lesson {}: {}\n{}\n`:lesson` shows the current step again, `:lesson skip` skips it, `:lesson quit` ends the lesson.",
            self.lesson.name, self.lesson.title, self.lesson.intro
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::words;
    use super::super::{LESSONS, hash_tags};
    use super::*;

    #[test]
    fn a_step_done_moves_on_and_the_next_is_checked_quietly() {
        let mut progress = Progress::new(&hash_tags::LESSON, false);
        assert_eq!(progress.banner().as_deref(), Some("[lesson hash-tags 1/5] Where does a key go?"));
        let argv = words(":slot user:{1}:name user:{1}:email");
        let attempt = Attempt::new(&argv, &[], None, None);
        let readings = Readings::default();
        let (said, moved) = progress.check(&attempt, &readings, false);
        assert!(matches!(said.as_slice(), [Said::Done { index: 0, .. }]) && moved);
        // Step 2 (two keys in one slot) is reached by the same command.
        let (said, moved) = progress.check(&attempt, &readings, true);
        assert!(matches!(said.as_slice(), [Said::Done { index: 1, .. }]) && moved, "{said:?}");
        // Step 3 wants an MSET: a chained check says nothing.
        let (said, moved) = progress.check(&attempt, &readings, true);
        assert!(said.is_empty() && !moved);
        assert!(progress.step_text().is_some_and(|t| t.starts_with("── hash-tags, step 3 of 5: ")));
    }

    #[test]
    fn hints_are_shown_only_for_the_step_the_user_sees() {
        let mut progress = Progress::new(&hash_tags::LESSON, false);
        progress.skip();
        let argv = words(":slot user:1:name user:1:email");
        let attempt = Attempt::new(&argv, &[], None, None);
        let (said, _) = progress.check(&attempt, &Readings::default(), true);
        assert!(said.is_empty());
        let (said, moved) = progress.check(&attempt, &Readings::default(), false);
        assert!(matches!(said.as_slice(), [Said::Hint(text)] if text.contains("12440") && text.contains("6268")));
        assert!(!moved);
    }

    #[test]
    fn skipping_every_step_finishes_and_counts() {
        for lesson in LESSONS {
            let mut progress = Progress::new(lesson, true);
            let mut last = Vec::new();
            for _ in 0..lesson.steps.len() {
                assert!(progress.step_text().is_some() && progress.banner().is_some());
                last = progress.skip();
            }
            assert!(progress.is_finished() && progress.banner().is_none());
            let total = lesson.steps.len();
            assert!(
                matches!(last.as_slice(), [Said::Finished(t)] if t.contains(&format!("0 of {total} steps done ({total} skipped)"))),
                "{last:?}"
            );
            assert!(progress.skip().is_empty());
        }
    }

    #[test]
    fn probes_come_once_with_a_fresh_map_first() {
        let progress = Progress::new(&super::super::failover::LESSON, false);
        let argv = words("get foo");
        let attempt = Attempt::new(&argv, &[1], None, None);
        let probes = progress.probes(&attempt, true);
        assert!(probes.iter().skip(1).all(|p| *p != Probe::FreshMap));
        let mut unique = probes.clone();
        unique.dedup();
        assert_eq!(unique, probes);
    }
}
