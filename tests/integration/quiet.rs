//! Silent where redis-cli is silent (issue 20): every one-shot mode run with stderr on a
//! pipe, by rcli and by redis-cli, against the same server; where both succeed, their
//! stderr must be the same bytes (nothing of rcli's own: no notices, no hop lines
//! without `-v`). Also: usage errors in redis-cli's words.

use std::time::Duration;

use crate::diag_harness::{watch_rcli, watch_redis_cli};
use crate::util::*;

/// One case: the arguments (after the connection options) and what goes on stdin.
struct Case {
    args: Vec<String>,
    input: Vec<u8>,
}

fn case(args: &[&str], input: &[u8]) -> Case {
    Case { args: args.iter().map(|a| a.to_string()).collect(), input: input.to_vec() }
}

/// Runs every case with `connection` first through both CLIs; both must exit 0 and
/// write the same stderr (in the yardstick's words, see `vocabulary`).
fn same_stderr(home: &Home, connection: &[&str], cases: &[Case]) {
    let mut differences = Vec::new();
    for case in cases {
        let mut args: Vec<&str> = connection.to_vec();
        args.extend(case.args.iter().map(String::as_str));
        let theirs = redis_cli_run(&args, &case.input);
        let mut cmd = rcli(home);
        cmd.args(&args);
        let ours = run_with(cmd, &case.input, Duration::from_secs(60));
        assert_eq!(theirs.code, Some(0), "redis-cli {args:?}: {}", theirs.stderr);
        assert_eq!(ours.code, Some(0), "rcli {args:?}: {}", ours.stderr);
        if vocabulary(&ours.stderr) != theirs.stderr {
            differences.push(format!("{args:?}\n  redis-cli: {:?}\n  rcli:      {:?}", theirs.stderr, ours.stderr));
        }
    }
    assert!(differences.is_empty(), "stderr differs:\n{}", differences.join("\n"));
}

/// Both CLIs run until Ctrl-C (`--stat`): what each wrote to stderr until then.
fn same_stderr_until_interrupted(home: &Home, args: &[&str]) {
    let mut theirs = watch_redis_cli(args);
    theirs.wait_for("a line", Duration::from_secs(30), |out| out.lines().count() >= 2);
    let theirs = theirs.interrupt_and_finish();
    let mut ours = watch_rcli(home, args);
    ours.wait_for("a line", Duration::from_secs(30), |out| out.lines().count() >= 2);
    let ours = ours.interrupt_and_finish();
    assert_eq!(vocabulary(&ours.stderr), theirs.stderr, "{args:?}");
}

#[test]
fn one_shot_modes_write_to_stderr_what_redis_cli_writes() {
    if !have_redis() {
        return;
    }
    let server = standalone();
    let home = Home::new();
    let port = server.port().to_string();
    let script = home.path.join("script.lua");
    std::fs::write(&script, "return redis.call('set', KEYS[1], ARGV[1])").unwrap();
    let script = script.to_string_lossy().into_owned();
    let rdb = home.path.join("dump.rdb").to_string_lossy().into_owned();
    let mut keys = String::new();
    for i in 0..40 {
        keys.push_str(&format!("set key:{i} {}\nrpush list:{i} a b c\n", "v".repeat(i)));
    }
    let seeded = redis_cli_run(&["-p", &port], keys.as_bytes());
    assert_eq!(seeded.code, Some(0));
    let lfu = redis_cli_run(&["-p", &port, "config", "set", "maxmemory-policy", "allkeys-lfu"], b"");
    assert_eq!(lfu.text(), "OK\n");
    let pipe_input = b"*3\r\n$3\r\nSET\r\n$1\r\np\r\n$1\r\n1\r\n*2\r\n$3\r\nGET\r\n$1\r\np\r\n";
    same_stderr(
        &home,
        &["-p", &port],
        &[
            case(&["set", "k", "v"], b""),
            case(&["get", "k"], b""),
            case(&["get", "nosuchkey"], b""),
            case(&["-r", "3", "incr", "counter"], b""),
            case(&["-x", "set", "fromstdin"], b"data\n"),
            case(&["-X", "tag", "set", "tagged", "tag"], b"data"),
            case(&[], b"set a 1\nget a\nincr a\nlpush a x\n"),
            case(&["--pipe"], pipe_input),
            case(&["--scan"], b""),
            case(&["--scan", "--pattern", "key:1*"], b""),
            case(&["--bigkeys"], b""),
            case(&["--memkeys"], b""),
            case(&["--hotkeys"], b""),
            case(&["--latency", "-i", "0.3"], b""),
            case(&["--rdb", &rdb], b""),
            case(&["--eval", &script, "evalkey", ",", "v"], b""),
            // redis-cli's own warnings, in its words.
            case(&["-a", "secret", "ping"], b""),
            case(&["-u", "redis://default:secret@127.0.0.1", "ping"], b""),
            case(&["--no-auth-warning", "-a", "secret", "ping"], b""),
            case(&["-n", "999", "ping"], b""),
            case(&["--show-pushes", "maybe", "ping"], b""),
        ],
    );
    same_stderr_until_interrupted(&home, &["-p", &port, "--stat", "-i", "0.2"]);
}

/// A user that may read and write keys but not the slot map (CLUSTER, INFO, CONFIG are
/// denied) on every node.
fn least_privilege_user(cluster: &LocalCluster) {
    for i in 0..cluster.nodes.len() {
        let reply = rcli::modes::sandbox::call(
            &cluster.endpoint(i),
            &["ACL", "SETUSER", "app", "on", ">pw", "~*", "&*", "+@read", "+@write", "+@connection"],
        )
        .unwrap();
        assert!(reply.is_ok(), "{reply:?}");
    }
}

#[test]
fn cluster_one_shot_modes_write_to_stderr_what_redis_cli_writes() {
    if !have_redis() {
        return;
    }
    let cluster = cluster(3, 3);
    least_privilege_user(&cluster);
    let home = Home::new();
    let seed = cluster.port(0).to_string();
    // A key on another node than the seed, so that redis-cli meets a MOVED.
    let elsewhere = (0..100)
        .map(|i| format!("key:{i}"))
        .find(|key| owner_of(&cluster, key).1 != 0)
        .expect("a key owned by another primary");
    let mut lines = String::new();
    for i in 0..30 {
        lines.push_str(&format!("set key:{i} v{i}\n"));
    }
    let cases = vec![
        case(&["set", &elsewhere, "v"], b""),
        case(&["get", &elsewhere], b""),
        case(&["-r", "2", "incr", "{c}n"], b""),
        case(&["-x", "set", &elsewhere], b"data"),
        case(&[], lines.as_bytes()),
        case(&["--scan"], b""),
        case(&["--bigkeys"], b""),
        case(&["--memkeys"], b""),
    ];
    same_stderr(&home, &["-c", "-p", &seed], &cases);
    // A user who cannot read the slot map: redis-cli follows MOVED silently, and so must
    // rcli (it learns the slots from the redirects), apart from redis-cli's own warning.
    let least = ["-c", "-p", &seed, "--user", "app", "-a", "pw"];
    same_stderr(
        &home,
        &least,
        &[case(&["set", &elsewhere, "v"], b""), case(&["get", &elsewhere], b""), case(&[], lines.as_bytes())],
    );
}

#[test]
fn usage_errors_read_like_redis_cli_and_exit_2() {
    let home = Home::new();
    for (args, line) in [
        (&["-X"][..], "Unrecognized option or bad number of args for: '-X'\n"),
        (&["--nope"], "Unrecognized option or bad number of args for: '--nope'\n"),
        (&["-p", "6379", "-n"], "Unrecognized option or bad number of args for: '-n'\n"),
        (&["-a"], "Unrecognized option or bad number of args for: '-a'\n"),
        (&["--pattern"], "Unrecognized option or bad number of args for: '--pattern'\n"),
        (&["-2", "-3"], "Options -2 and -3 are mutually exclusive.\n"),
        (&["-x", "-X", "t"], "Options -x and -X are mutually exclusive.\n"),
    ] {
        let ours = rcli_run(&home, args, "");
        assert_eq!((ours.code, ours.stderr.as_str()), (Some(2), line), "rcli {args:?}");
        if have_redis() && yardstick() == Yardstick::RedisCli {
            // redis-cli exits 1; the words are the same.
            let theirs = redis_cli_run(args, b"");
            assert_eq!(theirs.stderr, line, "redis-cli {args:?}");
        }
    }
    // Repeating an option is not an error, as in redis-cli: the last one counts.
    let out = rcli_run(&home, &["-e", "-e", "-p", "1", "-p", "2", "--version"], "");
    assert_eq!(out.code, Some(0), "{}", out.stderr);
}
