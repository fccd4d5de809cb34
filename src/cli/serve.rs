//! `actionsync serve`: the daemon.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, ValueEnum};
use tokio_util::sync::CancellationToken;

use crate::daemon::{ServeOptions, WatchMode};
use crate::server::{self, ServerOptions, tls::TlsFiles};

/// The address served when neither `--listen`, `ACTIONSYNC_LISTEN` nor the config says.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Spec files or folders to watch, besides the config's sources (each file is a
    /// source named after it; new files in a folder become sources).
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Where to serve HTTP (the API, health, readiness, metrics) [default: 127.0.0.1:8080].
    #[arg(long, value_name = "ADDR", env = "ACTIONSYNC_LISTEN")]
    listen: Option<String>,
    /// How to notice file changes: native notifications, or polling (network file
    /// systems, some containers).
    #[arg(long, value_enum, default_value_t = WatchMode::Native, env = "ACTIONSYNC_WATCH_MODE")]
    watch_mode: WatchMode,
    /// How long a burst of file changes settles before it is reconciled (`300ms`, `1s`).
    #[arg(long, value_name = "DURATION", default_value = "300ms", value_parser = parse_debounce)]
    debounce: Duration,
    /// Log lines as text or as JSON objects.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, env = "ACTIONSYNC_LOG_FORMAT")]
    log_format: LogFormat,
    /// The config file (default: actionsync.yaml in the working folder, if any).
    #[arg(long, value_name = "FILE", env = "ACTIONSYNC_CONFIG")]
    config: Option<PathBuf>,
    /// Database URL (overrides the config).
    #[arg(long, value_name = "URL", env = "ACTIONSYNC_DATABASE_URL")]
    database: Option<String>,
    /// Serve HTTPS with this PEM certificate chain (read again on SIGHUP).
    #[arg(
        long,
        value_name = "FILE",
        env = "ACTIONSYNC_TLS_CERT",
        requires = "tls_key"
    )]
    tls_cert: Option<PathBuf>,
    /// The PEM private key of `--tls-cert`.
    #[arg(
        long,
        value_name = "FILE",
        env = "ACTIONSYNC_TLS_KEY",
        requires = "tls_cert"
    )]
    tls_key: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

/// A debounce of at least 10 ms: shorter makes the watcher's timer spin.
fn parse_debounce(text: &str) -> Result<Duration, String> {
    let debounce = crate::config::parse_duration(text)?;
    if debounce < Duration::from_millis(10) {
        return Err(format!(
            "{text:?} is too short: the debounce is at least 10ms"
        ));
    }
    Ok(debounce)
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("ACTIONSYNC_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let colour = std::io::stderr().is_terminal() && !no_color(std::env::var_os("NO_COLOR"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

/// Whether `NO_COLOR` asks for no colour: set and not empty (<https://no-color.org>).
fn no_color(value: Option<std::ffi::OsString>) -> bool {
    value.is_some_and(|v| !v.is_empty())
}

/// Runs the daemon until SIGTERM or Ctrl-C.
pub fn run(args: &ServeArgs) -> Result<ExitCode, String> {
    init_logging(args.log_format);
    let listen = match &args.listen {
        Some(listen) => listen.clone(),
        None => {
            let cwd = std::env::current_dir().map_err(|e| e.to_string())?;
            crate::config::Config::load(args.config.as_deref(), &cwd)
                .map_err(|e| e.to_string())?
                .listen
                .unwrap_or_else(|| DEFAULT_LISTEN.to_string())
        }
    };
    let options = ServerOptions {
        listen,
        tls: args
            .tls_cert
            .clone()
            .zip(args.tls_key.clone())
            .map(|(cert, key)| TlsFiles { cert, key }),
        daemon: ServeOptions {
            config_path: args.config.clone(),
            database: args.database.clone(),
            paths: args.paths.clone(),
            watch_mode: args.watch_mode,
            debounce: args.debounce,
        },
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    runtime
        .block_on(server::run(options, CancellationToken::new()))
        .map_err(|e| e.to_string())?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_color_is_any_value_but_empty() {
        assert!(!no_color(None));
        assert!(!no_color(Some("".into())));
        assert!(no_color(Some("1".into())));
        assert!(no_color(Some("0".into())));
    }
}
