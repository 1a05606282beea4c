//! The `:set` preferences of the shell's conveniences (docs/shell.md): `confirm on|off`
//! (the question before dangerous commands) and `pager on|off|auto`.

use crate::shell::pager::PagerMode;
use crate::shell::state::Shell;

/// Applies `:set NAME VALUE` for the conveniences' preferences; `None` when `name` is
/// not one of them.
pub fn set(shell: &mut Shell, name: &str, value: Option<&str>) -> Option<Result<(), String>> {
    match name {
        "confirm" => Some(match super::on_off(value) {
            Some(on) => {
                shell.prefs.confirm = on;
                Ok(())
            }
            None => Err("usage: :set confirm on|off".into()),
        }),
        "pager" => Some(match value.and_then(PagerMode::parse) {
            Some(mode) => {
                shell.prefs.pager = mode;
                Ok(())
            }
            None => Err("usage: :set pager off|on|auto".into()),
        }),
        _ => None,
    }
}
