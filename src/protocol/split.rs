//! Splitting a typed line into arguments exactly as redis-cli's `sdssplitargs` does.
//!
//! Arguments are bytes, not UTF-8: `"\xff"` is one byte. The rules (double quotes with
//! C escapes and `\xHH`, single quotes with only `\'`, quotes merging mid-token, a closing
//! quote that must be followed by a space) are in ../shared/docs/redis-cli.md §4.

/// The line could not be split (unbalanced quotes, or text glued after a closing quote).
/// redis-cli prints `Invalid argument(s)` for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidArguments;

/// C's `isspace` in the "C" locale.
pub fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

fn hex_value(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// Splits `line` into arguments; an empty or blank line gives an empty vector.
pub fn split_args(line: &[u8]) -> Result<Vec<Vec<u8>>, InvalidArguments> {
    let mut args = Vec::with_capacity(4);
    split_args_into(line, &mut args)?;
    Ok(args)
}

/// [`split_args`] into `args`, reusing the buffers already in it (piped input splits
/// millions of lines; this keeps the allocator out of the way). On error `args` holds
/// whatever was split so far.
pub fn split_args_into(line: &[u8], args: &mut Vec<Vec<u8>>) -> Result<(), InvalidArguments> {
    // C strings end at the first NUL, and so does redis-cli's view of a line.
    let line = match line.iter().position(|&b| b == 0) {
        Some(nul) => line.split_at(nul).0,
        None => line,
    };
    let at = |i: usize| line.get(i).copied();
    let mut count = 0;
    let mut p = 0;
    loop {
        while at(p).is_some_and(is_c_space) {
            p += 1;
        }
        if p >= line.len() {
            args.truncate(count);
            return Ok(());
        }
        if count == args.len() {
            args.push(Vec::new());
        }
        let Some(current) = args.get_mut(count) else { return Err(InvalidArguments) };
        current.clear();
        let (mut in_double, mut in_single) = (false, false);
        loop {
            let c = at(p);
            if in_double {
                match c {
                    None => return Err(InvalidArguments),
                    Some(b'\\') if at(p + 1) == Some(b'x') => {
                        match (at(p + 2).and_then(hex_value), at(p + 3).and_then(hex_value)) {
                            (Some(hi), Some(lo)) => {
                                current.push(hi * 16 + lo);
                                p += 3;
                            }
                            _ => {
                                current.push(b'x');
                                p += 1;
                            }
                        }
                    }
                    Some(b'\\') if at(p + 1).is_some() => {
                        p += 1;
                        current.push(match at(p) {
                            Some(b'n') => b'\n',
                            Some(b'r') => b'\r',
                            Some(b't') => b'\t',
                            Some(b'b') => 0x08,
                            Some(b'a') => 0x07,
                            Some(other) => other,
                            None => return Err(InvalidArguments),
                        });
                    }
                    Some(b'"') => {
                        if at(p + 1).is_some_and(|n| !is_c_space(n)) {
                            return Err(InvalidArguments);
                        }
                        p += 1;
                        break;
                    }
                    Some(other) => current.push(other),
                }
            } else if in_single {
                match c {
                    None => return Err(InvalidArguments),
                    Some(b'\\') if at(p + 1) == Some(b'\'') => {
                        p += 1;
                        current.push(b'\'');
                    }
                    Some(b'\'') => {
                        if at(p + 1).is_some_and(|n| !is_c_space(n)) {
                            return Err(InvalidArguments);
                        }
                        p += 1;
                        break;
                    }
                    Some(other) => current.push(other),
                }
            } else {
                match c {
                    None | Some(b' ' | b'\n' | b'\r' | b'\t') => break,
                    Some(b'"') => in_double = true,
                    Some(b'\'') => in_single = true,
                    Some(_) => {
                        // A run of plain bytes is copied at once (the common case).
                        let rest = line.get(p..).unwrap_or_default();
                        let run = rest
                            .iter()
                            .position(|&b| matches!(b, b' ' | b'\n' | b'\r' | b'\t' | b'"' | b'\''))
                            .unwrap_or(rest.len());
                        current.extend_from_slice(rest.split_at(run).0);
                        p += run;
                        continue;
                    }
                }
            }
            p += 1;
        }
        count += 1;
    }
}

/// The lower-case hex digit of a nibble (`n` < 16).
fn hex_digit(n: u8) -> u8 {
    match n {
        0..=9 => b'0' + n,
        _ => b'a' + (n & 15).saturating_sub(10),
    }
}

/// Quotes `bytes` the way redis-cli's `sdscatrepr` does, so output can be pasted back.
pub fn repr(bytes: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    for &b in bytes {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'"' => out.extend_from_slice(b"\\\""),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x07 => out.extend_from_slice(b"\\a"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x20..=0x7e => out.push(b),
            _ => {
                out.extend_from_slice(&[b'\\', b'x', hex_digit(b >> 4), hex_digit(b & 15)]);
            }
        }
    }
    out.push(b'"');
}

/// [`repr`] into a `String` (the result is always ASCII).
pub fn repr_string(bytes: &[u8]) -> String {
    let mut out = Vec::with_capacity(bytes.len() + 2);
    repr(bytes, &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// redis-cli's `N cmd` prefix: a first word of digits before a command repeats it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repeat {
    /// No prefix: run the command once.
    Once,
    /// Run the rest of the line this many times.
    Times(i64),
    /// Digits that are not a positive count: redis-cli's "Invalid repeat command
    /// option value.".
    Invalid,
}

/// The repeat prefix of a split line, if it has one (the command starts after it).
pub fn repeat_prefix(argv: &[Vec<u8>]) -> Repeat {
    match argv {
        [first, _, ..] if first.iter().all(u8::is_ascii_digit) => {
            match std::str::from_utf8(first).ok().and_then(|n| n.parse::<i64>().ok()).filter(|&n| n > 0) {
                Some(n) => Repeat::Times(n),
                None => Repeat::Invalid,
            }
        }
        _ => Repeat::Once,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(line: &str) -> Result<Vec<String>, InvalidArguments> {
        split_args(line.as_bytes())
            .map(|args| args.into_iter().map(|a| String::from_utf8_lossy(&a).into_owned()).collect())
    }

    #[test]
    fn plain_words_and_blanks() {
        assert_eq!(split("  set  foo   bar \r\n").unwrap(), ["set", "foo", "bar"]);
        assert!(split("").unwrap().is_empty());
        assert!(split(" \t ").unwrap().is_empty());
    }

    #[test]
    fn double_quotes_with_escapes() {
        assert_eq!(split(r#"set k "a b\n\t\"\\""#).unwrap(), ["set", "k", "a b\n\t\"\\"]);
        assert_eq!(split_args(br#""\x41\xff\xZZ""#).unwrap(), [b"A\xffxZZ".to_vec()]);
        assert_eq!(split(r#""\a\b\q""#).unwrap(), ["\x07\x08q"]);
    }

    #[test]
    fn single_quotes_only_escape_the_quote() {
        assert_eq!(split(r"'it\'s \n'").unwrap(), ["it's \\n"]);
    }

    #[test]
    fn quotes_merge_mid_token() {
        assert_eq!(split(r#"foo"bar baz""#).unwrap(), ["foobar baz"]);
        assert_eq!(split(r#"key"" x"#).unwrap(), ["key", "x"]);
        assert_eq!(split(r#""""#).unwrap(), [""]);
    }

    #[test]
    fn bad_lines_are_invalid() {
        for bad in [r#"get ""key"#, r#"get "key"x"#, r#"get "open"#, "get 'open", r#"get "a\"#] {
            assert_eq!(split(bad), Err(InvalidArguments), "{bad}");
        }
    }

    #[test]
    fn repr_matches_sdscatrepr() {
        assert_eq!(repr_string(b"a\"\\\n\r\t\x07\x08\x00\xe4 ~"), r#""a\"\\\n\r\t\a\b\x00\xe4 ~""#);
    }

    #[test]
    fn repr_round_trips_through_split() {
        let bytes: Vec<u8> = (0..=255).collect();
        let quoted = repr_string(&bytes);
        assert_eq!(split_args(quoted.as_bytes()).unwrap(), [bytes]);
    }

    #[test]
    fn repeat_prefixes() {
        let line = |l: &str| split_args(l.as_bytes()).unwrap();
        assert_eq!(repeat_prefix(&line("3 incr x")), Repeat::Times(3));
        assert_eq!(repeat_prefix(&line("incr 3")), Repeat::Once);
        assert_eq!(repeat_prefix(&line("3")), Repeat::Once, "a lone number is a command");
        assert_eq!(repeat_prefix(&line("0 incr x")), Repeat::Invalid);
        assert_eq!(repeat_prefix(&line("99999999999999999999 incr x")), Repeat::Invalid);
    }
}
