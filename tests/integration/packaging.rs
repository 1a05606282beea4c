//! `rcli completions SHELL` and `rcli man`: the bash script is loaded into a real bash
//! and its completion function driven as bash's completion would (COMP_WORDS,
//! COMP_CWORD, then COMPREPLY read back); the man page is rendered by `man -l` (groff
//! or mandoc when man is missing) and its roff structure checked. Then what ships:
//! `rcli --version`'s commit, the crate's file list, and `scripts/package`'s .deb,
//! installed with dpkg into a throwaway root, used from there and removed.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::util::{Home, Output, rcli_bin, rcli_run, run_with};

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
    bash_complete_after(&format!("source '{}' || exit 9", path.display()), words)
}

/// The same, with the completion loaded by the bash lines `load`.
fn bash_complete_after(load: &str, words: &[&str]) -> Vec<String> {
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let cword = words.len() - 1;
    let prev = if cword > 0 { quoted[cword - 1].clone() } else { "''".into() };
    let line = format!(
        "{load}\n\
         complete -p rcli >/dev/null || exit 8\n\
         COMP_WORDS=({}); COMP_CWORD={cword}; COMP_LINE='{}'; COMP_POINT=${{#COMP_LINE}}\n\
         _rcli rcli {} {prev} 2>/dev/null\n\
         printf '%s\\n' \"${{COMPREPLY[@]}}\"",
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
    assert_eq!(bash_complete(&path, &["rcli", "to"]), ["top"]);
    assert_eq!(bash_complete(&path, &["rcli", "top", "--on"]), ["--once"]);
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
        "rcli top",
        "--slots",
        "rcli -c -p 7000 < cmds.txt      pipelined per node",
        "Exit codes: 0 success",
    ] {
        assert!(text.contains(&words(expected)), "`{expected}` in the rendered page:\n{text}");
    }
}

/// The checkout the tests were built from (a packaged crate has no scripts/ and no git).
fn checkout() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `git rev-parse --short=8 HEAD` of the checkout, when it is rcli's git checkout.
fn git_head() -> Option<String> {
    let git = |args: &[&str]| {
        let out = Command::new("git").arg("-C").arg(checkout()).args(args).output().ok()?;
        out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    git(&["ls-files", "--error-unmatch", "--", "Cargo.toml"])?;
    git(&["rev-parse", "--short=8", "HEAD"])
}

#[test]
fn version_names_the_commit_it_was_built_from() {
    let home = Home::new();
    let out = rcli_run(&home, &["--version"], "");
    assert_eq!((out.code, out.stderr.as_str()), (Some(0), ""));
    let version = env!("CARGO_PKG_VERSION");
    let line = out.text();
    let Some(head) = git_head() else {
        assert!(std::env::var_os("CI").is_none(), "CI runs in a git clone, with git installed");
        eprintln!("not a git checkout: the commit is not checked");
        assert!(line.starts_with(&format!("rcli {version}")), "{line}");
        return;
    };
    // As redis-cli's `redis-cli 7.0.15 (git:sha[-dirty])`; -dirty for changed sources.
    let built = [format!("rcli {version} (git:{head})\n"), format!("rcli {version} (git:{head}-dirty)\n")];
    assert!(built.contains(&line), "--version said {line:?}, HEAD is {head}");
}

#[test]
fn the_crate_holds_what_builds_it_and_no_repository_tooling() {
    let mut cmd = Command::new(env!("CARGO"));
    cmd.args(["package", "--list", "--locked", "--allow-dirty", "--offline"]).current_dir(checkout());
    let out = run_with(cmd, b"", Duration::from_secs(120));
    assert_eq!(out.code, Some(0), "cargo package --list: {}", out.stderr);
    // A target whose file the package leaves out is dropped with a warning ("ignoring").
    assert!(!out.stderr.contains("ignoring"), "{}", out.stderr);
    let text = out.text();
    let files: Vec<&str> = text.lines().collect();
    for needed in [
        "Cargo.toml",
        "Cargo.lock",
        "build.rs",
        "LICENSE",
        "README.md",
        "src/main.rs",
        "src/lib.rs",
        "src/builtin/command_docs.resp",
        "src/builtin/command_info.resp",
        "tests/integration/main.rs",
        "tests/corpus/common.txt",
    ] {
        assert!(files.contains(&needed), "{needed} in the crate: {files:?}");
    }
    for file in &files {
        let tooling = ["scripts/", "fuzz/", "benches/", ".ci/", "target/"].iter().any(|dir| file.starts_with(dir));
        assert!(!tooling && !file.contains(".."), "{file} is not the crate's");
    }
}

/// Runs `program args…` bounded to a minute.
fn run(program: &str, args: &[&str]) -> Output {
    let mut cmd = Command::new(program);
    cmd.args(args).env("LC_ALL", "C.UTF-8");
    run_with(cmd, b"", Duration::from_secs(60))
}

/// A throwaway dpkg root: its database holds only the host's entries for the packages
/// the .deb depends on, so dpkg checks Depends against what the host really has; dpkg
/// logs inside it.
struct DpkgRoot {
    path: PathBuf,
}

impl DpkgRoot {
    fn new(path: PathBuf, depends: &str) -> DpkgRoot {
        let admin = path.join("var/lib/dpkg");
        for dir in ["info", "updates", "triggers"] {
            std::fs::create_dir_all(admin.join(dir)).unwrap();
        }
        std::fs::write(admin.join("available"), "").unwrap();
        let mut status = String::new();
        let names = depends.split([',', '|']).filter_map(|d| d.split_whitespace().next());
        for name in names {
            let out = run("dpkg-query", &["--status", name]);
            if out.code != Some(0) {
                continue;
            }
            let stanza = out.text();
            let field = |key: &str| stanza.lines().find_map(|l| l.strip_prefix(key)).map(str::trim).unwrap_or("");
            // dpkg warns about a package without its file list; these own no file here.
            let list = match field("Multi-Arch:") {
                "same" => format!("{}:{}.list", field("Package:"), field("Architecture:")),
                _ => format!("{}.list", field("Package:")),
            };
            std::fs::write(admin.join("info").join(list), "").unwrap();
            status.push_str(stanza.trim_end());
            status.push_str("\n\n");
        }
        std::fs::write(admin.join("status"), status).unwrap();
        DpkgRoot { path }
    }

    fn dpkg(&self, args: &[&str]) -> Output {
        let root = format!("--root={}", self.path.display());
        let log = format!("--log={}", self.path.join("dpkg.log").display());
        run("dpkg", &[&[root.as_str(), log.as_str()], args].concat())
    }

    fn status(&self) -> String {
        let root = format!("--root={}", self.path.display());
        run("dpkg-query", &[root.as_str(), "--show", "--showformat=${Status}", "rcli"]).text()
    }

    /// Every file under the root's /usr.
    fn files(&self) -> Vec<PathBuf> {
        fn walk(dir: &Path, into: &mut Vec<PathBuf>) {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() { walk(&path, into) } else { into.push(path) }
            }
        }
        let mut files = Vec::new();
        walk(&self.path.join("usr"), &mut files);
        files
    }
}

/// Whether this Debian machine can build and install the package here (dpkg-deb,
/// dpkg-shlibdeps, root); under CI it must.
fn can_package() -> bool {
    let missing: Vec<&str> = ["dpkg-deb", "dpkg-shlibdeps", "id"].into_iter().filter(|p| !has(p)).collect();
    let root = run("id", &["-u"]).text().trim() == "0";
    let script = checkout().join("scripts/package").is_file();
    if missing.is_empty() && root && script {
        return true;
    }
    let why = format!("missing {missing:?}, root: {root}, scripts/package: {script}");
    assert!(std::env::var_os("CI").is_none(), "the .deb cannot be tested under CI: {why}");
    eprintln!("skipping the .deb test: {why}");
    false
}

/// `gzip -dc file`.
fn gunzip(file: &Path) -> String {
    let out = run("gzip", &["-dc", &file.display().to_string()]);
    assert_eq!(out.code, Some(0), "gzip -dc {}: {}", file.display(), out.stderr);
    out.text()
}

#[test]
fn the_debian_package_installs_works_from_its_files_and_removes() {
    if !can_package() {
        return;
    }
    let home = Home::new();
    let version = env!("CARGO_PKG_VERSION");
    let arch = run("dpkg", &["--print-architecture"]).text().trim().to_string();

    // The binary under test, packaged as scripts/package packages the release build.
    let mut cmd = Command::new(checkout().join("scripts/package"));
    cmd.arg("--binary").arg(rcli_bin()).arg("--out").arg(home.path.join("out"));
    let out = run_with(cmd, b"", Duration::from_secs(300));
    assert_eq!(out.code, Some(0), "scripts/package: {}", out.stderr);
    let deb = PathBuf::from(out.text().trim_end());
    assert_eq!(deb, home.path.join("out").join(format!("rcli_{version}-1_{arch}.deb")));
    let deb_arg = deb.display().to_string();

    let field = |name: &str| run("dpkg-deb", &["--field", &deb_arg, name]).text().trim().to_string();
    assert_eq!((field("Package"), field("Version")), ("rcli".into(), format!("{version}-1")));
    let depends = field("Depends");
    assert!(depends.starts_with("libc6 (>= "), "Depends: {depends}");

    // Exactly these files, owned by root, the binary executable.
    let listing = run("dpkg-deb", &["--contents", &deb_arg]).text();
    let mut shipped = Vec::new();
    for line in listing.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        let (mode, owner, path) = (words[0], words[1], words[words.len() - 1]);
        assert_eq!(owner, "root/root", "{line}");
        if let Some(path) = path.strip_prefix("./usr/").filter(|_| !mode.starts_with('d')) {
            let expected = if path == "bin/rcli" { "-rwxr-xr-x" } else { "-rw-r--r--" };
            assert_eq!(mode, expected, "{line}");
            shipped.push(path);
        } else {
            assert_eq!(mode, "drwxr-xr-x", "{line}");
        }
    }
    shipped.sort_unstable();
    assert_eq!(
        shipped,
        [
            "bin/rcli",
            "share/bash-completion/completions/rcli",
            "share/doc/rcli/changelog.Debian.gz",
            "share/doc/rcli/copyright",
            "share/fish/vendor_completions.d/rcli.fish",
            "share/man/man1/rcli.1.gz",
            "share/zsh/vendor-completions/_rcli",
        ]
    );

    let root = DpkgRoot::new(home.path.join("root"), &depends);
    let installed = root.dpkg(&["--install", &deb_arg]);
    assert_eq!(installed.code, Some(0), "dpkg -i: {}", installed.stderr);
    assert!(!installed.stderr.contains("warning"), "dpkg -i: {}", installed.stderr);
    assert_eq!(root.status(), "install ok installed");
    let usr = root.path.join("usr");

    // The installed binary is the one packaged.
    let bin = usr.join("bin/rcli").display().to_string();
    let ours = run(&rcli_bin().display().to_string(), &["--version"]).text();
    assert_eq!(run(&bin, &["--version"]).text(), ours);
    assert!(ours.starts_with(&format!("rcli {version}")), "{ours}");

    // man finds the page where /usr/share/man would be, and it is `rcli man`'s.
    let man_dir = usr.join("share/man");
    let roff = rcli_run(&home, &["man"], "");
    assert_eq!(gunzip(&man_dir.join("man1/rcli.1.gz")), roff.text());
    if has("man") {
        let mut cmd = Command::new("man");
        cmd.arg("-M").arg(&man_dir).arg("rcli");
        cmd.env("MANPAGER", "cat").env("MANWIDTH", "80").env("LC_ALL", "C.UTF-8").env_remove("MANPATH");
        let out = run_with(cmd, b"", Duration::from_secs(60));
        assert_eq!(out.code, Some(0), "man rcli: {}", out.stderr);
        let text: String = out.text().split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(text.contains("rcli - A cluster-aware Redis shell"), "man rcli:\n{text}");
    } else {
        assert!(std::env::var_os("CI").is_none(), "man is needed under CI (scripts/test installs man-db)");
    }

    // bash-completion loads the installed script by the command's name, as it does from
    // /usr/share/bash-completion/completions (XDG_DATA_DIRS names the throwaway /usr/share).
    let bash_script = usr.join("share/bash-completion/completions/rcli");
    let framework = Path::new("/usr/share/bash-completion/bash_completion");
    let load = if framework.is_file() {
        format!(
            ". {}\n\
             BASH_COMPLETION_USER_DIR=/nonexistent XDG_DATA_DIRS='{}' __load_completion rcli || exit 7\n\
             shopt -s extdebug; [[ \"$(declare -F _rcli)\" == *' {}' ]] || exit 6; shopt -u extdebug",
            framework.display(),
            usr.join("share").display(),
            bash_script.display(),
        )
    } else {
        assert!(std::env::var_os("CI").is_none(), "scripts/test installs bash-completion under CI");
        format!("source '{}' || exit 9", bash_script.display())
    };
    assert_eq!(inserted(&bash_complete_after(&load, &["rcli", "--clu"])), "--cluster");
    assert_eq!(bash_complete_after(&load, &["rcli", "--cluster", "res"]), ["reshard"]);
    for (shell, path) in
        [("zsh", "share/zsh/vendor-completions/_rcli"), ("fish", "share/fish/vendor_completions.d/rcli.fish")]
    {
        assert_eq!(std::fs::read_to_string(usr.join(path)).unwrap(), script(&home, shell), "{path}");
    }

    let doc = usr.join("share/doc/rcli");
    let copyright = std::fs::read_to_string(doc.join("copyright")).unwrap();
    for line in ["Files: *", "Copyright: 2026 the rcli developers", "License: MIT", " Permission is hereby granted"] {
        assert!(copyright.lines().any(|l| l.starts_with(line)), "{line} in copyright:\n{copyright}");
    }
    let changelog = gunzip(&doc.join("changelog.Debian.gz"));
    assert!(changelog.starts_with(&format!("rcli ({version}-1) unstable; urgency=medium\n")), "{changelog}");

    let removed = root.dpkg(&["--remove", "rcli"]);
    assert_eq!(removed.code, Some(0), "dpkg -r: {}", removed.stderr);
    assert_ne!(root.status(), "install ok installed");
    assert_eq!(root.files(), Vec::<PathBuf>::new(), "files left after dpkg -r");
}
