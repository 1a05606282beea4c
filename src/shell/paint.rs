//! Colours, and the decision to use them: the only module that imports owo-colors.
//! Each primary gets one colour, used for its keys, its rows in `:nodes` and its cells
//! in `:map`, so a key's owner is visible at a glance.

use owo_colors::{AnsiColors, OwoColorize};

pub use crate::output::auto_color;

const NODE_COLOURS: [AnsiColors; 6] =
    [AnsiColors::Cyan, AnsiColors::Magenta, AnsiColors::Yellow, AnsiColors::Green, AnsiColors::Blue, AnsiColors::Red];

/// `text` in the colour of the `index`-th primary.
pub fn node(index: usize, text: &str) -> String {
    let colour = NODE_COLOURS.get(index % NODE_COLOURS.len()).copied().unwrap_or(AnsiColors::Default);
    text.color(colour).to_string()
}

/// Underlined text (the hashed part of a key).
pub fn underline(text: &str) -> String {
    text.underline().to_string()
}

/// Grey text (hints).
pub fn grey(text: &str) -> String {
    text.bright_black().to_string()
}

/// Bold text (command names).
pub fn bold(text: &str) -> String {
    text.bold().to_string()
}

/// Text that is wrong (an unknown command, an argument that does not fit).
pub fn wrong(text: &str) -> String {
    text.red().to_string()
}

/// String literals in a typed line.
pub fn string(text: &str) -> String {
    text.green().to_string()
}

/// Numbers in a typed line.
pub fn number(text: &str) -> String {
    text.yellow().to_string()
}

/// A warning in a hint (CROSSSLOT before Enter).
pub fn warning(text: &str) -> String {
    text.red().bold().to_string()
}
