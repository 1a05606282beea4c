//! The line splitter (`split_args`, `split_args_into`) and the quoting (`repr`):
//!
//! * `split_args` gives exactly what a line-for-line port of redis-cli's
//!   `sdssplitargs` gives ([`sdssplitargs`] below, written from the C, not from rcli);
//! * `split_args_into` over buffers left from another line gives the same result;
//! * every argument quoted with `repr` (always printable ASCII) splits back to itself,
//!   alone and all the arguments joined on one line;
//! * `repeat_prefix` never panics and only counts positive numbers.

use rcli::protocol::split::{Repeat, repeat_prefix, repr, split_args, split_args_into};

use crate::chunks::Cuts;

pub fn check(data: &[u8]) {
    let split = split_args(data);
    assert_eq!(split.clone().ok(), sdssplitargs(data), "split_args differs from sdssplitargs");

    let leftovers = [b"left".to_vec(), Vec::new(), b"over from another line".to_vec()];
    let mut reused: Vec<Vec<u8>> = leftovers.iter().cycle().take(Cuts::new(data, 4).below(12)).cloned().collect();
    let into = split_args_into(data, &mut reused);
    match &split {
        Ok(args) => {
            assert_eq!(into, Ok(()), "split_args_into refuses a line split_args accepts");
            assert_eq!(&reused, args, "split_args_into over used buffers");
        }
        Err(e) => assert_eq!(into, Err(*e), "split_args_into accepts a line split_args refuses"),
    }

    let Ok(args) = split else { return };
    let mut line = Vec::new();
    for arg in &args {
        let mut quoted = Vec::new();
        repr(arg, &mut quoted);
        assert!(quoted.iter().all(|b| (0x20..=0x7e).contains(b)), "repr is not printable ASCII: {quoted:?}");
        assert_eq!(split_args(&quoted), Ok(vec![arg.clone()]), "repr does not split back: {quoted:?}");
        if !line.is_empty() {
            line.push(b' ');
        }
        line.extend_from_slice(&quoted);
    }
    assert_eq!(split_args(&line), Ok(args.clone()), "quoted arguments on one line");

    match repeat_prefix(&args) {
        Repeat::Times(n) => assert!(n > 0 && args[0].iter().all(u8::is_ascii_digit)),
        Repeat::Invalid => assert!(args[0].iter().all(u8::is_ascii_digit)),
        Repeat::Once => {}
    }
}

/// C's `isspace` in the "C" locale.
fn c_isspace(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn c_is_hex_digit(c: u8) -> bool {
    c.is_ascii_hexdigit()
}

fn c_hex_digit_to_int(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        b'A'..=b'F' => c - b'A' + 10,
        _ => 0,
    }
}

/// redis-cli's `sdssplitargs` (sds.c), statement for statement: the line is a C string
/// (it ends at the first NUL), `*p` past the end reads the terminating 0.
/// `None` where the C returns NULL.
pub fn sdssplitargs(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    let at = |i: usize| line.get(i).copied().unwrap_or(0);
    let mut p = 0;
    let mut vector = Vec::new();
    loop {
        while at(p) != 0 && c_isspace(at(p)) {
            p += 1;
        }
        if at(p) == 0 {
            return Some(vector);
        }
        let (mut inq, mut insq, mut done) = (false, false, false);
        let mut current = Vec::new();
        while !done {
            if inq {
                if at(p) == b'\\' && at(p + 1) == b'x' && c_is_hex_digit(at(p + 2)) && c_is_hex_digit(at(p + 3)) {
                    current.push(c_hex_digit_to_int(at(p + 2)) * 16 + c_hex_digit_to_int(at(p + 3)));
                    p += 3;
                } else if at(p) == b'\\' && at(p + 1) != 0 {
                    p += 1;
                    current.push(match at(p) {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 0x08,
                        b'a' => 0x07,
                        c => c,
                    });
                } else if at(p) == b'"' {
                    if at(p + 1) != 0 && !c_isspace(at(p + 1)) {
                        return None;
                    }
                    done = true;
                } else if at(p) == 0 {
                    return None;
                } else {
                    current.push(at(p));
                }
            } else if insq {
                if at(p) == b'\\' && at(p + 1) == b'\'' {
                    p += 1;
                    current.push(b'\'');
                } else if at(p) == b'\'' {
                    if at(p + 1) != 0 && !c_isspace(at(p + 1)) {
                        return None;
                    }
                    done = true;
                } else if at(p) == 0 {
                    return None;
                } else {
                    current.push(at(p));
                }
            } else {
                match at(p) {
                    b' ' | b'\n' | b'\r' | b'\t' | 0 => done = true,
                    b'"' => inq = true,
                    b'\'' => insq = true,
                    c => current.push(c),
                }
            }
            if at(p) != 0 {
                p += 1;
            }
        }
        vector.push(current);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_port_follows_the_c() {
        assert_eq!(
            sdssplitargs(b" set  \"a\\x41\\n\" 'b\\'c' \0 ignored"),
            Some(vec![b"set".to_vec(), b"aA\n".to_vec(), b"b'c".to_vec()])
        );
        assert_eq!(sdssplitargs(b"\"open"), None);
        assert_eq!(sdssplitargs(b"\"a\"b"), None);
        assert_eq!(sdssplitargs(b"\x0b"), Some(vec![]));
    }
}
