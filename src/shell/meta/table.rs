//! The meta-commands' table: each one's name, argument synopsis and one-line summary,
//! for `:help`, completion, hints and dispatch.

/// One meta-command: its name, argument synopsis and one-line summary.
#[derive(Debug, Clone, Copy)]
pub struct MetaSpec {
    pub name: &'static str,
    pub args: &'static str,
    pub summary: &'static str,
}

/// Every meta-command, in `:help` order.
pub const META: &[MetaSpec] = &[
    MetaSpec {
        name: ":nodes",
        args: "[HOST:PORT|WORD]",
        summary: "the cluster's nodes: id, address, role, slots, keys, link (a summary past 12 nodes; a word picks rows)",
    },
    MetaSpec {
        name: ":slot",
        args: "KEY [KEY ...]",
        summary: "show each key's slot, hashed part, owner and replicas, and why",
    },
    MetaSpec {
        name: ":explain",
        args: "COMMAND [ARG ...]",
        summary: "show which arguments are keys and where the command would go, without running it",
    },
    MetaSpec {
        name: ":use",
        args: "HOST:PORT|ID-PREFIX|primaries|replicas|all|random|auto|current",
        summary: "choose where keyless commands go",
    },
    MetaSpec { name: ":refresh", args: "", summary: "reload the slot map from the cluster" },
    MetaSpec {
        name: ":readonly",
        args: "on|off",
        summary: "send read-only commands to replicas (READONLY is sent for you)",
    },
    MetaSpec {
        name: ":map",
        args: "[HOST:PORT|WORD]",
        summary: "slot ownership: a bar and a range table, one colour per primary (a summary past 12 primaries)",
    },
    MetaSpec {
        name: ":top",
        args: "[SECONDS]",
        summary: "the live view of every node (rcli top) on this session's connection; q returns here",
    },
    MetaSpec { name: ":hops", args: "on|off", summary: "show or hide redirect and split lines" },
    MetaSpec {
        name: ":cluster",
        args: "check|info [--cluster-search-multiple-owners]",
        summary: "run the cluster manager's check or info (rcli --cluster check) on this cluster",
    },
    MetaSpec {
        name: ":set",
        args: "hints|nohints|color auto|always|never|hops on|off|merge on|off|confirm on|off|pager off|on|auto|address-map [ANNOUNCED=REACHABLE ...|clear]|az [NAME|clear]",
        summary: "shell preferences (also read from the rclirc file)",
    },
    MetaSpec {
        name: ":kill",
        args: "NODE",
        summary: "sandbox only: kill a node (SIGKILL), as a crash would. NODE, for every lab command: \
                  HOST:PORT or PORT as :nodes shows, 4+ characters of a node id, primary-of KEY or \
                  replica-of KEY",
    },
    MetaSpec { name: ":stop", args: "NODE", summary: "sandbox only: stop a node cleanly (SHUTDOWN SAVE)" },
    MetaSpec {
        name: ":restart",
        args: "NODE",
        summary: "sandbox only: start a node again with its own port, directory and config (stopping it first \
                  if it runs); it rejoins the cluster",
    },
    MetaSpec {
        name: ":pause",
        args: "NODE SECONDS",
        summary: "sandbox only: freeze a node (SIGSTOP), a partition in miniature; it resumes (SIGCONT) after \
                  SECONDS (0: now, at most 300) or when the shell ends",
    },
    MetaSpec {
        name: ":failover",
        args: "NODE [force|takeover]",
        summary: "sandbox only: CLUSTER FAILOVER on a replica, which takes over its primary's slots",
    },
    MetaSpec {
        name: ":consistency",
        args: "on|off",
        summary: "sandbox only: run the consistency checker (rcli consistency-test) in the background, its \
                  lines above the prompt",
    },
    MetaSpec {
        name: ":peek",
        args: "KEY",
        summary: "a key's type, encoding, TTL, memory, length and first items, from its owner (also peek KEY \
                  at a terminal)",
    },
    MetaSpec { name: ":help", args: "[:COMMAND]", summary: "this list, or one meta-command" },
];

/// What the shell adds to typed lines besides the meta-commands, shown after them by
/// `:help` (wrapped to its width by hand).
pub const SHELL_ADDITIONS: &str = "\
shell additions (at a terminal only; piped input is sent as typed):
  COMMAND | SHELL-COMMAND
                        pipe the reply, printed raw as on a pipe, to
                        sh -c SHELL-COMMAND (lrange l 0 -1 | wc -l); a | in
                        quotes or inside a word stays an argument
  peek KEY              the same as :peek KEY
  FLUSHALL, KEYS, ...   ask first (--yes or :set confirm off to skip); a reply
                        taller than the screen goes through $PAGER (:set pager)
";
