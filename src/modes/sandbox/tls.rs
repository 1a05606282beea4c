//! Throwaway certificates for `rcli sandbox --tls` and the TLS tests, made with rcgen
//! (no openssl CLI needed): a CA, a node certificate valid for 127.0.0.1, ::1 and
//! localhost (plus any extra names) that nodes use as server and as cluster-bus
//! client, and a client certificate for `tls-auth-clients yes`. Also certificates
//! made wrong on purpose (expired, not yet valid, for other names) for tests.

use std::fs;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    date_time_ymd,
};

use crate::client::tls::TlsOptions;
use crate::error::{Error, Result};

/// The names every sandbox node certificate carries.
pub const NODE_NAMES: &[&str] = &["127.0.0.1", "::1", "localhost"];

fn cert_error(e: rcgen::Error) -> Error {
    Error::Usage(format!("sandbox certificates: {e}"))
}

/// When a certificate is valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validity {
    /// From 2000 to 2099.
    Current,
    /// 2000 to 2021.
    Expired,
    /// From 2090 on.
    NotYetValid,
}

/// A certificate authority that issues certificates.
pub struct Authority {
    issuer: Issuer<'static, KeyPair>,
    /// The CA certificate, PEM.
    pub cert_pem: String,
}

impl Authority {
    /// A new CA named `name`.
    pub fn new(name: &str) -> Result<Authority> {
        let mut params = CertificateParams::new(Vec::<String>::new()).map_err(cert_error)?;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages =
            vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        params.not_before = date_time_ymd(2000, 1, 1);
        params.not_after = date_time_ymd(2099, 12, 31);
        let key = KeyPair::generate().map_err(cert_error)?;
        let cert = params.self_signed(&key).map_err(cert_error)?;
        Ok(Authority { issuer: Issuer::new(params, key), cert_pem: cert.pem() })
    }

    /// A certificate (PEM) and its key (PEM, PKCS#8) for `names` (host names or IP
    /// addresses), usable by servers and clients alike.
    pub fn issue(&self, names: &[&str], validity: Validity) -> Result<(String, String)> {
        let sans: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = CertificateParams::new(sans).map_err(cert_error)?;
        params.distinguished_name.push(DnType::CommonName, names.first().copied().unwrap_or("rcli sandbox"));
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth, ExtendedKeyUsagePurpose::ClientAuth];
        params.use_authority_key_identifier_extension = true;
        (params.not_before, params.not_after) = match validity {
            Validity::Current => (date_time_ymd(2000, 1, 1), date_time_ymd(2099, 12, 31)),
            Validity::Expired => (date_time_ymd(2000, 1, 1), date_time_ymd(2021, 1, 1)),
            Validity::NotYetValid => (date_time_ymd(2090, 1, 1), date_time_ymd(2099, 12, 31)),
        };
        let key = KeyPair::generate().map_err(cert_error)?;
        let cert = params.signed_by(&key, &self.issuer).map_err(cert_error)?;
        Ok((cert.pem(), key.serialize_pem()))
    }
}

fn write(path: &Path, text: &str) -> Result<()> {
    fs::write(path, text).map_err(|source| Error::File { path: path.display().to_string(), source })
}

/// The certificate files of a TLS sandbox (absolute paths: Redis changes directory
/// before it reads them).
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
}

impl TlsFiles {
    /// A new CA, a node certificate for [`NODE_NAMES`] and `extra_names`, and a client
    /// certificate, written to `dir` (created if needed).
    pub fn generate(dir: &Path, extra_names: &[&str]) -> Result<TlsFiles> {
        fs::create_dir_all(dir).map_err(|source| Error::File { path: dir.display().to_string(), source })?;
        let dir = fs::canonicalize(dir).map_err(|source| Error::File { path: dir.display().to_string(), source })?;
        let authority = Authority::new("rcli sandbox CA")?;
        let names: Vec<&str> = NODE_NAMES.iter().chain(extra_names).copied().collect();
        let (cert, key) = authority.issue(&names, Validity::Current)?;
        let (client_cert, client_key) = authority.issue(&["rcli client"], Validity::Current)?;
        let files = TlsFiles {
            ca: dir.join("ca.crt"),
            cert: dir.join("node.crt"),
            key: dir.join("node.key"),
            client_cert: dir.join("client.crt"),
            client_key: dir.join("client.key"),
        };
        write(&files.ca, &authority.cert_pem)?;
        write(&files.cert, &cert)?;
        write(&files.key, &key)?;
        write(&files.client_cert, &client_cert)?;
        write(&files.client_key, &client_key)?;
        Ok(files)
    }

    /// redis-server's TLS settings for these files (client certificates not required).
    pub fn server_args(&self, port: u16, cluster: bool) -> Vec<String> {
        let mut args: Vec<String> = vec!["--port".into(), "0".into(), "--tls-port".into(), port.to_string()];
        for (name, path) in
            [("--tls-cert-file", &self.cert), ("--tls-key-file", &self.key), ("--tls-ca-cert-file", &self.ca)]
        {
            args.extend([name.to_string(), path.display().to_string()]);
        }
        args.extend(["--tls-auth-clients".into(), "no".into()]);
        if cluster {
            args.extend(["--tls-cluster", "yes", "--tls-replication", "yes"].map(String::from));
        }
        args
    }

    /// rcli's TLS options trusting this CA and presenting the client certificate.
    pub fn client_options(&self) -> TlsOptions {
        TlsOptions {
            cacert: Some(self.ca.clone()),
            cert: Some(self.client_cert.clone()),
            key: Some(self.client_key.clone()),
            ..Default::default()
        }
    }

    /// The same as command-line arguments.
    pub fn rcli_args(&self) -> Vec<String> {
        let mut args = vec!["--tls".to_string()];
        for (flag, path) in [("--cacert", &self.ca), ("--cert", &self.client_cert), ("--key", &self.client_key)] {
            args.extend([flag.to_string(), path.display().to_string()]);
        }
        args
    }
}
