//! The subcommand table (name, arity, arguments, options) that `--cluster help` prints
//! exactly as redis-cli 7.0.15 does, followed by rcli's own options; and which options
//! a subcommand ignores (rcli warns about them on stderr).

/// One `--cluster` subcommand.
pub struct Spec {
    pub name: &'static str,
    /// redis-cli's arity: n exactly n arguments, -n at least n.
    pub arity: i32,
    pub args: &'static str,
    /// redis-cli's options, as `help` lists them.
    pub options: &'static [&'static str],
    /// Every option the subcommand reads (redis-cli's and rcli's), without `--cluster-`.
    pub reads: &'static [&'static str],
}

impl Spec {
    pub fn arity_ok(&self, argc: usize) -> bool {
        let argc = i32::try_from(argc).unwrap_or(i32::MAX);
        if self.arity >= 0 { argc == self.arity } else { argc >= -self.arity }
    }
}

const HOST: &str = "<host:port> or <host> <port> - separated by either colon or space";

pub const SPECS: &[Spec] = &[
    Spec {
        name: "create",
        arity: -2,
        args: "host1:port1 ... hostN:portN",
        options: &["replicas <arg>"],
        reads: &["replicas", "yes", "dry-run", "json", "seed", "join-timeout"],
    },
    Spec {
        name: "check",
        arity: -1,
        args: HOST,
        options: &["search-multiple-owners"],
        reads: &["search-multiple-owners", "json"],
    },
    Spec { name: "info", arity: -1, args: HOST, options: &[], reads: &["json"] },
    Spec {
        name: "fix",
        arity: -1,
        args: HOST,
        options: &["search-multiple-owners", "fix-with-unreachable-masters"],
        reads: &[
            "search-multiple-owners",
            "fix-with-unreachable-masters",
            "timeout",
            "pipeline",
            "replace",
            "yes",
            "fix-yes",
            "dry-run",
            "json",
        ],
    },
    Spec {
        name: "reshard",
        arity: -1,
        args: HOST,
        options: &["from <arg>", "to <arg>", "slots <arg>", "yes", "timeout <arg>", "pipeline <arg>", "replace"],
        reads: &[
            "from",
            "to",
            "slots",
            "yes",
            "timeout",
            "pipeline",
            "replace",
            "dry-run",
            "json",
            "resume",
            "abandon",
            "force",
            "parallel",
            "keep-journal",
            "big-key-bytes",
            "allow-big-keys",
            "use-atomic-slot-migration",
        ],
    },
    Spec {
        name: "rebalance",
        arity: -1,
        args: HOST,
        options: &[
            "weight <node1=w1...nodeN=wN>",
            "use-empty-masters",
            "timeout <arg>",
            "simulate",
            "pipeline <arg>",
            "threshold <arg>",
            "replace",
        ],
        reads: &[
            "weight",
            "use-empty-masters",
            "timeout",
            "simulate",
            "pipeline",
            "threshold",
            "replace",
            "yes",
            "dry-run",
            "json",
            "resume",
            "abandon",
            "force",
            "parallel",
            "keep-journal",
            "big-key-bytes",
            "allow-big-keys",
        ],
    },
    Spec {
        name: "add-node",
        arity: 2,
        args: "new_host:new_port existing_host:existing_port",
        options: &["slave", "master-id <arg>"],
        reads: &["slave", "master-id", "dry-run", "join-timeout"],
    },
    Spec { name: "del-node", arity: 2, args: "host:port node_id", options: &[], reads: &["dry-run"] },
    Spec {
        name: "call",
        arity: -2,
        args: "host:port command arg arg .. arg",
        options: &["only-masters", "only-replicas"],
        reads: &["only-masters", "only-replicas", "json"],
    },
    Spec { name: "set-timeout", arity: 2, args: "host:port milliseconds", options: &[], reads: &[] },
    Spec {
        name: "import",
        arity: 1,
        args: "host:port",
        options: &["from <arg>", "from-user <arg>", "from-pass <arg>", "from-askpass", "copy", "replace"],
        reads: &["from", "from-user", "from-pass", "from-askpass", "copy", "replace", "timeout", "yes", "dry-run"],
    },
    Spec { name: "backup", arity: 2, args: "host:port backup_directory", options: &[], reads: &[] },
    Spec { name: "help", arity: 0, args: "", options: &[], reads: &[] },
];

pub fn find(name: &str) -> Option<&'static Spec> {
    SPECS.iter().find(|s| s.name == name)
}

/// Options given that `command` does not read (redis-cli ignores them silently).
pub fn ignored_options(command: &str, given: &[String]) -> Vec<String> {
    let Some(spec) = find(command) else { return Vec::new() };
    let canonical = |name: &str| -> String {
        let bare = name.trim_start_matches("--cluster-");
        match bare {
            "primary-id" => "master-id",
            "replica" => "slave",
            "use-empty-primaries" => "use-empty-masters",
            "fix-with-unreachable-primaries" => "fix-with-unreachable-masters",
            "only-primaries" => "only-masters",
            other => other,
        }
        .to_string()
    };
    let mut out: Vec<String> = given
        .iter()
        .filter(|g| !spec.reads.contains(&canonical(g).as_str()))
        .filter(|g| !(command == "add-node" && canonical(g) == "master-id"))
        .cloned()
        .collect();
    out.dedup();
    out
}

/// The help text: redis-cli's, then rcli's options.
pub fn text() -> String {
    let mut out = String::from("Cluster Manager Commands:\n");
    for spec in SPECS {
        out.push_str(&format!("  {:<15}{}\n", spec.name, spec.args));
        for option in spec.options {
            out.push_str(&format!("{}--cluster-{option}\n", " ".repeat(17)));
        }
    }
    out.push_str("\nFor check, fix, reshard, del-node, set-timeout, info, rebalance, call, import, backup you can specify the host and port of any working node in the cluster.\n\n");
    out.push_str("Cluster Manager Options:\n  --cluster-yes  Automatic yes to cluster commands prompts\n\n");
    out.push_str(RCLI_OPTIONS);
    out
}

const RCLI_OPTIONS: &str = "\
rcli options:
  --cluster-dry-run              print the plan (moves, keys, bytes, time) and change nothing
  --cluster-json                 JSON output for check, info, call and plans
  --cluster-resume               finish an interrupted reshard or rebalance from its journal
  --cluster-abandon              undo an interrupted reshard's open slots and drop its journal
  --cluster-force                abandon: close the journal even with slots left as they are
  --cluster-parallel <n>         move slots between at most n independent node pairs at once
  --cluster-keep-journal         keep the journal after a successful run
  --cluster-fix-yes              answer yes to fix's questions (--cluster-yes does not)
  --cluster-seed <n>             make create's replica placement repeatable
  --cluster-join-timeout <s>     give up waiting for nodes to agree after s seconds
  --cluster-big-key-bytes <n>    keys above n bytes are migrated alone (default 8 MB)
  --cluster-allow-big-keys       move keys rcli would refuse as too big for MIGRATE
  --cluster-use-atomic-slot-migration  reshard, rebalance: CLUSTER MIGRATESLOTS (Valkey 9.1+)
  Valkey's names work too: --cluster-replica, --cluster-primary-id, --cluster-only-primaries,
  --cluster-use-empty-primaries, --cluster-fix-with-unreachable-primaries.
";

pub fn print() {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text().as_bytes()).and_then(|()| out.flush());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help_starts_like_redis_cli() {
        let text = text();
        assert!(text.starts_with("Cluster Manager Commands:\n  create         host1:port1 ... hostN:portN\n                 --cluster-replicas <arg>\n"));
        assert!(text.contains("  help           \n\nFor check, fix"));
    }

    #[test]
    fn arity_and_ignored_options() {
        assert!(find("create").unwrap().arity_ok(2));
        assert!(!find("del-node").unwrap().arity_ok(1));
        assert!(find("help").unwrap().arity_ok(0));
        assert_eq!(ignored_options("add-node", &["--cluster-replicas".into()]), ["--cluster-replicas"]);
        assert!(ignored_options("add-node", &["--cluster-replica".into()]).is_empty());
    }
}
