//! TLS for `serve`: the certificate chain and private key read from PEM files
//! (`--tls-cert`, `--tls-key`), with rustls on ring ([`crate::tls`]), read again
//! on SIGHUP so a renewed certificate needs no restart.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum_server::tls_rustls::RustlsConfig;
use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// Where the certificate chain and its key are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// PEM: the server's certificate first, then its intermediates.
    pub cert: PathBuf,
    /// PEM: the private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// Why the certificate or key could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read or holds no usable PEM.
    #[error("{path}: {reason}")]
    File {
        /// The file.
        path: String,
        /// What was wrong, and what to do.
        reason: String,
    },
    /// rustls refused the pair (the key does not match the certificate, say).
    #[error("the certificate {cert} and key {key} cannot serve TLS: {reason}")]
    Pair {
        /// The certificate file.
        cert: String,
        /// The key file.
        key: String,
        /// rustls's reason.
        reason: String,
    },
}

/// Reads the files into a server configuration (HTTP/1.1 over TLS 1.2 and 1.3).
pub fn load(files: &TlsFiles) -> Result<Arc<ServerConfig>, TlsError> {
    crate::tls::install_provider();
    let chain = read_chain(&files.cert)?;
    let key = read_key(&files.key)?;
    let mut config = ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| TlsError::Pair {
            cert: files.cert.display().to_string(),
            key: files.key.display().to_string(),
            reason: e.to_string(),
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// What the listener serves with: the configuration it was started with, swapped
/// for a new one by [`reload`].
pub fn acceptor_config(config: Arc<ServerConfig>) -> RustlsConfig {
    RustlsConfig::from_config(config)
}

/// Reads the files again and, if they are usable, serves new connections with
/// them; connections already open keep theirs. On error nothing changes.
pub fn reload(files: &TlsFiles, serving: &RustlsConfig) -> Result<(), TlsError> {
    let config = load(files)?;
    serving.reload_from_config(config);
    Ok(())
}

fn read_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let fail = |reason: String| TlsError::File {
        path: path.display().to_string(),
        reason,
    };
    let chain = CertificateDer::pem_file_iter(path)
        .map_err(|e| fail(pem_reason(e, "certificate")))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| fail(pem_reason(e, "certificate")))?;
    if chain.is_empty() {
        return Err(fail(
            "holds no certificate: give --tls-cert a PEM file with a `BEGIN CERTIFICATE` block"
                .to_string(),
        ));
    }
    Ok(chain)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| TlsError::File {
        path: path.display().to_string(),
        reason: pem_reason(e, "private key"),
    })
}

fn pem_reason(error: rustls::pki_types::pem::Error, what: &str) -> String {
    use rustls::pki_types::pem::Error;
    match error {
        Error::Io(e) => format!("cannot read the {what}: {e}"),
        Error::NoItemsFound => format!(
            "holds no {what}: give a PEM file with a `BEGIN {}` block",
            if what == "certificate" {
                "CERTIFICATE"
            } else {
                "PRIVATE KEY"
            }
        ),
        other => format!("is not a readable PEM {what}: {other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(dir: &Path) -> TlsFiles {
        let key = rcgen::KeyPair::generate().expect("key");
        let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()])
            .expect("params")
            .self_signed(&key)
            .expect("cert");
        let files = TlsFiles {
            cert: dir.join("cert.pem"),
            key: dir.join("key.pem"),
        };
        std::fs::write(&files.cert, cert.pem()).expect("write cert");
        std::fs::write(&files.key, key.serialize_pem()).expect("write key");
        files
    }

    #[test]
    fn a_certificate_and_its_key_load() {
        let dir = tempfile::tempdir().expect("dir");
        let config = load(&pair(dir.path())).expect("loads");
        assert_eq!(config.alpn_protocols, vec![b"http/1.1".to_vec()]);
    }

    #[test]
    fn a_key_given_as_the_certificate_is_named_with_what_to_do() {
        let dir = tempfile::tempdir().expect("dir");
        let files = pair(dir.path());
        let swapped = TlsFiles {
            cert: files.key.clone(),
            key: files.key.clone(),
        };
        let error = load(&swapped)
            .expect_err("a key is no certificate")
            .to_string();
        assert!(
            error.starts_with(&files.key.display().to_string()),
            "{error}"
        );
        assert!(error.contains("BEGIN CERTIFICATE"), "{error}");
    }

    #[test]
    fn a_missing_file_is_named() {
        let dir = tempfile::tempdir().expect("dir");
        let files = TlsFiles {
            cert: dir.path().join("nope.pem"),
            key: dir.path().join("nope.key"),
        };
        let error = load(&files).expect_err("missing").to_string();
        assert!(error.contains("nope.pem"), "{error}");
        assert!(error.contains("cannot read the certificate"), "{error}");
    }

    #[test]
    fn a_key_that_does_not_match_the_certificate_is_refused() {
        let dir = tempfile::tempdir().expect("dir");
        let files = pair(dir.path());
        let other = rcgen::KeyPair::generate().expect("key");
        std::fs::write(&files.key, other.serialize_pem()).expect("write key");
        let error = load(&files).expect_err("mismatch").to_string();
        assert!(error.contains("cannot serve TLS"), "{error}");
    }
}
