//! TLS against real TLS-only redis-servers with certificates made in the test (the
//! sandbox's rcgen CA): trust from a CA file, a CA directory and the system-store
//! variables; client certificates; every certificate failure as one clear line; the
//! plain-text/TLS port mix-ups detected; `rediss://`. The helpers here serve
//! `tls_cluster.rs` too.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rcli::cluster::slot::slot_of;
use rcli::cluster::topology::Topology;
use rcli::endpoint::Endpoint;
use rcli::modes::sandbox::Listen;
use rcli::modes::sandbox::tls::{Authority, TlsFiles, Validity};

use crate::util::*;

/// Certificates in a temp directory (removed on drop).
pub struct Certs {
    pub home: Home,
    pub files: TlsFiles,
}

impl Certs {
    pub fn new(extra_names: &[&str]) -> Certs {
        let home = Home::new();
        let files = TlsFiles::generate(&home.path.join("tls"), extra_names).unwrap();
        Certs { home, files }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.home.path.join(name)
    }

    /// Writes a certificate from a new, untrusted CA; returns (cert, key) paths.
    pub fn foreign(&self, names: &[&str], stem: &str) -> (PathBuf, PathBuf) {
        let other = Authority::new("some other CA").unwrap();
        std::fs::write(self.path(&format!("{stem}-ca.crt")), &other.cert_pem).unwrap();
        let (cert, key) = other.issue(names, Validity::Current).unwrap();
        self.write_pair(stem, &cert, &key)
    }

    pub fn write_pair(&self, stem: &str, cert: &str, key: &str) -> (PathBuf, PathBuf) {
        let (cert_path, key_path) = (self.path(&format!("{stem}.crt")), self.path(&format!("{stem}.key")));
        std::fs::write(&cert_path, cert).unwrap();
        std::fs::write(&key_path, key).unwrap();
        (cert_path, key_path)
    }

    pub fn listen(&self) -> Listen {
        Listen { host: "127.0.0.1".into(), tls: Some(self.files.clone()) }
    }

    pub fn ca(&self) -> String {
        self.files.ca.display().to_string()
    }
}

pub fn p(path: &Path) -> String {
    path.display().to_string()
}

fn tls_server(certs: &Certs, extra: &[&str]) -> Standalone {
    Standalone::start_with(&certs.listen(), extra).unwrap_or_else(|e| panic!("could not start a TLS server: {e}"))
}

/// A TLS server whose certificate is `names`/`validity` (signed by the test CA).
fn server_with_cert(certs: &Certs, names: &[&str], validity: Validity) -> Standalone {
    let authority_files = &certs.files;
    // Re-issue: a fresh CA would not be trusted, so sign with a CA the test writes as the trusted one.
    let authority = Authority::new("rcli test CA").unwrap();
    std::fs::write(&authority_files.ca, &authority.cert_pem).unwrap();
    let (cert, key) = authority.issue(names, validity).unwrap();
    std::fs::write(&authority_files.cert, cert).unwrap();
    std::fs::write(&authority_files.key, key).unwrap();
    tls_server(certs, &[])
}

fn one_line_error(out: &Output) -> String {
    assert_eq!(out.code, Some(1), "exit 1: {out:?}");
    let lines: Vec<&str> = out.stderr.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line on stderr: {:?}", out.stderr);
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    lines[0].to_string()
}

#[test]
fn standalone_tls_trusts_a_ca_file_a_ca_directory_and_the_system_store_variables() {
    if !have_redis() {
        return;
    }
    let certs = Certs::new(&[]);
    let server = tls_server(&certs, &[]);
    let port = server.port().to_string();
    let home = Home::new();
    let ping = |extra: &[&str]| {
        let mut args = vec!["--tls", "-p", &port];
        args.extend_from_slice(extra);
        args.push("ping");
        rcli_run(&home, &args, "")
    };
    assert_eq!(ping(&["--cacert", &certs.ca()]).text(), "PONG\n");

    // --cacertdir: every certificate file in the directory counts (an unrelated CA too).
    let dir = certs.path("cadir");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(&certs.files.ca, dir.join("a1b2c3d4.0")).unwrap();
    std::fs::write(dir.join("other.pem"), Authority::new("unrelated").unwrap().cert_pem).unwrap();
    assert_eq!(ping(&["--cacertdir", &p(&dir)]).text(), "PONG\n");

    // Without --cacert the system store is used: a bundle named by SSL_CERT_FILE.
    let bundle = certs.path("bundle.pem");
    let unrelated = Authority::new("unrelated").unwrap().cert_pem;
    std::fs::write(&bundle, format!("{unrelated}{}", std::fs::read_to_string(&certs.files.ca).unwrap())).unwrap();
    let mut cmd = rcli(&home);
    cmd.args(["--tls", "-p", &port, "ping"]).env("SSL_CERT_FILE", &bundle).env("SSL_CERT_DIR", certs.path("none"));
    assert_eq!(run_with(cmd, b"", Duration::from_secs(30)).text(), "PONG\n");

    // A system store without the CA: unknown CA.
    let mut cmd = rcli(&home);
    let only_unrelated = certs.path("unrelated.pem");
    std::fs::write(&only_unrelated, unrelated).unwrap();
    cmd.args(["--tls", "-p", &port, "ping"])
        .env("SSL_CERT_FILE", &only_unrelated)
        .env("SSL_CERT_DIR", certs.path("none"));
    let line = one_line_error(&run_with(cmd, b"", Duration::from_secs(30)));
    assert!(line.contains("certificate verify failed: unknown CA"), "{line}");

    // Piped lines and --pipe over TLS.
    let piped = rcli_run(&home, &["--tls", "--cacert", &certs.ca(), "-p", &port], "set a 1\nincr a\nget a\n");
    assert_eq!(piped.text(), "OK\n2\n2\n");
    let raw = "*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$1\r\n7\r\n";
    let pipe = rcli_run(&home, &["--tls", "--cacert", &certs.ca(), "-p", &port, "--pipe"], raw);
    assert!(pipe.text().contains("errors: 0, replies: 1"), "{}", pipe.text());
}

#[test]
fn certificate_failures_are_one_clear_line_and_sni_and_insecure_work() {
    if !have_redis() {
        return;
    }
    let certs = Certs::new(&[]);
    let home = Home::new();
    let run = |port: &str, extra: &[&str]| {
        let mut args = vec!["--tls", "-p", port];
        args.extend_from_slice(extra);
        args.push("ping");
        rcli_run(&home, &args, "")
    };

    // Wrong CA.
    let server = tls_server(&certs, &[]);
    let port = server.port().to_string();
    let other_ca = certs.path("other-ca.pem");
    std::fs::write(&other_ca, Authority::new("other").unwrap().cert_pem).unwrap();
    let line = one_line_error(&run(&port, &["--cacert", &p(&other_ca)]));
    assert!(
        line.starts_with(&format!(
            "Could not connect to Redis at 127.0.0.1:{port}: certificate verify failed: unknown CA"
        )),
        "{line}"
    );
    assert_eq!(run(&port, &["--insecure"]).text(), "PONG\n", "--insecure skips the check");
    drop(server);

    // A certificate for another name: hostname mismatch, unless --sni names it.
    let server = server_with_cert(&certs, &["wrong.example.com"], Validity::Current);
    let port = server.port().to_string();
    let line = one_line_error(&run(&port, &["--cacert", &certs.ca()]));
    assert!(line.contains("hostname mismatch") && line.contains("wrong.example.com"), "{line}");
    assert_eq!(run(&port, &["--cacert", &certs.ca(), "--sni", "wrong.example.com"]).text(), "PONG\n");
    let line = one_line_error(&run(&port, &["--cacert", &certs.ca(), "--sni", "other.example.com"]));
    assert!(line.contains("not valid for other.example.com"), "{line}");
    assert_eq!(run(&port, &["--insecure"]).text(), "PONG\n");
    drop(server);

    // Expired.
    let server = server_with_cert(&certs, &["127.0.0.1"], Validity::Expired);
    let port = server.port().to_string();
    let line = one_line_error(&run(&port, &["--cacert", &certs.ca()]));
    assert!(line.contains("the certificate expired on 2021-01-01 00:00:00 UTC"), "{line}");
    drop(server);

    // A bad CA file is refused before connecting.
    let line = one_line_error(&run(&port, &["--cacert", "/nonexistent/ca.crt"]));
    assert_eq!(line, "Could not negotiate a TLS connection: /nonexistent/ca.crt: No such file or directory");
    let line =
        one_line_error(&run(&port, &["--cacert", &certs.ca(), "--tls-ciphers", "BOGUS", "--tls-ciphersuites", ""]));
    assert!(line.starts_with("Could not negotiate a TLS connection: Error while configuring ciphers"), "{line}");
}

#[test]
fn client_certificates_are_required_presented_and_refused() {
    if !have_redis() {
        return;
    }
    let certs = Certs::new(&[]);
    let server = tls_server(&certs, &["--tls-auth-clients", "yes"]);
    let port = server.port().to_string();
    let home = Home::new();
    let ca = certs.ca();
    let (cert, key) = (p(&certs.files.client_cert), p(&certs.files.client_key));
    let ok = rcli_run(&home, &["--tls", "--cacert", &ca, "--cert", &cert, "--key", &key, "-p", &port, "ping"], "");
    assert_eq!(ok.text(), "PONG\n", "{}", ok.stderr);

    for extra in [&[][..], &["--tls-ciphersuites", ""][..]] {
        // TLS 1.3 refuses after the handshake, TLS 1.2 during it: the same line either way.
        let mut args = vec!["--tls", "--cacert", &ca, "-p", &port];
        args.extend_from_slice(extra);
        args.push("ping");
        let line = one_line_error(&rcli_run(&home, &args, ""));
        assert!(line.contains("the server requires a client certificate"), "{extra:?}: {line}");
    }

    let (foreign_cert, foreign_key) = certs.foreign(&["rcli client"], "foreign");
    let args = ["--tls", "--cacert", &ca, "--cert", &p(&foreign_cert), "--key", &p(&foreign_key), "-p", &port, "ping"];
    let line = one_line_error(&rcli_run(&home, &args, ""));
    assert!(line.contains("the server rejected the client certificate"), "{line}");

    let half = rcli_run(&home, &["--tls", "--cacert", &ca, "--cert", &cert, "-p", &port, "ping"], "");
    assert_eq!(half.code, Some(2), "--cert without --key is a usage error");
    let mismatched = ["--tls", "--cacert", &ca, "--cert", &cert, "--key", &p(&foreign_key), "-p", &port, "ping"];
    let line = one_line_error(&rcli_run(&home, &mismatched, ""));
    assert!(line.contains("does not match the private key"), "{line}");
}

#[test]
fn plain_text_and_tls_ports_mixed_up_are_detected_not_timed_out() {
    if !have_redis() {
        return;
    }
    let certs = Certs::new(&[]);
    let plain = standalone();
    let tls = tls_server(&certs, &[]);
    let home = Home::new();
    let started = Instant::now();
    let line = one_line_error(&rcli_run(
        &home,
        &["--tls", "--cacert", &certs.ca(), "-p", &plain.port().to_string(), "-t", "20", "ping"],
        "",
    ));
    assert!(line.contains("does not speak TLS") && line.contains("+PONG"), "{line}");
    assert!(started.elapsed() < Duration::from_secs(15), "detected, not the 20 s connect timeout");
    let line = one_line_error(&rcli_run(&home, &["-p", &tls.port().to_string(), "ping"], ""));
    assert!(line.contains("the server speaks TLS on this port (add --tls"), "{line}");
}

#[test]
fn rediss_uris_carry_user_password_and_database() {
    if !have_redis() {
        return;
    }
    let certs = Certs::new(&[]);
    let server = tls_server(&certs, &[]);
    let reply = server.server.call(&["ACL", "SETUSER", "alice", "on", ">s3cret", "~*", "&*", "+@all"]).unwrap();
    assert!(reply.is_ok(), "{reply:?}");
    let home = Home::new();
    let uri = format!("rediss://alice:s3cret@127.0.0.1:{}/2", server.port());
    let out = rcli_run(&home, &["-u", &uri, "--cacert", &certs.ca(), "--no-auth-warning", "client", "info"], "");
    let info = out.text();
    assert!(info.contains(" db=2 ") && info.contains(" user=alice "), "{info}{}", out.stderr);
}

/// rcli's arguments: `tls` then `rest`.
pub fn args_with(tls: &[String], rest: &[&str]) -> Vec<String> {
    tls.iter().cloned().chain(rest.iter().map(|s| s.to_string())).collect()
}

pub fn run_args(home: &Home, args: &[String], input: &str) -> Output {
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    rcli_run(home, &refs, input)
}

pub fn shell_args(home: &Home, args: &[String]) -> rexpect::session::PtySession {
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    shell(home, &refs)
}

pub fn owner_in(cluster: &LocalCluster, index: usize, key: &str) -> Option<Endpoint> {
    let reply = cluster.call(index, &["CLUSTER", "SHARDS"]).ok()?;
    let topo = Topology::from_shards_via(&reply, &cluster.endpoint(index), true).ok()?;
    topo.owner(slot_of(key.as_bytes())).cloned()
}
