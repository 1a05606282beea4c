//! The differential test: the same corpus of command lines (every reply type, quoting
//! edge cases, errors) piped through redis-cli and rcli against the same server, in
//! tty-formatted, raw and CSV output, RESP2 and RESP3. stdout must be byte-identical.
//! Where redis-cli crashes (RESP3 big numbers and attributes) rcli's own output is
//! asserted instead (see docs/compatibility.md).

use crate::eqnice;
use crate::util::*;

const COMMON: &str = include_str!("../corpus/common.txt");
const RESP2_ONLY: &str = include_str!("../corpus/resp2_only.txt");

/// INFO keyspace's `avg_ttl` is an estimate the server's expire cycle updates in the
/// background (0 until the cycle has sampled the key): masked, it is not rcli's output.
fn masked(text: String) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(at) = rest.find("avg_ttl=") {
        let (before, after) = rest.split_at(at + "avg_ttl=".len());
        out.push_str(before);
        out.push('N');
        rest = after.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    out.push_str(rest);
    out
}

fn compare(protocol: &str, corpus: &str) {
    if !have_redis() {
        return;
    }
    let server = standalone();
    let port = server.port().to_string();
    let home = Home::new();
    let lines = corpus.lines().count();
    assert!(lines >= 100, "the corpus has {lines} lines");
    for mode in ["--no-raw", "--raw", "--csv"] {
        let args = ["-p", port.as_str(), protocol, mode];
        let expected = redis_cli_run(&args, corpus.as_bytes());
        assert_eq!(expected.code, Some(0), "redis-cli failed: {}", expected.stderr);
        let got = rcli_run(&home, &args, corpus);
        assert_eq!(got.code, Some(0), "rcli failed in {mode}: {}", got.stderr);
        eqnice!(masked(expected.text()), masked(got.text()));
        // Sequential execution (one command at a time) must print exactly the same.
        let sequential = rcli_run(&home, &["-p", port.as_str(), protocol, mode, "--pipeline", "1"], corpus);
        eqnice!(masked(expected.text()), masked(sequential.text()));
    }
}

#[test]
fn resp2_corpus_matches_redis_cli_in_every_output_mode() {
    compare("-2", &format!("{COMMON}{RESP2_ONLY}"));
}

#[test]
fn resp3_corpus_matches_redis_cli_in_every_output_mode() {
    compare("-3", COMMON);
}

/// redis-cli 7.0 exits with "Unknown reply type: 13" on a RESP3 big number and rejects
/// attributes; rcli prints them.
#[test]
fn resp3_big_numbers_and_attributes_render() {
    if !have_redis() {
        return;
    }
    let server = standalone();
    let port = server.port().to_string();
    let home = Home::new();
    let input = "DEBUG PROTOCOL bignum\nDEBUG PROTOCOL attrib\n";
    let tty = rcli_run(&home, &["-p", &port, "-3", "--no-raw"], input);
    eqnice!(
        "(big number) 1234567999999999999999999999999999999\n\"Some real reply following the attribute\"\n",
        tty.text()
    );
    let raw = rcli_run(&home, &["-p", &port, "-3"], input);
    eqnice!("1234567999999999999999999999999999999\nSome real reply following the attribute\n", raw.text());
    let csv = rcli_run(&home, &["-p", &port, "-3", "--csv"], input);
    eqnice!("1234567999999999999999999999999999999\n\"Some real reply following the attribute\"\n", csv.text());
    let json = rcli_run(&home, &["-p", &port, "--json"], "DEBUG PROTOCOL bignum\nHSET h a 1\nHGETALL h\n");
    eqnice!("1234567999999999999999999999999999999\n1\n{\"a\":\"1\"}\n", json.text());
}

/// Big arrays and sets are printed while they arrive (defect 6 of issue 10), byte for
/// byte as redis-cli prints them, in every output mode and protocol.
#[test]
fn big_replies_printed_as_they_arrive_match_redis_cli() {
    if !have_redis() {
        return;
    }
    let server = standalone();
    let port = server.port().to_string();
    let home = Home::new();
    let mut setup = String::new();
    for i in 0..1500 {
        setup.push_str(&format!("RPUSH big \"v{i} \\\"q\\\" \\xff\\n\"\nSADD set m{i}\nZADD z {i} e{i}\n"));
    }
    setup.push_str("EVAL \"local t = {} for i=1,200 do t[i] = {i, 'x' .. i} end return t\" 0\n");
    assert_eq!(rcli_run(&home, &["-p", &port], &setup).code, Some(0));
    for protocol in ["-2", "-3"] {
        for mode in ["--no-raw", "--raw", "--csv", "--json"] {
            for command in [
                &["lrange", "big", "0", "-1"][..],
                &["smembers", "set"],
                &["zrange", "z", "0", "-1", "withscores"],
                &["eval", "local t = {} for i=1,200 do t[i] = {i, 'x' .. i} end return t", "0"],
                &["lrange", "big", "0", "99"],
            ] {
                let args: Vec<&str> =
                    ["-p", port.as_str(), protocol, mode].iter().copied().chain(command.iter().copied()).collect();
                let expected = redis_cli_run(&args, b"");
                let got = rcli_run(&home, &args, "");
                assert_eq!(got.code, expected.code, "{args:?}: {}", got.stderr);
                eqnice!(expected.text(), got.text());
            }
        }
    }
}

/// A piped `quit` ends the input as in redis-cli: nothing after it is sent (before,
/// rcli sent QUIT to the server and went on with the next lines).
#[test]
fn piped_quit_ends_the_input_like_redis_cli() {
    if !have_redis() {
        return;
    }
    let server = standalone();
    let port = server.port().to_string();
    let home = Home::new();
    let input = "set q before\nquit\nset q after\nget q\n";
    let expected = redis_cli_run(&["-p", &port], input.as_bytes());
    let got = rcli_run(&home, &["-p", &port], input);
    eqnice!(expected.text(), got.text());
    assert_eq!(expected.code, got.code);
    let check = rcli_run(&home, &["-p", &port, "get", "q"], "");
    eqnice!("before\n", check.text());
    for protocol in ["-2", "-3"] {
        let got = rcli_run(&home, &["-p", &port, protocol, "--pipeline", "1"], "get q\nQUIT\nset q after\n");
        eqnice!("before\n", got.text());
    }
}
