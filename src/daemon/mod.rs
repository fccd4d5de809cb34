//! The sources half of `actionsync serve`: it reconciles every source once, then
//! keeps them in sync: file and folder sources through a debounced watcher
//! ([`watch`]), URL sources through scheduled conditional GETs ([`poll`]). The
//! HTTP side (health, readiness, metrics, the API) and the signals are
//! [`crate::server`]'s, which starts this with [`start`].
//!
//! Each source has one worker task fed by a channel of triggers; a burst of
//! triggers coalesces into one reconcile, and a source's reconciles never overlap
//! (across processes, the store's per-source lock serialises them). Every change
//! goes through [`crate::sync::reconcile`], like the CLI's. A failed read or fetch
//! never plans removals; a refused plan is logged and recorded on the source, and
//! the catalogue keeps its last good state.
//!
//! [`Running::stop`]: watchers and pollers stop taking work; an apply in flight
//! finishes. [`Running::reload`]: the config is read again, and sources are added
//! and removed without a restart.

pub mod poll;
pub mod watch;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use metrics::{counter, gauge, histogram};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, info, warn};

use crate::config::{self, Config};
use crate::source::SpecLocation;
use crate::store::{self, AnyStore, AppliedBy, Store};
use crate::sync::{self, Outcome, ReconcileOptions, SourceSpec};

/// How files are watched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum WatchMode {
    /// The operating system's notifications (inotify).
    Native,
    /// Polling the files, for network file systems and containers where
    /// notifications never come.
    Poll,
}

/// What `serve` was asked to do.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// The config file, if any (reloaded on SIGHUP).
    pub config_path: Option<PathBuf>,
    /// The database URL, overriding the config's.
    pub database: Option<String>,
    /// Spec files and folders given on the command line, watched like `file`/`dir` sources.
    pub paths: Vec<PathBuf>,
    /// Native notifications or polling.
    pub watch_mode: WatchMode,
    /// How long a burst of file events settles before it counts.
    pub debounce: Duration,
}

/// Why the daemon could not start.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// The config is not usable.
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    /// The catalogue could not be opened.
    #[error(transparent)]
    Store(#[from] store::StoreError),
    /// The file watcher could not start.
    #[error("cannot watch the spec files: {0}")]
    Watch(String),
}

/// What a worker is asked to do.
#[derive(Debug, Clone)]
pub enum Trigger {
    /// Read the source and reconcile if it changed.
    Check(AppliedBy),
    /// A URL source's new body, with the validators to keep if it applies.
    Fetched {
        /// The document.
        bytes: Vec<u8>,
        /// `ETag`.
        etag: Option<String>,
        /// `Last-Modified`.
        last_modified: Option<String>,
    },
    /// A file in a watched folder was deleted: plan the source's removal (the
    /// guards decide).
    Removed,
}

/// Where a source came from, for reloads and for files appearing in folders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Named in the config or on the command line.
    Configured,
    /// A spec file found in this watched folder.
    Folder(PathBuf),
}

/// A running source.
pub struct SourceHandle {
    /// How to reconcile it.
    pub spec: SourceSpec,
    /// Where it came from.
    pub origin: Origin,
    /// For URL sources: the poll settings.
    pub url: Option<poll::UrlSettings>,
    trigger: mpsc::Sender<Trigger>,
    stop: CancellationToken,
    /// Which start of this source the handle is: a worker of an earlier start
    /// (before a reload) stops instead of reconciling the new one's spec.
    generation: u64,
}

/// The daemon's shared state.
pub struct Daemon {
    /// The catalogue.
    pub store: AnyStore,
    /// Running sources by name.
    pub sources: Mutex<HashMap<String, SourceHandle>>,
    /// Folders whose new spec files become sources.
    pub folders: Mutex<Vec<PathBuf>>,
    /// True once migrations ran and every source was reconciled once.
    pub ready: AtomicBool,
    /// The next source generation.
    generations: std::sync::atomic::AtomicU64,
    /// The sources the daemon started with whose first reconcile is not done.
    starting: Mutex<std::collections::HashSet<String>>,
    /// The config as last loaded (at start, and on each SIGHUP): the API reads push
    /// sources' options from it.
    pub config: Mutex<Config>,
    /// Stops everything.
    pub shutdown: CancellationToken,
    tracker: TaskTracker,
    options: ServeOptions,
    http: reqwest::Client,
}

impl Daemon {
    /// The source's current spec, if it is still running as this `generation`.
    fn source_spec(&self, name: &str, generation: u64) -> Option<SourceSpec> {
        self.sources
            .lock()
            .ok()?
            .get(name)
            .filter(|h| h.generation == generation)
            .map(|h| h.spec.clone())
    }

    /// How to reconcile a spec pushed to `name`; `Err` names where the daemon
    /// reads that source from instead (a push would fight the watcher or poller).
    pub fn push_target(&self, name: &str) -> Result<SourceSpec, String> {
        if let Some(location) = self
            .sources
            .lock()
            .ok()
            .and_then(|s| s.get(name).map(|h| h.spec.location.display()))
        {
            return Err(location);
        }
        let config = self.config.lock().map(|c| c.clone()).unwrap_or_default();
        config
            .push_source(name, Vec::new())
            .ok_or_else(|| format!("the config's source `{name}`"))
    }

    /// One tool's token budget of the config as last loaded, for plans' warnings.
    pub fn tool_tokens(&self) -> usize {
        self.config
            .lock()
            .map(|c| c.token_budget.tool_tokens)
            .unwrap_or_else(|_| crate::lint::Budget::default().tool_tokens)
    }

    /// How to reconcile source `name` again (for a rollback): the running source's
    /// settings, else the config's for that name (a push source's, or the defaults).
    pub fn source_settings(&self, name: &str) -> SourceSpec {
        if let Some(spec) = self
            .sources
            .lock()
            .ok()
            .and_then(|s| s.get(name).map(|h| h.spec.clone()))
        {
            return spec;
        }
        let config = self.config.lock().map(|c| c.clone()).unwrap_or_default();
        config
            .named_source(name)
            .or_else(|| config.push_source(name, Vec::new()))
            .unwrap_or_else(|| config.default_source(name))
    }

    /// Asks a source's worker to do something; a full queue already has work pending.
    pub fn trigger(&self, name: &str, trigger: Trigger) {
        let sender = self
            .sources
            .lock()
            .ok()
            .and_then(|s| s.get(name).map(|h| h.trigger.clone()));
        if let Some(sender) = sender {
            let _ = sender.try_send(trigger);
        }
    }

    /// Starts a source: its worker, its poller if it has a URL, and a first reconcile.
    fn start_source(
        self: &Arc<Self>,
        spec: SourceSpec,
        origin: Origin,
        url: Option<poll::UrlSettings>,
    ) {
        let name = spec.name.clone();
        let (sender, receiver) = mpsc::channel(16);
        let stop = self.shutdown.child_token();
        let is_url = url.is_some();
        let generation = self.generations.fetch_add(1, Ordering::SeqCst);
        {
            let Ok(mut sources) = self.sources.lock() else {
                return;
            };
            if sources.contains_key(&name) {
                return;
            }
            sources.insert(
                name.clone(),
                SourceHandle {
                    spec,
                    origin,
                    url: url.clone(),
                    trigger: sender.clone(),
                    stop: stop.clone(),
                    generation,
                },
            );
        }
        self.tracker.spawn(worker(
            self.clone(),
            name.clone(),
            generation,
            receiver,
            stop.clone(),
        ));
        match url {
            Some(settings) => {
                self.tracker.spawn(poll::poller(
                    self.clone(),
                    name.clone(),
                    settings,
                    stop,
                    self.http.clone(),
                ));
            }
            None => {
                let _ = sender.try_send(Trigger::Check(AppliedBy::Watch));
            }
        }
        debug!(source = %name, url = is_url, "source started");
    }

    /// Stops a source's worker and poller; its actions stay in the catalogue.
    fn stop_source(&self, name: &str) {
        if let Some(handle) = self.sources.lock().ok().and_then(|mut s| s.remove(name)) {
            handle.stop.cancel();
            info!(source = %name, "source removed from the config; its actions stay in the catalogue");
        }
    }

    /// Marks a source's first reconcile (or first fetch) done; the daemon is ready
    /// once every source it started with has had one. Sources added later (new
    /// files, reloads) do not count.
    pub fn initial_done_for(&self, name: &str) {
        let Ok(mut starting) = self.starting.lock() else {
            return;
        };
        if starting.remove(name) && starting.is_empty() {
            self.ready.store(true, Ordering::SeqCst);
            info!("ready: every source was reconciled once");
        }
    }
}

/// A source to run: how to reconcile it, where it came from, how to poll it.
type Desired = (SourceSpec, Origin, Option<poll::UrlSettings>);

/// Reads the config and the command line into the config, the sources to run,
/// and the folders whose new spec files become sources.
fn desired_sources(
    options: &ServeOptions,
) -> Result<(Config, Vec<Desired>, Vec<PathBuf>), DaemonError> {
    let cwd = std::env::current_dir().map_err(|e| config::ConfigError::Read {
        path: ".".to_string(),
        reason: e.to_string(),
    })?;
    let mut config = Config::load(options.config_path.as_deref(), &cwd)?;
    if let Some(database) = &options.database {
        config.database = Some(database.clone());
    }
    let mut out = Vec::new();
    let mut folders = Vec::new();
    let mut entries = config.sources.clone();
    for path in &options.paths {
        let absolute = cwd.join(path);
        entries.push(if absolute.is_dir() {
            config::SourceConfig {
                dir: Some(absolute),
                ..Default::default()
            }
        } else {
            config::SourceConfig {
                file: Some(absolute),
                ..Default::default()
            }
        });
    }
    let all = Config {
        sources: entries.clone(),
        ..config.clone()
    };
    let specs = all.sources()?;
    for entry in &entries {
        if let Some(dir) = &entry.dir {
            folders.push(canonical(&all.base_dir.join(dir)));
        }
    }
    for spec in specs {
        let folder = match &spec.location {
            SpecLocation::File(path) if spec.kind == "dir" => path.parent().map(canonical),
            _ => None,
        };
        let url = match &spec.location {
            SpecLocation::Url(url) => {
                let entry = entries
                    .iter()
                    .find(|e| e.name.as_deref() == Some(spec.name.as_str()));
                Some(
                    poll::UrlSettings::from_config(url.clone(), entry).map_err(|reason| {
                        config::ConfigError::Invalid {
                            path: all.path.as_ref().map_or_else(
                                || "(command line)".to_string(),
                                |p| p.display().to_string(),
                            ),
                            reason,
                        }
                    })?,
                )
            }
            _ => None,
        };
        let origin = folder.map_or(Origin::Configured, Origin::Folder);
        out.push((spec, origin, url));
    }
    Ok((all, out, folders))
}

/// A path with symbolic links resolved, or as given if it does not exist.
pub fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Gives every metric the daemon and the API record its `# HELP` line on
/// `/metrics`. Descriptions go to the installed recorder, so this runs after it.
/// Describes the daemon's metrics to the recorder the server installed.
pub fn describe_metrics() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        "actionsync_reconciles_total",
        "Reconciles of a source, by outcome (unchanged, no_changes, applied, refused, error)"
    );
    describe_histogram!(
        "actionsync_reconcile_seconds",
        "How long one reconcile of a source took, in seconds"
    );
    describe_histogram!(
        "actionsync_plan_changes",
        "Actions each applied plan changed (created, updated, archived, deleted or restored)"
    );
    describe_gauge!(
        "actionsync_last_success_timestamp_seconds",
        "Unix time of the source's last reconcile that was not refused and did not fail"
    );
    describe_counter!(
        "actionsync_fetches_total",
        "Fetches of a URL source, by outcome (fetched, not_modified, error)"
    );
    describe_histogram!(
        "actionsync_fetch_seconds",
        "How long one fetch of a URL source took, in seconds"
    );
    describe_counter!(
        "actionsync_pushes_total",
        "Specs pushed to a source over the API, by outcome (applied, unchanged, no_changes, planned, refused)"
    );
    describe_histogram!(
        "actionsync_push_seconds",
        "How long the server took to plan and apply one pushed spec, in seconds"
    );
}

/// A started daemon: the state the API shares, and the file watcher a reload
/// restarts.
pub struct Running {
    /// The daemon's shared state.
    pub daemon: Arc<Daemon>,
    watcher: Option<watch::Watcher>,
}

/// Opens the catalogue and starts every source: its worker, its poller if it has
/// a URL, and the watcher of files and folders.
pub async fn start(
    options: ServeOptions,
    shutdown: CancellationToken,
) -> Result<Running, DaemonError> {
    let (config, sources, folders) = desired_sources(&options)?;
    let store = store::open(&config.database_url(), &config.base_dir).await?;
    info!(database = %store::redact(&config.database_url()), "catalogue open");
    let http_client = crate::source::polling_client(Duration::from_secs(60), false)
        .map_err(DaemonError::Watch)?;
    let daemon = Arc::new(Daemon {
        store,
        sources: Mutex::new(HashMap::new()),
        folders: Mutex::new(folders),
        ready: AtomicBool::new(false),
        generations: std::sync::atomic::AtomicU64::new(0),
        starting: Mutex::new(sources.iter().map(|(s, _, _)| s.name.clone()).collect()),
        config: Mutex::new(config.clone()),
        shutdown,
        tracker: TaskTracker::new(),
        options,
        http: http_client,
    });
    if sources.is_empty() {
        daemon.ready.store(true, Ordering::SeqCst);
        info!(
            "no watched sources: specs arrive only by push (PUT /v1/sources/NAME/spec); to watch files give them (actionsync serve specs/) or list them in actionsync.yaml"
        );
    }
    for (spec, origin, url) in sources {
        daemon.start_source(spec, origin, url);
    }
    let watcher = watch::start(daemon.clone()).map_err(DaemonError::Watch)?;
    Ok(Running {
        daemon,
        watcher: Some(watcher),
    })
}

impl Running {
    /// Reads the config again (SIGHUP): new sources start, removed ones stop,
    /// changed ones are checked; on error the running sources stay as they were.
    pub fn reload(&mut self) {
        if let Err(e) = reload(&self.daemon) {
            warn!(error = %e, "the config was not reloaded; the running sources stay as they were");
            return;
        }
        // The folders to watch may have changed.
        self.watcher = None;
        match watch::start(self.daemon.clone()) {
            Ok(w) => self.watcher = Some(w),
            Err(e) => warn!(error = %e, "cannot restart the file watcher"),
        }
        // Changes the old watcher had not yet reported: check every file source (an
        // unchanged one costs a hash).
        let files: Vec<String> = self
            .daemon
            .sources
            .lock()
            .map(|s| {
                s.iter()
                    .filter(|(_, h)| h.url.is_none())
                    .map(|(n, _)| n.clone())
                    .collect()
            })
            .unwrap_or_default();
        for name in files {
            self.daemon.trigger(&name, Trigger::Check(AppliedBy::Watch));
        }
    }

    /// Stops taking work and waits (20 s at most) for the work in flight: applies
    /// are transactions, so one cut short keeps nothing partial.
    pub async fn stop(mut self) {
        self.daemon.shutdown.cancel();
        self.watcher = None;
        self.daemon.tracker.close();
        if tokio::time::timeout(Duration::from_secs(20), self.daemon.tracker.wait())
            .await
            .is_err()
        {
            warn!(
                "work still in flight after 20 s; stopping anyway (applies are transactions: nothing partial is kept)"
            );
        }
    }
}

/// Applies a changed config: new sources start, removed ones stop, changed ones
/// are updated and checked.
fn reload(daemon: &Arc<Daemon>) -> Result<(), DaemonError> {
    let (config, desired, folders) = desired_sources(&daemon.options)?;
    if let Ok(mut f) = daemon.folders.lock() {
        *f = folders;
    }
    if let Ok(mut c) = daemon.config.lock() {
        *c = config;
    }
    let running: Vec<String> = daemon
        .sources
        .lock()
        .map(|s| s.keys().cloned().collect())
        .unwrap_or_default();
    let wanted: Vec<String> = desired.iter().map(|(s, _, _)| s.name.clone()).collect();
    for name in running.iter().filter(|n| !wanted.contains(n)) {
        daemon.stop_source(name);
    }
    for (spec, origin, url) in desired {
        let changed = {
            let Ok(mut sources) = daemon.sources.lock() else {
                continue;
            };
            match sources.get_mut(&spec.name) {
                Some(handle) => {
                    let differs =
                        format!("{:?}", handle.spec) != format!("{spec:?}") || handle.url != url;
                    if differs && handle.url.is_none() && url.is_none() {
                        handle.spec = spec.clone();
                        Some(true)
                    } else if differs {
                        Some(false)
                    } else {
                        None
                    }
                }
                None => {
                    drop(sources);
                    info!(source = %spec.name, "source added");
                    daemon.start_source(spec, origin, url);
                    continue;
                }
            }
        };
        match changed {
            Some(true) => daemon.trigger(&spec.name, Trigger::Check(AppliedBy::Watch)),
            // A URL source whose settings changed restarts with its new poller.
            Some(false) => {
                daemon.stop_source(&spec.name);
                daemon.start_source(spec, origin, url);
            }
            None => {}
        }
    }
    Ok(())
}

/// One source's worker: takes triggers, coalesces bursts, reconciles.
async fn worker(
    daemon: Arc<Daemon>,
    name: String,
    generation: u64,
    mut triggers: mpsc::Receiver<Trigger>,
    stop: CancellationToken,
) {
    loop {
        // Stopping wins over work still queued.
        let mut trigger = tokio::select! {
            biased;
            _ = stop.cancelled() => break,
            t = triggers.recv() => match t { Some(t) => t, None => break },
        };
        // A burst is one reconcile: a fetched body wins over a check, and the later
        // of a removal and a check wins (a file deleted, then written again, is a check).
        while let Ok(next) = triggers.try_recv() {
            trigger = match (&trigger, next) {
                (Trigger::Fetched { .. }, Trigger::Check(_)) => trigger,
                (_, next) => next,
            };
        }
        let Some(spec) = daemon.source_spec(&name, generation) else {
            break;
        };
        run_trigger(&daemon, &spec, trigger).await;
        daemon.initial_done_for(&name);
    }
    daemon.initial_done_for(&name);
}

/// Does what a trigger asks, then logs and counts the outcome.
pub async fn run_trigger(daemon: &Daemon, spec: &SourceSpec, trigger: Trigger) {
    let started = Instant::now();
    let (result, validators, applied_by) = match trigger {
        Trigger::Check(applied_by) => (
            sync::reconcile(
                &daemon.store,
                spec,
                ReconcileOptions {
                    applied_by,
                    tool_tokens: daemon.tool_tokens(),
                    ..ReconcileOptions::default()
                },
            )
            .await,
            None,
            applied_by,
        ),
        Trigger::Fetched {
            bytes,
            etag,
            last_modified,
        } => {
            let url = match &spec.location {
                SpecLocation::Url(url) => url.clone(),
                _ => return,
            };
            let fetched = SourceSpec {
                location: SpecLocation::BytesAt { url, bytes },
                ..spec.clone()
            };
            (
                sync::reconcile(
                    &daemon.store,
                    &fetched,
                    ReconcileOptions {
                        applied_by: AppliedBy::Poll,
                        tool_tokens: daemon.tool_tokens(),
                        ..ReconcileOptions::default()
                    },
                )
                .await,
                Some((etag, last_modified)),
                AppliedBy::Poll,
            )
        }
        Trigger::Removed => (
            sync::retire(&daemon.store, spec, AppliedBy::Watch).await,
            None,
            AppliedBy::Watch,
        ),
    };
    let elapsed = started.elapsed();
    let source = spec.name.clone();
    histogram!("actionsync_reconcile_seconds", "source" => source.clone())
        .record(elapsed.as_secs_f64());
    let outcome = match &result {
        Ok((Outcome::Unchanged { .. }, _)) => "unchanged",
        Ok((Outcome::Planned { .. }, _)) => "no_changes",
        Ok((Outcome::Applied { .. }, _)) => "applied",
        Ok((Outcome::Refused { .. }, _)) => "refused",
        Ok((Outcome::Paused { .. }, _)) => "paused",
        Err(_) => "error",
    };
    counter!("actionsync_reconciles_total", "source" => source.clone(), "outcome" => outcome)
        .increment(1);
    match &result {
        Ok((outcome, _)) => {
            // A paused source keeps no validators: after it is resumed, the next
            // poll fetches the spec whole and applies it.
            if !matches!(outcome, Outcome::Refused { .. } | Outcome::Paused { .. }) {
                gauge!("actionsync_last_success_timestamp_seconds", "source" => source.clone())
                    .set(store::now_ms() as f64 / 1000.0);
                if let Some((etag, last_modified)) = &validators
                    && let Err(e) = daemon
                        .store
                        .record_validators(&source, etag.as_deref(), last_modified.as_deref())
                        .await
                {
                    warn!(source = %source, error = %e, "cannot record the URL's validators");
                }
            }
            match outcome {
                Outcome::Applied { plan, revision } => {
                    let c = &plan.counts;
                    histogram!("actionsync_plan_changes", "source" => source.clone())
                        .record(plan.changes.len() as f64);
                    info!(
                        source = %source, revision, by = applied_by.as_str(), created = c.created, updated = c.updated,
                        archived = c.archived, deleted = c.deleted, restored = c.restored, drift = plan.drift.len(),
                        orphans = plan.orphans.len(), ms = elapsed.as_millis() as u64, "applied"
                    );
                }
                Outcome::Refused { plan } => {
                    let mut reasons: Vec<&str> = plan
                        .refusals
                        .iter()
                        .take(3)
                        .map(|r| r.message.as_str())
                        .collect();
                    let more = plan.refusals.len().saturating_sub(3);
                    let more_text = format!("and {more} more (actionsync plan --source {source})");
                    if more > 0 {
                        reasons.push(&more_text);
                    }
                    warn!(source = %source, reasons = %reasons.join("; "), "plan refused; the catalogue keeps its last good state");
                }
                Outcome::Paused { plan } if plan.is_empty() => {
                    debug!(source = %source, "paused; in sync")
                }
                Outcome::Paused { plan } => {
                    let c = &plan.counts;
                    info!(
                        source = %source, created = c.created, updated = c.updated, archived = c.archived,
                        deleted = c.deleted, restored = c.restored, resume = %format!("actionsync sources resume {source}"),
                        "paused: out of sync; planned, not applied"
                    );
                }
                Outcome::Planned { .. } => debug!(source = %source, "no changes"),
                Outcome::Unchanged { .. } => debug!(source = %source, "unchanged"),
            }
        }
        Err(e) => {
            warn!(source = %source, error = %e, "reconcile failed; the catalogue keeps its last good state")
        }
    }
}
