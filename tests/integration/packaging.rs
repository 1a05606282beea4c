//! `rcli completions SHELL` and `rcli man`: the bash script is loaded into a real bash
//! and its completion function driven as bash's completion would (COMP_WORDS,
//! COMP_CWORD, then COMPREPLY read back); the man page is rendered by `man -l` (groff
//! or mandoc when man is missing) and its roff structure checked.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::util::{Home, rcli_run, run_with};

/// Every manager subcommand, as `rcli --cluster help` lists them.
const MANAGER_SUBCOMMANDS: &[&str] = &[
    "create",
    "check",
    "info",
    "fix",
    "reshard",
    "rebalance",
    "add-node",
    "del-node",
    "call",
    "set-timeout",
    "import",
    "backup",
    "help",
];

fn has(program: &str) -> bool {
    Command::new("sh").args(["-c", &format!("command -v {program}")]).output().is_ok_and(|o| o.status.success())
}

fn script(home: &Home, shell: &str) -> String {
    let out = rcli_run(home, &["completions", shell], "");
    assert_eq!(out.code, Some(0), "rcli completions {shell}: {}", out.stderr);
    assert!(out.stderr.is_empty(), "{}", out.stderr);
    out.text()
}

/// What bash's completion offers for the command line `words` (the cursor on the last
/// word), from the script at `path`.
fn bash_complete(path: &Path, words: &[&str]) -> Vec<String> {
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let cword = words.len() - 1;
    let prev = if cword > 0 { quoted[cword - 1].clone() } else { "''".into() };
    let line = format!(
        "source '{}' || exit 9\n\
         complete -p rcli >/dev/null || exit 8\n\
         COMP_WORDS=({}); COMP_CWORD={cword}; COMP_LINE='{}'; COMP_POINT=${{#COMP_LINE}}\n\
         _rcli rcli {} {prev} 2>/dev/null\n\
         printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        path.display(),
        quoted.join(" "),
        words.join(" "),
        quoted[cword],
    );
    let mut cmd = Command::new("bash");
    cmd.args(["--norc", "--noprofile", "-c", &line]);
    let out = run_with(cmd, b"", Duration::from_secs(30));
    assert_eq!(out.code, Some(0), "bash failed for {words:?}: {}", out.stderr);
    out.text().lines().filter(|l| !l.is_empty()).map(String::from).collect()
}

/// The text bash puts on the line for these candidates: their longest common prefix.
fn inserted(candidates: &[String]) -> String {
    let Some(first) = candidates.first() else { return String::new() };
    let mut prefix = first.clone();
    for other in candidates {
        while !other.starts_with(&prefix) {
            prefix.pop();
        }
    }
    prefix
}

#[test]
fn bash_completes_options_the_cluster_manager_and_subcommands() {
    let home = Home::new();
    let path = home.path.join("rcli.bash");
    std::fs::write(&path, script(&home, "bash")).unwrap();

    let offered = bash_complete(&path, &["rcli", "--clu"]);
    assert!(offered.contains(&"--cluster".to_string()), "{offered:?}");
    assert_eq!(inserted(&offered), "--cluster", "rcli --clu<Tab> completes to --cluster: {offered:?}");

    let subcommands = bash_complete(&path, &["rcli", "--cluster", ""]);
    assert_eq!(subcommands, MANAGER_SUBCOMMANDS, "the manager's subcommands after --cluster");
    assert_eq!(bash_complete(&path, &["rcli", "--cluster", "res"]), ["reshard"]);
    assert_eq!(bash_complete(&path, &["rcli", "-p", "7000", "--cluster", "add"]), ["add-node"]);

    let options = bash_complete(&path, &["rcli", "--cluster", "create", "127.0.0.1:7000", "--cluster-repl"]);
    for option in ["--cluster-replicas", "--cluster-replica", "--cluster-replace"] {
        assert!(options.contains(&option.to_string()), "{option} in {options:?}");
    }
    assert_eq!(bash_complete(&path, &["rcli", "--cluster-dry"]), ["--cluster-dry-run"]);

    // rcli's own options, their values, and the first-word subcommands.
    assert_eq!(bash_complete(&path, &["rcli", "--read-from"]), ["--read-from-replicas"]);
    assert_eq!(bash_complete(&path, &["rcli", "--color", ""]), ["auto", "always", "never"]);
    // The options the CLIs gained after 7.0 (issue 20) are completed like the others.
    assert_eq!(bash_complete(&path, &["rcli", "--hotkeys-c"]), ["--hotkeys-count"]);
    assert_eq!(bash_complete(&path, &["rcli", "--nam"]), ["--name"]);
    assert_eq!(bash_complete(&path, &["rcli", "sand"]), ["sandbox"]);
    assert_eq!(bash_complete(&path, &["rcli", "sandbox", "--pri"]), ["--primaries"]);
    assert_eq!(bash_complete(&path, &["rcli", "completions", ""]), ["bash", "elvish", "fish", "powershell", "zsh"]);
    assert_eq!(bash_complete(&path, &["rcli", "ma"]), ["man"]);
    assert_eq!(bash_complete(&path, &["rcli", "consis"]), ["consistency-test"]);
    assert_eq!(bash_complete(&path, &["rcli", "consistency-test", "--cou"]), ["--counters"]);
}

#[test]
fn every_shell_gets_a_script_naming_the_manager() {
    let home = Home::new();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let text = script(&home, shell);
        // fish writes options without their dashes (`-l cluster-replicas`).
        for word in ["cluster-replicas", "cluster-dry-run", "read-from-replicas", "primaries"] {
            assert!(text.contains(word), "{shell}: {word}");
        }
        for name in MANAGER_SUBCOMMANDS {
            assert!(text.contains(name), "{shell}: {name}");
        }
    }
    // Shells that are installed check their script's syntax.
    for (shell, check) in [("zsh", ["-n"]), ("fish", ["--no-execute"])] {
        if has(shell) {
            let path = home.path.join(format!("rcli.{shell}"));
            std::fs::write(&path, script(&home, shell)).unwrap();
            let mut cmd = Command::new(shell);
            cmd.args(check).arg(&path);
            let out = run_with(cmd, b"", Duration::from_secs(30));
            assert_eq!(out.code, Some(0), "{shell}: {}", out.stderr);
        }
    }
}

#[test]
fn completions_and_man_refuse_bad_arguments() {
    let home = Home::new();
    let out = rcli_run(&home, &["completions"], "");
    assert_eq!(out.code, Some(2));
    assert!(out.stderr.contains("<SHELL>"), "{}", out.stderr);
    let out = rcli_run(&home, &["completions", "tcsh"], "");
    assert_eq!(out.code, Some(2));
    assert!(out.stderr.contains("possible values: bash, elvish, fish, powershell, zsh"), "{}", out.stderr);
    let out = rcli_run(&home, &["man", "extra"], "");
    assert_eq!(out.code, Some(2));
    let help = rcli_run(&home, &["--help"], "");
    for usage in ["rcli completions bash|zsh|fish|elvish|powershell", "rcli man"] {
        assert!(help.text().contains(usage), "--help names `{usage}`");
    }
}

/// The page rendered as text by whatever is installed: `man -l`, else groff, else mandoc.
fn rendered(page: &Path) -> Option<(String, String)> {
    let mut cmd = if has("man") {
        let mut cmd = Command::new("man");
        cmd.arg("-l").arg(page).env("MANPAGER", "cat").env("MANWIDTH", "80");
        cmd
    } else if has("groff") {
        let mut cmd = Command::new("groff");
        cmd.args(["-man", "-Tutf8", "-ww"]).arg(page);
        cmd
    } else if has("mandoc") {
        let mut cmd = Command::new("mandoc");
        cmd.args(["-Tutf8", "-Wwarning"]).arg(page);
        cmd
    } else {
        // scripts/test installs man-db; under CI a missing renderer is a failure.
        assert!(std::env::var_os("CI").is_none(), "no man, groff or mandoc to render the page (CI is set)");
        eprintln!("no man, groff or mandoc: only the roff structure is checked");
        return None;
    };
    cmd.env("LC_ALL", "C.UTF-8");
    let out = run_with(cmd, b"", Duration::from_secs(60));
    assert_eq!(out.code, Some(0), "rendering the man page: {}", out.stderr);
    // Overstrike (bold, underline) as some renderers emit it when not on a terminal.
    let mut text = String::new();
    for c in out.text().chars() {
        if c == '\u{8}' {
            text.pop();
        } else {
            text.push(c);
        }
    }
    Some((text, out.stderr))
}

#[test]
fn man_renders_a_page_with_every_part() {
    let home = Home::new();
    let out = rcli_run(&home, &["man"], "");
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let roff = out.text();
    assert!(roff.lines().any(|l| l.starts_with(".TH RCLI 1 ")), "a title line");
    for section in ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "\"RCLI ADDITIONS\"", "\"CLUSTER MANAGER\""] {
        assert!(roff.contains(&format!("\n.SH {section}\n")), "section {section}");
    }
    for section in ["SUBCOMMANDS", "\"EXAMPLES AND NOTES\"", "\"SEE ALSO\"", "VERSION"] {
        assert!(roff.contains(&format!("\n.SH {section}\n")), "section {section}");
    }
    let page = home.path.join("rcli.1");
    std::fs::write(&page, &roff).unwrap();
    let Some((text, warnings)) = rendered(&page) else { return };
    assert!(!warnings.contains("warning"), "the renderer warned: {warnings}");
    // Justified lines stretch spaces; hyphens may come out as Unicode ones.
    let words =
        |text: &str| text.replace(['\u{2010}', '\u{2212}'], "-").split_whitespace().collect::<Vec<_>>().join(" ");
    let text = words(&text);
    for expected in [
        "rcli - A cluster-aware Redis shell, compatible with redis-cli.",
        "rcli [OPTIONS] --cluster <subcommand>",
        "rcli completions bash|zsh|fish|elvish|powershell",
        "--read-from-replicas",
        "--hotkeys-count <n>",
        "--name <NAME>",
        "--cluster <SUBCOMMAND>",
        "reshard: <host:port>",
        "--cluster-replicas <ARG>",
        "rcli sandbox",
        "--primaries",
        "rcli -c -p 7000 < cmds.txt      pipelined per node",
        "Exit codes: 0 success",
    ] {
        assert!(text.contains(&words(expected)), "`{expected}` in the rendered page:\n{text}");
    }
}
