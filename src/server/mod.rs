//! The process `actionsync serve` runs: it starts the daemon's workers
//! ([`crate::daemon`]), assembles the HTTP routes ([`routes`]: health, readiness,
//! metrics and [`crate::api`]), listens with or without TLS ([`tls`]), tells
//! systemd how it is ([`notify`]), and turns signals into reloads and a clean stop.
//!
//! Both the daemon and the API hang from here: neither imports this module, and
//! the daemon imports neither.
//!
//! Shutdown (SIGTERM, Ctrl-C): the listener stops taking connections, the daemon's
//! watchers and pollers stop, work in flight finishes, the process exits 0. SIGHUP
//! reloads the config (sources added and removed without a restart) and the TLS
//! certificate.

pub mod notify;
pub mod routes;
pub mod tls;

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum_server::tls_rustls::RustlsConfig;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::daemon::{self, DaemonError, Running, ServeOptions};

/// How long requests in flight may take to finish once shutdown starts.
const DRAIN: Duration = Duration::from_secs(20);

/// What `serve` was asked to do.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Where HTTP is served.
    pub listen: String,
    /// The certificate and key, for HTTPS; plain HTTP without.
    pub tls: Option<tls::TlsFiles>,
    /// The sources and the catalogue.
    pub daemon: ServeOptions,
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The daemon could not start (config, catalogue, watcher).
    #[error(transparent)]
    Daemon(#[from] DaemonError),
    /// The certificate or key is not usable.
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    /// The listener could not bind.
    #[error("cannot listen on {address}: {reason}")]
    Listen {
        /// The address.
        address: String,
        /// Why.
        reason: String,
    },
}

/// Runs the service until `shutdown` is cancelled or a signal stops it.
pub async fn run(options: ServerOptions, shutdown: CancellationToken) -> Result<(), ServerError> {
    // Signal handlers first: a SIGTERM that arrives while starting must still mean
    // a clean stop, not the default action.
    let signals = Signals::install();
    let metrics = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .ok();
    daemon::describe_metrics();
    let tls = load_tls(options.tls.as_ref())?;
    let listener = bind(&options.listen).await?;
    let mut running = daemon::start(options.daemon.clone(), shutdown.clone()).await?;
    let router = routes::router(running.daemon.clone(), metrics);
    let address = listener.local_addr().ok();
    warn_without_tls(address, tls.is_some());
    info!(
        address = %address.map(|a| a.to_string()).unwrap_or_else(|| options.listen.clone()),
        tls = tls.is_some(),
        "listening"
    );
    let server = tokio::spawn(serve_http(listener, router, tls.clone(), shutdown.clone()));
    notify::start(running.daemon.clone(), shutdown.clone());

    wait_for_signals(&mut running, &options, tls.as_ref(), signals).await;
    shutdown.cancel();
    notify::stopping();
    info!("shutting down: finishing the work in flight");
    running.stop().await;
    // Requests in flight (a push being applied) finish; idle connections close.
    let _ = tokio::time::timeout(DRAIN, server).await;
    info!("stopped");
    Ok(())
}

/// The certificate and key read once before anything starts, so a bad pair stops
/// `serve` at once with the file named.
fn load_tls(files: Option<&tls::TlsFiles>) -> Result<Option<RustlsConfig>, ServerError> {
    Ok(match files {
        Some(files) => Some(tls::acceptor_config(tls::load(files)?)),
        None => None,
    })
}

async fn bind(listen: &str) -> Result<tokio::net::TcpListener, ServerError> {
    tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| ServerError::Listen {
            address: listen.to_string(),
            reason: e.to_string(),
        })
}

/// Tokens and hand edits cross the wire in the clear without TLS: fine on
/// loopback or behind a proxy that terminates TLS, worth a word anywhere else.
fn warn_without_tls(address: Option<SocketAddr>, tls: bool) {
    if let Some(address) = address.filter(|a| !tls && !a.ip().is_loopback()) {
        warn!(
            address = %address,
            "serving plain HTTP on a non-loopback address: bearer tokens and edits cross the network unencrypted; give --tls-cert and --tls-key, or put a TLS-terminating proxy in front"
        );
    }
}

/// Serves the routes until shutdown, over TLS when there is a configuration.
async fn serve_http(
    listener: tokio::net::TcpListener,
    router: Router,
    tls: Option<RustlsConfig>,
    shutdown: CancellationToken,
) {
    // The client's address is what the API's per-address limit counts.
    let service = router.into_make_service_with_connect_info::<SocketAddr>();
    let Some(tls) = tls else {
        let _ = axum::serve(listener, service)
            .with_graceful_shutdown(async move { shutdown.cancelled().await })
            .await;
        return;
    };
    let server = match listener
        .into_std()
        .and_then(|l| axum_server::tls_rustls::from_tcp_rustls(l, tls))
    {
        Ok(server) => server,
        Err(e) => {
            warn!(error = %e, "cannot serve TLS on the listener; stopping");
            shutdown.cancel();
            return;
        }
    };
    let handle = axum_server::Handle::new();
    tokio::spawn({
        let handle = handle.clone();
        async move {
            shutdown.cancelled().await;
            handle.graceful_shutdown(Some(DRAIN));
        }
    });
    if let Err(e) = server.handle(handle).serve(service).await {
        warn!(error = %e, "the HTTPS server stopped");
    }
}

/// Waits for SIGTERM or Ctrl-C (or the token); reloads on SIGHUP.
async fn wait_for_signals(
    running: &mut Running,
    options: &ServerOptions,
    tls: Option<&RustlsConfig>,
    handlers: Signals,
) {
    let shutdown = running.daemon.shutdown.clone();
    #[cfg(unix)]
    {
        let Some((mut term, mut hup)) = handlers.streams else {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = shutdown.cancelled() => {}
            }
            return;
        };
        loop {
            tokio::select! {
                _ = term.recv() => { info!("SIGTERM"); return; }
                _ = tokio::signal::ctrl_c() => { info!("interrupted"); return; }
                _ = shutdown.cancelled() => return,
                _ = hup.recv() => reload(running, options, tls),
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (handlers, options, tls);
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = shutdown.cancelled() => {}
        }
    }
}

/// SIGHUP: the config, then the certificate. Either failing keeps what runs.
fn reload(running: &mut Running, options: &ServerOptions, tls: Option<&RustlsConfig>) {
    notify::reloading();
    info!("SIGHUP: reloading the config");
    running.reload();
    if let (Some(files), Some(serving)) = (options.tls.as_ref(), tls) {
        match tls::reload(files, serving) {
            Ok(()) => info!(cert = %files.cert.display(), "TLS certificate reloaded"),
            Err(e) => warn!(
                error = %e,
                "the TLS certificate was not reloaded; new connections keep the one loaded before"
            ),
        }
    }
    notify::reloaded();
}

/// The signal streams, installed before anything else starts.
struct Signals {
    #[cfg(unix)]
    streams: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
}

impl Signals {
    fn install() -> Signals {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Signals {
                streams: signal(SignalKind::terminate())
                    .ok()
                    .zip(signal(SignalKind::hangup()).ok()),
            }
        }
        #[cfg(not(unix))]
        Signals {}
    }
}
