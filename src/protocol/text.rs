//! Text that came from a server, made safe to show on a terminal. A node's hostname,
//! an error message or a COMMAND DOCS summary could carry escape sequences (`ESC ]0;…`
//! retitles the terminal, OSC 52 writes the clipboard, CSI moves the cursor); wherever
//! rcli prints server text outside a reply body, control characters are shown escaped
//! in the `\x1b` style of quoted strings instead. Also padding that cannot fail on
//! widths a server chose.

use std::borrow::Cow;

/// `text` with every control character (C0 — but `\n` when `keep_newlines` —, DEL and
/// the C1 range) written as `\xHH`.
pub fn escape_controls(text: &str, keep_newlines: bool) -> Cow<'_, str> {
    let unsafe_char = |c: char| is_control(c) && !(keep_newlines && c == '\n');
    if !text.chars().any(unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if unsafe_char(c) {
            out.push_str(&format!("\\x{:02x}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// [`escape_controls`] of bytes read as UTF-8 (invalid sequences replaced), on one line.
pub fn escape_bytes(bytes: &[u8]) -> String {
    escape_controls(&String::from_utf8_lossy(bytes), false).into_owned()
}

fn is_control(c: char) -> bool {
    matches!(u32::from(c), 0..=0x1f | 0x7f..=0x9f)
}

/// Escapes, in place from `from` on, the bytes of rendered reply text that a terminal
/// would act on: C0 controls but `\t`, `\n` and `\r`, DEL, and C1 controls encoded as
/// UTF-8. Used only when stdout is a terminal; piped output stays byte for byte.
pub fn escape_for_terminal(out: &mut Vec<u8>, from: usize) {
    let Some(tail) = out.get(from..) else { return };
    let is_c1_lead =
        |i: usize| tail.get(i) == Some(&0xc2) && tail.get(i + 1).is_some_and(|b| (0x80..=0x9f).contains(b));
    let dangerous = |i: usize, b: u8| (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r')) || b == 0x7f || is_c1_lead(i);
    if !tail.iter().enumerate().any(|(i, &b)| dangerous(i, b)) {
        return;
    }
    let mut escaped = Vec::with_capacity(tail.len() + 16);
    let mut i = 0;
    while let Some(&b) = tail.get(i) {
        if dangerous(i, b) {
            let code = if is_c1_lead(i) { tail.get(i + 1).copied().unwrap_or(b) } else { b };
            escaped.extend_from_slice(format!("\\x{code:02x}").as_bytes());
            i += if is_c1_lead(i) { 2 } else { 1 };
        } else {
            escaped.push(b);
            i += 1;
        }
    }
    out.truncate(from);
    out.extend_from_slice(&escaped);
}

/// `text` padded with spaces to `width` characters (never shortened), for tables whose
/// cells come from a server: no formatting width limit applies.
pub fn pad(text: &str, width: usize) -> String {
    let len = text.chars().count();
    let mut out = String::with_capacity(text.len() + width.saturating_sub(len));
    out.push_str(text);
    out.extend(std::iter::repeat_n(' ', width.saturating_sub(len)));
    out
}

/// Word-wraps `text` into lines of at most `width` characters (a longer word gets a
/// line of its own); no line ends in a space.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_keeps_lines_within_the_width() {
        assert_eq!(wrap("a bb ccc dddd", 6), ["a bb", "ccc", "dddd"]);
        assert_eq!(wrap("averyveryverylongword x", 5), ["averyveryverylongword", "x"]);
        assert_eq!(wrap("", 10), [""]);
    }

    #[test]
    fn escape_sequences_are_shown_not_sent() {
        assert_eq!(escape_controls("plain", false), "plain");
        assert_eq!(escape_controls("\u{1b}]0;PWNED\u{7}", false), "\\x1b]0;PWNED\\x07");
        assert_eq!(escape_controls("a\nb\rc", false), "a\\x0ab\\x0dc");
        assert_eq!(escape_controls("a\nb", true), "a\nb");
        assert_eq!(escape_controls("\u{9b}31m", false), "\\x9b31m", "C1 CSI");
        assert_eq!(escape_controls("héllo → ok", false), "héllo → ok");
        assert_eq!(escape_bytes(b"\x1b[2J\xff"), "\\x1b[2J\u{fffd}");
    }

    #[test]
    fn rendered_replies_lose_only_what_a_terminal_would_act_on() {
        let mut out = b"kept\x1b".to_vec();
        out.extend_from_slice(b"(error) \x1b]0;x\x07 tab\tnl\nr\r \xc2\x9b2J caf\xc3\xa9");
        escape_for_terminal(&mut out, 5);
        assert_eq!(String::from_utf8_lossy(&out), "kept\u{1b}(error) \\x1b]0;x\\x07 tab\tnl\nr\r \\x9b2J café");
    }

    #[test]
    fn padding_has_no_width_limit() {
        assert_eq!(pad("ab", 4), "ab  ");
        assert_eq!(pad("abcd", 2), "abcd");
        assert_eq!(pad("x", 70_000).len(), 70_000);
    }
}
