//! `rcli sandbox`: starts a throwaway local cluster (`modes::sandbox`), then rcli's shell
//! on it with the lab (`:kill`, `:pause`, …) and, with `--lesson NAME`, a guided lesson
//! (`shell/lesson/`); `--bare N` starts unjoined nodes for `rcli --cluster create`.
//! Everything is stopped and removed when the shell ends.

use clap::Parser;

use crate::exit::Exit;
use crate::modes::sandbox::{
    BareNodes, ClusterOptions, Listen, LocalCluster, lab, redis_server_available, server_accepts, temp_dir, tls,
};
use crate::shell::lesson;

/// `rcli sandbox` options.
#[derive(Debug, Parser)]
#[command(
    name = "rcli sandbox",
    about = "Start a throwaway local Redis Cluster and open rcli on it; everything is removed on exit."
)]
pub struct SandboxArgs {
    /// Number of primaries.
    #[arg(long, default_value_t = 3)]
    primaries: usize,
    /// Replicas per primary.
    #[arg(long, default_value_t = 1)]
    replicas: usize,
    /// Databases 0 to N-1 in cluster mode on every node (cluster-databases N; Valkey 9 and later).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..), conflicts_with = "bare")]
    databases: Option<u32>,
    /// A TLS cluster (tls-port, tls-cluster, tls-replication) with a throwaway CA and certificates.
    #[arg(long)]
    tls: bool,
    /// Start N empty, unjoined nodes instead (for `rcli --cluster create`).
    #[arg(long, value_name = "N")]
    bare: Option<usize>,
    /// Start a guided lesson in the shell (`:lesson` in the shell lists them).
    #[arg(long, value_name = "NAME", value_parser = clap::builder::PossibleValuesParser::new(lesson::NAMES), conflicts_with = "bare")]
    lesson: Option<String>,
}

/// Runs `rcli sandbox`; returns the exit code.
pub fn main(args: &[std::ffi::OsString]) -> Exit {
    let parsed = match SandboxArgs::try_parse_from(
        std::iter::once(std::ffi::OsString::from("rcli sandbox")).chain(args.iter().cloned()),
    ) {
        Ok(parsed) => parsed,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { Exit::Usage } else { Exit::Success };
        }
    };
    if !redis_server_available() {
        crate::output::note(
            "redis-server was not found on PATH. Install it first: apt-get install redis-server (Debian/Ubuntu), brew install redis (macOS).",
        );
        return Exit::Failure;
    }
    if let Some(count) = parsed.bare {
        return bare_shell(count);
    }
    let lesson = parsed.lesson.as_deref().and_then(lesson::find);
    if let Some(lesson) = lesson.filter(|l| l.needs_replicas && parsed.replicas == 0) {
        crate::output::note(&format!("sandbox: the {} lesson needs replicas (--replicas 1 or more)", lesson.name));
        return Exit::Usage;
    }
    if let Some(count) = parsed.databases
        && let Err(refusal) = server_accepts(&[("cluster-databases", &count.to_string())])
    {
        crate::output::note(&format!(
            "sandbox: this redis-server has no numbered databases in cluster mode (it refused {refusal}); Valkey 9 has them"
        ));
        return Exit::Failure;
    }
    let mut listen = Listen::default();
    if parsed.tls {
        let dir = match temp_dir("tls") {
            Ok(dir) => dir,
            Err(e) => {
                crate::output::note(&format!("sandbox: {e}"));
                return Exit::Failure;
            }
        };
        match tls::TlsFiles::generate(&dir, &[]) {
            Ok(files) => listen.tls = Some(files),
            Err(e) => {
                crate::output::note(&format!("sandbox: {e}"));
                let _ = std::fs::remove_dir_all(&dir);
                return Exit::Failure;
            }
        }
    }
    let tls_dir = listen.tls.as_ref().and_then(|f| f.ca.parent().map(std::path::Path::to_path_buf));
    let code = run_cluster(&parsed, listen, lesson::Guide::new(lesson));
    if let Some(dir) = tls_dir {
        let _ = std::fs::remove_dir_all(dir);
    }
    code
}

fn run_cluster(parsed: &SandboxArgs, listen: Listen, guide: lesson::Guide) -> Exit {
    let kind = if listen.tls.is_some() { "TLS " } else { "" };
    crate::output::note(&format!(
        "starting a {kind}cluster of {} primaries with {} replica(s) each…",
        parsed.primaries, parsed.replicas
    ));
    // Availability zones wherever the server takes them (announced by Valkey 9): `--az`
    // can be tried.
    let zones = server_accepts(&[("availability-zone", "az-1")]).is_ok();
    let options = ClusterOptions { listen, databases: parsed.databases, zones };
    let cluster = match LocalCluster::start_opts(parsed.primaries, parsed.replicas, options) {
        Ok(cluster) => cluster,
        Err(e) => {
            crate::output::note(&format!("sandbox: {e}"));
            return Exit::Failure;
        }
    };
    crate::output::note(&format!("cluster ready in {}:", cluster.dir.display()));
    // Valkey 8.1 takes `availability-zone` but does not announce it: zones are shown only
    // where `--az` can see them.
    let announced = cluster.zones && cluster.announces_zones();
    for (i, node) in cluster.nodes.iter().enumerate() {
        let role = if i < cluster.primaries {
            "primary".to_string()
        } else {
            let primary = cluster.nodes.get((i - cluster.primaries) % cluster.primaries).map_or(0, |n| n.port);
            format!("replica of {primary}")
        };
        let zone = cluster.zone(i).filter(|_| announced).map(|z| format!("  {z}")).unwrap_or_default();
        crate::output::note(&format!("  127.0.0.1:{}  {role}{zone}", node.port));
    }
    if let Some(count) = cluster.databases {
        crate::output::note(&format!(
            "databases 0-{} on every node (cluster-databases {count}): SELECT and -n work with -c",
            count.saturating_sub(1)
        ));
    }
    let mut argv: Vec<String> = ["rcli", "-c", "-p", &cluster.port(0).to_string()].map(String::from).to_vec();
    if let Some(files) = &cluster.listen.tls {
        crate::output::note(&format!(
            "TLS only (tls-port, tls-cluster, tls-replication); certificates in {}",
            files.ca.display()
        ));
        crate::output::note(&format!(
            "  from another terminal: rcli -c -p {} --tls --cacert {}",
            cluster.port(0),
            files.ca.display()
        ));
        argv.extend(["--tls".to_string(), "--cacert".to_string(), files.ca.display().to_string()]);
    }
    crate::output::note(
        "everything is stopped and removed when you leave the shell (quit, Ctrl-D, a closed terminal, a kill).",
    );
    let words: Vec<std::ffi::OsString> = argv.into_iter().map(Into::into).collect();
    let mut config = match super::start::config(&words) {
        Ok(config) => config,
        Err(super::start::Stopped(exit)) => return exit,
    };
    // The sandbox's servers have no password: whatever the environment holds for other
    // servers (REDISCLI_AUTH) does not apply to them.
    if config.state.auth.take().is_some() {
        crate::output::note("sandbox: REDISCLI_AUTH is ignored (the sandbox's servers have no password)");
    }
    if let Err(super::start::Stopped(exit)) = super::start::prepare(&mut config) {
        return exit;
    }
    // The shell's lab takes the servers over; they go when the session ends.
    super::run::run_in_sandbox(config, lab::Lab::new(cluster), guide)
}

/// `rcli sandbox --bare N`: starts the nodes, prints them and the `create` command that
/// joins them, and keeps them until stdin ends (Enter, Ctrl-D) or Ctrl-C; then
/// everything is removed.
fn bare_shell(count: usize) -> Exit {
    let bare = match BareNodes::start(count, &[]) {
        Ok(bare) => bare,
        Err(e) => {
            eprintln!("sandbox: {e}");
            return Exit::Failure;
        }
    };
    let (tx, rx) = std::sync::mpsc::channel();
    let on_signal = tx.clone();
    let _ = ctrlc::set_handler(move || {
        let _ = on_signal.send(());
    });
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = std::io::stdin().read_line(&mut line);
        let _ = tx.send(());
    });
    println!("{count} empty cluster nodes in {}:", bare.dir.display());
    println!("  {}", bare.addrs().join(" "));
    println!("join them with (in another terminal):");
    println!("  rcli --cluster create {} --cluster-replicas 1", bare.addrs().join(" "));
    println!("press Enter (or Ctrl-C) to stop and remove them.");
    let _ = std::io::Write::flush(&mut std::io::stdout());
    let _ = rx.recv();
    drop(bare);
    Exit::Success
}
