//! TLS: rustls with *ring* as its crypto provider, for every HTTP client and
//! database connection. reqwest is built without a provider of its own (its
//! default, aws-lc-rs, compiles a large C library: BENCHMARKS.md, "Cold build"),
//! so the process's default must be installed before the first client is built.

use std::sync::Once;

/// Installs rustls's *ring* provider as the process's default, once. Every
/// function that builds an HTTP client calls it first; calling it again, or after
/// another provider was installed, changes nothing.
pub fn install_provider() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // Err means a provider is already installed: that one serves.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}
