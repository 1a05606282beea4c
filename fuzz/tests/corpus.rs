//! Replays the committed seeds and corpus of every target through its checks, on the
//! stable toolchain and without libFuzzer: `cd fuzz && cargo test`. A crash input
//! saved in `fuzz/artifacts/<target>/` can be replayed the same way by copying it into
//! `fuzz/corpus/<target>/` (or with `cargo fuzz run <target> <file>`).

use std::path::Path;

fn replay(target: &str, check: fn(&[u8])) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut count = 0;
    for dir in ["seeds", "corpus"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir).join(target)) else { continue };
        for entry in entries {
            let path = entry.expect("a readable directory").path();
            let data = std::fs::read(&path).expect("a readable input");
            let outcome = std::panic::catch_unwind(|| check(&data));
            assert!(outcome.is_ok(), "{} fails", path.display());
            count += 1;
        }
    }
    assert!(count > 0, "no inputs for {target}");
    println!("{target}: {count} inputs");
}

#[test]
fn resp_parse() {
    replay("resp_parse", rcli_fuzz::resp::check);
}

#[test]
fn split_args() {
    replay("split_args", rcli_fuzz::split::check);
}

#[test]
fn pipe_splitter() {
    replay("pipe_splitter", rcli_fuzz::pipe::check);
}

#[test]
fn key_specs() {
    replay("key_specs", rcli_fuzz::keys::check);
}
