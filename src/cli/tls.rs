//! redis-cli's TLS options (`--tls`, `--sni`, `--cacert`, `--cacertdir`, `--insecure`,
//! `--cert`, `--key`, `--tls-ciphers`, `--tls-ciphersuites`), flattened into
//! [`super::Args`], and their validation into [`TlsOptions`] (no I/O: certificates are
//! loaded when the first connection needs them).

use std::path::PathBuf;

use clap::Args;

use crate::client::tls::TlsOptions;
use crate::error::{Error, Result};

/// The TLS options.
#[derive(Debug, Clone, Default, Args)]
pub struct TlsArgs {
    /// Establish a secure TLS connection (also: a rediss:// URI).
    #[arg(long, display_order = 19)]
    pub tls: bool,
    /// Server name indication: the name checked in each node's certificate when the cluster announces none.
    #[arg(long, value_name = "HOST", display_order = 20)]
    pub sni: Option<String>,
    /// CA certificate file to verify with (default: the system's trust store).
    #[arg(long, value_name = "FILE", display_order = 21)]
    pub cacert: Option<PathBuf>,
    /// Directory of trusted CA certificates (default: the system's trust store).
    #[arg(long, value_name = "DIR", display_order = 22)]
    pub cacertdir: Option<PathBuf>,
    /// Allow insecure TLS connection by skipping certificate validation.
    #[arg(long, display_order = 23)]
    pub insecure: bool,
    /// Client certificate to authenticate with.
    #[arg(long, value_name = "FILE", display_order = 24)]
    pub cert: Option<PathBuf>,
    /// Private key file to authenticate with.
    #[arg(long, value_name = "FILE", display_order = 25)]
    pub key: Option<PathBuf>,
    /// TLS 1.2 ciphers, OpenSSL names separated by ':' (only the ECDHE AES-GCM and ChaCha20 suites exist).
    #[arg(long = "tls-ciphers", value_name = "LIST", display_order = 26)]
    pub ciphers: Option<String>,
    /// TLS 1.3 ciphersuites, separated by ':' (TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384, TLS_CHACHA20_POLY1305_SHA256).
    #[arg(long = "tls-ciphersuites", value_name = "LIST", display_order = 27)]
    pub ciphersuites: Option<String>,
}

impl TlsArgs {
    /// The TLS options when TLS is on (`--tls`, or `uri_tls` for `rediss://`). Like
    /// redis-cli, the other TLS flags are ignored without it.
    pub fn options(&self, uri_tls: bool, unix_socket: bool) -> Result<Option<TlsOptions>> {
        if !self.tls && !uri_tls {
            return Ok(None);
        }
        if unix_socket {
            return Err(Error::Usage("--tls cannot be used with -s: Redis serves TLS on TCP ports only.".into()));
        }
        if self.cert.is_some() != self.key.is_some() {
            return Err(Error::Usage("--cert and --key must be given together.".into()));
        }
        Ok(Some(TlsOptions {
            sni: self.sni.clone(),
            cacert: self.cacert.clone(),
            cacertdir: self.cacertdir.clone(),
            insecure: self.insecure,
            cert: self.cert.clone(),
            key: self.key.clone(),
            ciphers: self.ciphers.clone(),
            ciphersuites: self.ciphersuites.clone(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_flags_count_only_with_tls_and_pairs_are_checked() {
        let args = TlsArgs { cacert: Some("/nonexistent".into()), ..Default::default() };
        assert_eq!(args.options(false, false).unwrap(), None);
        let on = TlsArgs { tls: true, sni: Some("x.example".into()), ..Default::default() };
        assert_eq!(on.options(false, false).unwrap().unwrap().sni.as_deref(), Some("x.example"));
        assert!(TlsArgs::default().options(true, false).unwrap().is_some(), "rediss:// turns TLS on");
        assert!(on.options(false, true).is_err(), "no TLS over a Unix socket");
        let half = TlsArgs { tls: true, key: Some("k".into()), ..Default::default() };
        assert!(half.options(false, false).is_err());
    }
}
