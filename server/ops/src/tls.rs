//! TLS set-up shared by the server programs.
//!
//! rustls needs one process-wide crypto provider; [`install_crypto_provider`] installs
//! aws-lc-rs (the provider every TLS crate in this workspace is built with) and is safe to call
//! any number of times. [`https_client`] builds the reqwest client the shard uses to reach the
//! sidecar: plain `http://` or `https://`, trusting the system roots plus, when given, a
//! private CA in PEM. With the `test-pki` feature, [`test_pki`] makes a throwaway CA and a
//! localhost certificate for TLS tests.

use anyhow::Context;
use std::path::Path;
use std::time::Duration;

/// Install aws-lc-rs as the process's rustls provider (idempotent).
pub fn install_crypto_provider() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

/// Read every certificate in a PEM file, for use as extra trust roots.
pub fn ca_certificates(path: &Path) -> anyhow::Result<Vec<reqwest::Certificate>> {
    let pem = std::fs::read(path)
        .with_context(|| format!("cannot read CA certificate {}", path.display()))?;
    let certs = reqwest::Certificate::from_pem_bundle(&pem)
        .with_context(|| format!("{} is not a PEM certificate bundle", path.display()))?;
    anyhow::ensure!(
        !certs.is_empty(),
        "{} holds no PEM certificate",
        path.display()
    );
    Ok(certs)
}

/// An HTTP(S) client with `timeout` per request, trusting `ca_cert` in addition to the
/// system roots.
pub fn https_client(ca_cert: Option<&Path>, timeout: Duration) -> anyhow::Result<reqwest::Client> {
    install_crypto_provider();
    let mut builder = reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(5)))
        .pool_max_idle_per_host(8);
    if let Some(path) = ca_cert {
        for cert in ca_certificates(path)? {
            builder = builder.add_root_certificate(cert);
        }
    }
    builder.build().context("building the HTTPS client")
}

/// A CA made for a test and a certificate for `localhost` and `127.0.0.1` signed by it, written
/// as PEM files into `dir`: returns the (CA, certificate, key) paths.
#[cfg(feature = "test-pki")]
pub fn test_pki(
    dir: &Path,
) -> anyhow::Result<(std::path::PathBuf, std::path::PathBuf, std::path::PathBuf)> {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate()?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key)?;
    let key = KeyPair::generate()?;
    let params = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])?;
    let cert = params.signed_by(&key, &Issuer::new(ca_params, ca_key))?;
    let paths = (
        dir.join("ca.pem"),
        dir.join("cert.pem"),
        dir.join("key.pem"),
    );
    std::fs::write(&paths.0, ca.pem())?;
    std::fs::write(&paths.1, cert.pem())?;
    std::fs::write(&paths.2, key.serialize_pem())?;
    Ok(paths)
}
