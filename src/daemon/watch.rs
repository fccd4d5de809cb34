//! Watching spec files and folders. The *folder* of a file is watched, not the
//! file, so editors that save by writing a temporary file and renaming it keep
//! working; events are debounced (300 ms by default) into one check per burst.
//! Temporary and hidden files are ignored (`.x.swp`, `x~`, `x.tmp`). A check that
//! finds the same bytes costs a hash. `--watch-mode poll` polls the files instead
//! (once a second, comparing contents), for file systems that send no notifications.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use notify::RecursiveMode;
use notify_debouncer_full::{
    DebounceEventResult, Debouncer, RecommendedCache, new_debouncer, new_debouncer_opt,
};
use tracing::{debug, info, warn};

use super::{Daemon, Origin, Trigger, WatchMode, canonical};
use crate::config::is_spec_file;
use crate::source::SpecLocation;
use crate::store::AppliedBy;

/// How often `--watch-mode poll` looks at the files.
pub const POLL_INTERVAL: Duration = Duration::from_secs(1);

/// A running watcher; dropping it stops it.
pub enum Watcher {
    /// Native notifications.
    Native(Debouncer<notify::RecommendedWatcher, RecommendedCache>),
    /// Polling.
    Poll(Debouncer<notify::PollWatcher, RecommendedCache>),
}

/// The folders to watch: those of file sources, and watched folders.
fn watched_folders(daemon: &Daemon) -> Vec<PathBuf> {
    let mut folders: Vec<PathBuf> = daemon.folders.lock().map(|f| f.clone()).unwrap_or_default();
    if let Ok(sources) = daemon.sources.lock() {
        for handle in sources.values() {
            if let SpecLocation::File(path) = &handle.spec.location
                && let Some(parent) = canonical(path).parent()
            {
                folders.push(parent.to_path_buf());
            }
        }
    }
    folders.sort();
    folders.dedup();
    // A folder inside another watched one is watched through it.
    let all = folders.clone();
    folders.retain(|f| !all.iter().any(|other| other != f && f.starts_with(other)));
    folders
}

/// Starts watching; events are handled on the async runtime.
pub fn start(daemon: Arc<Daemon>) -> Result<Watcher, String> {
    let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel::<Vec<PathBuf>>();
    let handler = move |result: DebounceEventResult| match result {
        Ok(events) => {
            // Reading a file is an event too (open, close): only changes count, or
            // every check would trigger the next.
            let paths: Vec<PathBuf> = events
                .into_iter()
                .filter(|e| !matches!(e.event.kind, notify::EventKind::Access(_)))
                .flat_map(|e| e.event.paths)
                .collect();
            if paths.is_empty() {
                return;
            }
            let _ = sender.send(paths);
        }
        Err(errors) => {
            for e in errors {
                warn!(error = %e, "file watcher error");
            }
        }
    };
    let debounce = daemon.options.debounce;
    let mut watcher = match daemon.options.watch_mode {
        WatchMode::Native => {
            Watcher::Native(new_debouncer(debounce, None, handler).map_err(|e| e.to_string())?)
        }
        WatchMode::Poll => {
            // notify's poller compares modification times in whole seconds, so a
            // second save within the same second would be missed: compare contents
            // too. Once a second keeps that cheap on a network file system.
            let config = notify::Config::default()
                .with_poll_interval(POLL_INTERVAL)
                .with_compare_contents(true);
            Watcher::Poll(
                new_debouncer_opt::<_, notify::PollWatcher, RecommendedCache>(
                    debounce,
                    None,
                    handler,
                    RecommendedCache::new(),
                    config,
                )
                .map_err(|e| e.to_string())?,
            )
        }
    };
    for folder in watched_folders(&daemon) {
        let watched = match &mut watcher {
            Watcher::Native(d) => d.watch(&folder, RecursiveMode::Recursive),
            Watcher::Poll(d) => d.watch(&folder, RecursiveMode::Recursive),
        };
        match watched {
            Ok(()) => {
                info!(folder = %folder.display(), mode = ?daemon.options.watch_mode, "watching")
            }
            Err(e) => warn!(folder = %folder.display(), error = %e, "cannot watch this folder"),
        }
    }
    tokio::spawn(async move {
        while let Some(paths) = receiver.recv().await {
            let mut seen = std::collections::HashSet::new();
            for path in paths {
                if seen.insert(path.clone()) {
                    on_path(&daemon, &path);
                }
            }
        }
    });
    Ok(watcher)
}

/// Ignored: hidden files, editor backups and swap files.
fn is_temporary(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    name.starts_with('.')
        || name.starts_with('#')
        || name.ends_with('~')
        || name.ends_with(".swp")
        || name.ends_with(".swx")
        || name.ends_with(".tmp")
        || name == "4913"
}

/// What a changed path means for the sources.
fn on_path(daemon: &Arc<Daemon>, path: &Path) {
    if is_temporary(path) {
        return;
    }
    let exists = path.exists();
    // The path as the sources know it: resolved when it exists, else its folder
    // resolved (a deleted file cannot be resolved).
    let resolved = if exists {
        canonical(path)
    } else {
        path.parent()
            .map(|p| canonical(p).join(path.file_name().unwrap_or_default()))
            .unwrap_or_else(|| path.to_path_buf())
    };
    let mut exact: Option<(String, Origin)> = None;
    let mut nearby: Vec<String> = Vec::new();
    if let Ok(sources) = daemon.sources.lock() {
        for (name, handle) in sources.iter() {
            let SpecLocation::File(file) = &handle.spec.location else {
                continue;
            };
            let file = canonical(file);
            if file == resolved {
                exact = Some((name.clone(), handle.origin.clone()));
            } else if file.parent().is_some_and(|dir| resolved.starts_with(dir)) {
                // A document a spec may reference changed.
                nearby.push(name.clone());
            }
        }
    }
    match exact {
        Some((name, origin)) => {
            if exists {
                debug!(source = %name, path = %resolved.display(), "changed");
                daemon.trigger(&name, Trigger::Check(AppliedBy::Watch));
            } else if matches!(origin, Origin::Folder(_)) {
                info!(source = %name, path = %resolved.display(), "spec file deleted");
                daemon.trigger(&name, Trigger::Removed);
            } else {
                // A configured file that vanished: the read fails and is recorded;
                // nothing is planned.
                daemon.trigger(&name, Trigger::Check(AppliedBy::Watch));
            }
        }
        None => {
            let folder = resolved.parent().map(Path::to_path_buf);
            let watched_folder = folder.as_ref().is_some_and(|f| {
                daemon
                    .folders
                    .lock()
                    .map(|fs| fs.contains(f))
                    .unwrap_or(false)
            });
            if exists && watched_folder && is_spec_file(&resolved) {
                new_source(daemon, &resolved);
            } else if matches!(
                resolved.extension().and_then(|e| e.to_str()),
                Some("yaml" | "yml" | "json")
            ) {
                for name in nearby {
                    daemon.trigger(&name, Trigger::Check(AppliedBy::Watch));
                }
            }
        }
    }
}

/// A spec file appeared in a watched folder: it becomes a source named after it.
fn new_source(daemon: &Arc<Daemon>, path: &Path) {
    let folder = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let defaults = crate::config::SourceOptions::default();
    let Ok(mut specs) = crate::config::sources_from_paths(&[path.to_path_buf()], &defaults) else {
        return;
    };
    let Some(mut spec) = specs.pop() else { return };
    spec.kind = "dir".to_string();
    // Options of the folder's config entry, if it has one, apply to its new files.
    if let Some(sibling) = daemon.sources.lock().ok().and_then(|s| {
        s.values()
            .find(|h| h.origin == Origin::Folder(folder.clone()))
            .map(|h| h.spec.clone())
    }) {
        spec.load = sibling.load;
        spec.max_removed_share = sibling.max_removed_share;
        spec.convert = crate::convert::ConvertOptions {
            source: spec.name.clone(),
            ..sibling.convert
        };
    }
    if daemon
        .sources
        .lock()
        .map(|s| s.contains_key(&spec.name))
        .unwrap_or(true)
    {
        warn!(path = %path.display(), source = %spec.name, "a source with this name already exists; the new file is not watched");
        return;
    }
    info!(source = %spec.name, path = %path.display(), "new spec file: new source");
    daemon.start_source(spec, Origin::Folder(folder), None);
}
