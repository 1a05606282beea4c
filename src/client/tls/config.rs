//! Building the one rustls client configuration from [`TlsOptions`]: the trusted roots
//! (`--cacert`/`--cacertdir`, else the system's store, as OpenSSL's default paths),
//! the client certificate (`--cert`/`--key`), `--insecure`, and the cipher lists
//! mapped from OpenSSL's names to what the `ring` provider offers. Errors are one
//! line naming the file or option at fault.

use std::fs;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, ring as ring_provider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme, SupportedCipherSuite};

use super::TlsOptions;

/// The built configuration, and what explaining its failures needs.
#[derive(Debug)]
pub struct Built {
    pub config: Arc<ClientConfig>,
    /// Records whether a server asked for a client certificate we do not have.
    pub probe: Arc<NoCertProbe>,
    pub have_cert: bool,
    /// A server that asked for a certificate took a connection without one: later
    /// handshakes need not wait for a refusal.
    pub accepted_without_cert: AtomicBool,
}

/// The message redis-cli prints when a cipher list selects nothing.
pub const CIPHERS_ERROR: &str = "Error while configuring ciphers";

/// Builds the configuration for `options`.
pub fn build(options: &TlsOptions) -> Result<Built, String> {
    let provider = Arc::new(provider(options)?);
    // Only the versions that still have a suite: `--tls-ciphersuites ''` means TLS 1.2 only.
    let has = |v| provider.cipher_suites.iter().any(|s| s.version() == v);
    let versions: Vec<&'static rustls::SupportedProtocolVersion> =
        [&rustls::version::TLS13, &rustls::version::TLS12].into_iter().filter(|v| has(*v)).collect();
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions)
        .map_err(|e| format!("TLS configuration: {e}"))?;
    let builder = if options.insecure {
        builder.dangerous().with_custom_certificate_verifier(Arc::new(NoVerify(provider.clone())))
    } else {
        builder.with_root_certificates(roots(options)?)
    };
    let probe = Arc::new(NoCertProbe::default());
    let config = match (&options.cert, &options.key) {
        (Some(cert), Some(key)) => {
            let chain = load_certs(cert)?;
            // PEM "PRIVATE KEY" (PKCS#8), "RSA PRIVATE KEY" (PKCS#1), "EC PRIVATE KEY" (SEC1).
            let der = PrivateKeyDer::from_pem_file(key).map_err(|e| format!("{}: {e}", key.display()))?;
            let signer = provider.key_provider.load_private_key(der).map_err(|e| format!("{}: {e}", key.display()))?;
            let certified = rustls::sign::CertifiedKey::new(chain, signer);
            // Not `with_client_auth_cert`: it rejects X.509 v1 client certificates, which
            // OpenSSL 3.0's `x509 -req` makes by default. Only a real mismatch is fatal.
            if let Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch)) = certified.keys_match()
            {
                return Err(format!("{} does not match the private key in {}", cert.display(), key.display()));
            }
            builder.with_client_cert_resolver(Arc::new(rustls::sign::SingleCertAndKey::from(certified)))
        }
        (None, None) => builder.with_client_cert_resolver(probe.clone()),
        _ => return Err("--cert and --key must be given together".into()),
    };
    Ok(Built {
        config: Arc::new(config),
        probe,
        have_cert: options.cert.is_some(),
        accepted_without_cert: AtomicBool::new(false),
    })
}

/// OpenSSL's TLS 1.2 cipher names for the suites the `ring` provider has.
fn tls12_by_openssl_name(name: &str) -> Option<SupportedCipherSuite> {
    use ring_provider::cipher_suite::*;
    Some(match name {
        "ECDHE-ECDSA-AES256-GCM-SHA384" => TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        "ECDHE-ECDSA-AES128-GCM-SHA256" => TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        "ECDHE-ECDSA-CHACHA20-POLY1305" => TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        "ECDHE-RSA-AES256-GCM-SHA384" => TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        "ECDHE-RSA-AES128-GCM-SHA256" => TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        "ECDHE-RSA-CHACHA20-POLY1305" => TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
        _ => return None,
    })
}

/// The suites a list names, in the list's order. Names the provider lacks (and
/// OpenSSL keywords such as `HIGH` or `!aNULL`) are skipped; a list that names none
/// is refused, as OpenSSL refuses it. `None`: the provider's default suites.
fn pick(
    list: Option<&str>,
    offered: &[SupportedCipherSuite],
    lookup: impl Fn(&str) -> Option<SupportedCipherSuite>,
) -> Result<Vec<SupportedCipherSuite>, String> {
    let Some(list) = list else { return Ok(offered.to_vec()) };
    let mut chosen: Vec<SupportedCipherSuite> = Vec::new();
    for name in list.split([':', ',', ' ']).map(str::trim).filter(|s| !s.is_empty()) {
        let found = lookup(name).or_else(|| offered.iter().copied().find(|s| s.suite().as_str() == Some(name)));
        if let Some(suite) = found.filter(|s| offered.contains(s) && !chosen.contains(s)) {
            chosen.push(suite);
        }
    }
    if chosen.is_empty() && !list.trim().is_empty() {
        return Err(format!("{CIPHERS_ERROR}: none of '{list}' is supported (see docs/compatibility.md)"));
    }
    Ok(chosen)
}

/// The `ring` provider limited to the suites `--tls-ciphersuites`/`--tls-ciphers` name.
fn provider(options: &TlsOptions) -> Result<CryptoProvider, String> {
    let mut provider = ring_provider::default_provider();
    let of = |v| provider.cipher_suites.iter().copied().filter(|s| s.version() == v).collect::<Vec<_>>();
    let (tls13, tls12) = (of(&rustls::version::TLS13), of(&rustls::version::TLS12));
    // IANA "TLS_AES_128_GCM_SHA256" is rustls's "TLS13_AES_128_GCM_SHA256".
    let by_iana = |name: &str| {
        let wanted = name.replacen("TLS_", "TLS13_", 1);
        tls13.iter().copied().find(|s| s.suite().as_str() == Some(wanted.as_str()))
    };
    let mut chosen = pick(options.ciphersuites.as_deref(), &tls13, by_iana)?;
    chosen.extend(pick(options.ciphers.as_deref(), &tls12, tls12_by_openssl_name)?);
    if chosen.is_empty() {
        return Err(format!("{CIPHERS_ERROR}: no cipher suite is left"));
    }
    provider.cipher_suites = chosen;
    Ok(provider)
}

fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("{}: {}", path.display(), pem_error(&e)))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{}: {}", path.display(), pem_error(&e)))?;
    if certs.is_empty() {
        return Err(format!("{}: no certificate found", path.display()));
    }
    Ok(certs)
}

fn pem_error(e: &rustls::pki_types::pem::Error) -> String {
    match e {
        rustls::pki_types::pem::Error::Io(io) => crate::error::os_message(io),
        other => other.to_string(),
    }
}

/// `--cacert`/`--cacertdir` (like `SSL_CTX_load_verify_locations`), else the system's
/// store (like `SSL_CTX_set_default_verify_paths`; `SSL_CERT_FILE`/`SSL_CERT_DIR` apply).
fn roots(options: &TlsOptions) -> Result<RootCertStore, String> {
    let mut store = RootCertStore::empty();
    if options.cacert.is_none() && options.cacertdir.is_none() {
        let found = rustls_native_certs::load_native_certs();
        let (_added, _unparsable) = store.add_parsable_certificates(found.certs);
        if store.is_empty() {
            return Err("no system CA certificates found (give --cacert or --cacertdir)".into());
        }
        return Ok(store);
    }
    if let Some(file) = &options.cacert {
        for cert in load_certs(file)? {
            store.add(cert).map_err(|e| format!("{}: {e}", file.display()))?;
        }
    }
    if let Some(dir) = &options.cacertdir {
        // OpenSSL's hashed layout (`<hash>.0` links) or plain files: every file that
        // parses as certificates counts.
        let before = store.len();
        let entries = fs::read_dir(dir).map_err(|e| format!("{}: {}", dir.display(), crate::error::os_message(&e)))?;
        for path in entries.flatten().map(|entry| entry.path()).filter(|p| p.is_file()) {
            if let Ok(certs) = CertificateDer::pem_file_iter(&path) {
                let (_added, _unparsable) = store.add_parsable_certificates(certs.flatten());
            }
        }
        if store.len() == before {
            return Err(format!("{}: no CA certificate found", dir.display()));
        }
    }
    Ok(store)
}

/// `--insecure`: any server certificate is accepted (OpenSSL's `SSL_VERIFY_NONE`).
/// The handshake signatures are not checked either: webpki's check parses the
/// certificate and refuses X.509 v1 ones, and without a trusted certificate a valid
/// signature proves nothing.
#[derive(Debug)]
pub struct NoVerify(pub Arc<CryptoProvider>);

impl ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn verify_tls13_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// No client certificate, but remembers that a server asked for one, so a later
/// handshake failure can be explained. One per configuration: rustls resumes sessions
/// only with the same resolver.
#[derive(Debug, Default)]
pub struct NoCertProbe {
    requested: AtomicBool,
}

impl NoCertProbe {
    pub fn requested(&self) -> bool {
        self.requested.load(Ordering::SeqCst)
    }
}

impl rustls::client::ResolvesClientCert for NoCertProbe {
    fn resolve(&self, _hints: &[&[u8]], _schemes: &[SignatureScheme]) -> Option<Arc<rustls::sign::CertifiedKey>> {
        self.requested.store(true, Ordering::SeqCst);
        None
    }

    fn has_certs(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(ciphers: Option<&str>, ciphersuites: Option<&str>) -> Result<Vec<String>, String> {
        let options = TlsOptions {
            ciphers: ciphers.map(String::from),
            ciphersuites: ciphersuites.map(String::from),
            ..Default::default()
        };
        Ok(provider(&options)?.cipher_suites.iter().map(|s| s.suite().as_str().unwrap_or("?").to_string()).collect())
    }

    #[test]
    fn cipher_lists_map_openssl_names_and_refuse_lists_that_name_nothing() {
        assert_eq!(with(None, None).unwrap().len(), 9);
        let only12 = with(Some("ECDHE-RSA-CHACHA20-POLY1305:HIGH:!aNULL"), Some("")).unwrap();
        assert_eq!(only12, ["TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"]);
        let only13 = with(Some(""), Some("TLS_AES_128_GCM_SHA256")).unwrap();
        assert_eq!(only13, ["TLS13_AES_128_GCM_SHA256"]);
        let iana = with(Some("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"), Some("")).unwrap();
        assert_eq!(iana, ["TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"]);
        assert!(with(Some("AES128-SHA"), None).unwrap_err().starts_with(CIPHERS_ERROR));
        assert!(with(Some(""), Some("")).unwrap_err().contains("no cipher suite"));
    }

    #[test]
    fn bad_files_and_half_pairs_are_one_line_errors() {
        let missing = TlsOptions { cacert: Some("/nonexistent/ca.crt".into()), ..Default::default() };
        assert_eq!(build(&missing).unwrap_err(), "/nonexistent/ca.crt: No such file or directory");
        let half = TlsOptions { insecure: true, cert: Some("/x.crt".into()), ..Default::default() };
        assert_eq!(build(&half).unwrap_err(), "--cert and --key must be given together");
        assert!(build(&TlsOptions { insecure: true, ..Default::default() }).is_ok());
    }
}
