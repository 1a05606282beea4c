//! The keys of the live view and what they change: `s` cycles the sort column, `r`
//! reverses it, `/` starts a filter (typed text applies as it is typed; Enter keeps
//! it, Esc drops it), space pauses, `q` or Ctrl-C quits. Pure: the screen turns
//! terminal events into [`Key`]s.

use super::table::SortBy;

/// A key press, as the controls see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    Char(char),
    Enter,
    Escape,
    Backspace,
    CtrlC,
    Other,
}

/// What the screen does after a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Quit,
    Redraw,
    Nothing,
}

/// Longest filter kept.
const MAX_FILTER: usize = 64;

/// The viewer's choices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Controls {
    pub sort: SortBy,
    pub descending: bool,
    /// The filter in force.
    pub filter: String,
    /// While `/` is being typed: the filter before it began.
    pub editing: Option<String>,
    pub paused: bool,
}

impl Default for Controls {
    fn default() -> Self {
        Controls { sort: SortBy::Slots, descending: false, filter: String::new(), editing: None, paused: false }
    }
}

impl Controls {
    pub fn press(&mut self, key: Key) -> Action {
        if key == Key::CtrlC {
            return Action::Quit;
        }
        if let Some(before) = &self.editing {
            match key {
                Key::Enter => self.editing = None,
                Key::Escape => {
                    self.filter = before.clone();
                    self.editing = None;
                }
                Key::Backspace => {
                    self.filter.pop();
                }
                Key::Char(c) if !c.is_control() && self.filter.chars().count() < MAX_FILTER => self.filter.push(c),
                _ => return Action::Nothing,
            }
            return Action::Redraw;
        }
        match key {
            Key::Char('q' | 'Q') => return Action::Quit,
            Key::Char('s') => {
                self.sort = self.sort.next();
                // Figures read best busiest first; slots and addresses in their order.
                self.descending = !matches!(self.sort, SortBy::Slots | SortBy::Node);
            }
            Key::Char('r') => self.descending = !self.descending,
            Key::Char('/') => {
                self.editing = Some(self.filter.clone());
                self.filter.clear();
            }
            Key::Char(' ') => self.paused = !self.paused,
            Key::Escape if !self.filter.is_empty() => self.filter.clear(),
            _ => return Action::Nothing,
        }
        Action::Redraw
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(controls: &mut Controls, text: &str) {
        for c in text.chars() {
            controls.press(Key::Char(c));
        }
    }

    #[test]
    fn sorting_cycles_and_reverses() {
        let mut c = Controls::default();
        assert_eq!(c.press(Key::Char('s')), Action::Redraw);
        assert_eq!((c.sort, c.descending), (SortBy::Ops, true));
        c.press(Key::Char('r'));
        assert!(!c.descending);
        for _ in 0..9 {
            c.press(Key::Char('s'));
        }
        assert_eq!((c.sort, c.descending), (SortBy::Slots, false), "the cycle comes back to slot order");
    }

    #[test]
    fn a_filter_is_typed_kept_or_dropped() {
        let mut c = Controls::default();
        c.press(Key::Char('/'));
        typed(&mut c, "700q");
        assert_eq!(c.filter, "700q", "q is text while typing");
        c.press(Key::Backspace);
        assert_eq!(c.press(Key::Enter), Action::Redraw);
        assert_eq!((c.filter.as_str(), c.editing.is_none()), ("700", true));
        c.press(Key::Char('/'));
        typed(&mut c, "x");
        c.press(Key::Escape);
        assert_eq!(c.filter, "700", "Esc restores the filter in force");
        c.press(Key::Escape);
        assert_eq!(c.filter, "", "Esc outside typing clears it");
    }

    #[test]
    fn pause_and_quit() {
        let mut c = Controls::default();
        c.press(Key::Char(' '));
        assert!(c.paused);
        assert_eq!(c.press(Key::Other), Action::Nothing);
        assert_eq!(c.press(Key::Char('q')), Action::Quit);
        c.press(Key::Char('/'));
        assert_eq!(c.press(Key::CtrlC), Action::Quit, "Ctrl-C quits even while typing");
    }
}
