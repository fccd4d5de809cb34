//! Telling systemd how the service is (`Type=notify`): `READY=1` once `/readyz`
//! would answer ready, `WATCHDOG=1` at half the unit's `WatchdogSec` for as long
//! as the runtime answers, `RELOADING=1` around a SIGHUP, `STOPPING=1` at
//! shutdown. Outside systemd (no `NOTIFY_SOCKET`) every call does nothing.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use sd_notify::NotifyState;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use crate::daemon::Daemon;

/// How often readiness is looked at until it comes.
const READY_POLL: Duration = Duration::from_millis(50);

/// Sends `READY=1` when the daemon becomes ready, and keeps the watchdog fed.
pub fn start(daemon: Arc<Daemon>, shutdown: CancellationToken) {
    if std::env::var_os("NOTIFY_SOCKET").is_none() {
        return;
    }
    tokio::spawn(ready_when_ready(daemon, shutdown.clone()));
    if let Some(period) = sd_notify::watchdog_enabled() {
        tokio::spawn(feed_watchdog(period / 2, shutdown));
    }
}

async fn ready_when_ready(daemon: Arc<Daemon>, shutdown: CancellationToken) {
    while !daemon.ready.load(Ordering::SeqCst) {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(READY_POLL) => {}
        }
    }
    send(&[
        NotifyState::Ready,
        NotifyState::Status("ready: every source was reconciled once"),
    ]);
}

/// The watchdog is fed from a task on the same runtime as the requests: a runtime
/// too stuck to run it is one systemd should restart.
async fn feed_watchdog(every: Duration, shutdown: CancellationToken) {
    let mut ticks = tokio::time::interval(every.max(Duration::from_millis(10)));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = ticks.tick() => send(&[NotifyState::Watchdog]),
        }
    }
}

/// `RELOADING=1` before a SIGHUP's reload; [`reloaded`] after it.
pub fn reloading() {
    match NotifyState::monotonic_usec_now() {
        Ok(now) => send(&[NotifyState::Reloading, now]),
        Err(_) => send(&[NotifyState::Reloading]),
    }
}

/// `READY=1` again once a reload is done.
pub fn reloaded() {
    send(&[NotifyState::Ready]);
}

/// `STOPPING=1`: the service is shutting down, on purpose.
pub fn stopping() {
    send(&[NotifyState::Stopping]);
}

fn send(states: &[NotifyState]) {
    match sd_notify::notify(states) {
        Ok(()) => debug!(?states, "told systemd"),
        Err(e) => warn!(error = %e, "cannot tell systemd (NOTIFY_SOCKET) how the service is"),
    }
}
