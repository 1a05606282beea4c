//! One line for a person for each TLS failure rustls reports: an unknown CA, a name
//! the certificate does not carry, an expired certificate, a client certificate the
//! server wants or refuses, no common cipher, a peer that does not speak TLS. Pure.

use rustls::pki_types::ServerName;
use rustls::{AlertDescription as Alert, CertificateError as Cert, Error};

/// What the failure means. `requested`: the server asked for a client certificate;
/// `have_cert`: one was given (`--cert`/`--key`).
pub fn explain(error: &Error, requested: bool, have_cert: bool) -> String {
    match error {
        Error::InvalidCertificate(cert) => format!("certificate verify failed: {}", certificate(cert)),
        Error::AlertReceived(Alert::CertificateRequired) => NEEDS_CLIENT_CERT.into(),
        Error::AlertReceived(Alert::HandshakeFailure) if requested && !have_cert => NEEDS_CLIENT_CERT.into(),
        Error::AlertReceived(
            alert @ (Alert::UnknownCA
            | Alert::BadCertificate
            | Alert::CertificateUnknown
            | Alert::CertificateExpired
            | Alert::DecryptError
            | Alert::AccessDenied
            | Alert::CertificateRevoked
            | Alert::UnsupportedCertificate),
        ) if have_cert => format!("the server rejected the client certificate (TLS alert {alert:?})"),
        Error::AlertReceived(Alert::HandshakeFailure) => {
            "TLS handshake failure: no cipher suite or key type in common with the server".into()
        }
        Error::AlertReceived(Alert::ProtocolVersion) => "the server supports neither TLS 1.2 nor TLS 1.3".into(),
        Error::AlertReceived(alert) => format!("the server ended the TLS handshake (TLS alert {alert:?})"),
        Error::InvalidMessage(_) => NOT_TLS.into(),
        other => format!("TLS: {other}"),
    }
}

/// The server wants a client certificate and got none.
pub const NEEDS_CLIENT_CERT: &str = "the server requires a client certificate (give --cert and --key)";
/// The peer answered the ClientHello with something that is not TLS.
pub const NOT_TLS: &str = "the server did not answer with TLS (a plain-text port? drop --tls)";

fn certificate(error: &Cert) -> String {
    match error {
        Cert::UnknownIssuer => {
            "unknown CA: the server's certificate is not signed by a trusted CA (give --cacert or --cacertdir, or --insecure)"
                .into()
        }
        Cert::NotValidForNameContext { expected, presented } => {
            let presented: Vec<String> = presented.iter().map(|p| unwrap_name(p)).collect();
            let shown = if presented.is_empty() { "no name".to_string() } else { presented.join(", ") };
            format!(
                "hostname mismatch: the certificate is not valid for {} (it is for {shown}; --sni NAME names another)",
                name_text(expected)
            )
        }
        Cert::NotValidForName => "hostname mismatch: the certificate is not valid for this name".into(),
        Cert::ExpiredContext { not_after, .. } => format!("the certificate expired on {}", utc(not_after.as_secs())),
        Cert::Expired => "the certificate has expired".into(),
        Cert::NotValidYetContext { not_before, .. } => {
            format!("the certificate is not valid before {}", utc(not_before.as_secs()))
        }
        Cert::NotValidYet => "the certificate is not valid yet".into(),
        Cert::Other(other) => {
            let inner = other.to_string();
            if inner.contains("UnsupportedCertVersion") {
                "the server's certificate is X.509 v1; rustls needs v3 (re-issue it with extensions and a \
                 subjectAltName, or use --insecure)"
                    .into()
            } else if inner.contains("CaUsedAsEndEntity") {
                "the server's certificate is a CA certificate used as a leaf (re-issue it signed by a CA, or use \
                 --insecure)"
                    .into()
            } else {
                inner
            }
        }
        other => format!("{other:?}"),
    }
}

/// `DnsName("x")` → `x`, `IpAddress(127.0.0.1)` → `127.0.0.1`.
fn unwrap_name(presented: &str) -> String {
    for prefix in ["DnsName(", "IpAddress("] {
        if let Some(inner) = presented.strip_prefix(prefix).and_then(|r| r.strip_suffix(')')) {
            return inner.trim_matches('"').to_string();
        }
    }
    presented.to_string()
}

fn name_text(name: &ServerName<'_>) -> String {
    match name {
        ServerName::DnsName(dns) => dns.as_ref().to_string(),
        ServerName::IpAddress(ip) => std::net::IpAddr::from(*ip).to_string(),
        other => format!("{other:?}"),
    }
}

/// `2021-01-01 00:00:00 UTC`, without a date crate (the civil-from-days algorithm).
pub fn utc(secs: u64) -> String {
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC", rem / 3600, rem / 60 % 60, rem % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_read_as_one_line() {
        let unknown = explain(&Error::InvalidCertificate(Cert::UnknownIssuer), false, false);
        assert!(unknown.starts_with("certificate verify failed: unknown CA"), "{unknown}");
        let mismatch = Error::InvalidCertificate(Cert::NotValidForNameContext {
            expected: ServerName::try_from("localhost").unwrap(),
            presented: vec!["DnsName(\"wrong.example.com\")".into(), "IpAddress(10.0.0.1)".into()],
        });
        assert!(
            explain(&mismatch, false, false)
                .contains("not valid for localhost (it is for wrong.example.com, 10.0.0.1;"),
            "{}",
            explain(&mismatch, false, false)
        );
        assert_eq!(explain(&Error::AlertReceived(Alert::HandshakeFailure), true, false), NEEDS_CLIENT_CERT);
        assert!(explain(&Error::AlertReceived(Alert::HandshakeFailure), false, false).contains("cipher"));
        assert!(explain(&Error::AlertReceived(Alert::UnknownCA), true, true).contains("rejected the client"));
        assert!(!explain(&Error::AlertReceived(Alert::UnknownCA), false, false).contains('\n'));
    }

    #[test]
    fn dates_are_utc() {
        assert_eq!(utc(1_609_459_200), "2021-01-01 00:00:00 UTC");
        assert_eq!(utc(951_782_400 + 3661), "2000-02-29 01:01:01 UTC");
    }
}
