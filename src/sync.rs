//! Reconciling one source: read its spec, and unless it is unchanged, convert it,
//! plan against the catalogue, and apply. This is the only way a catalogue's
//! spec-owned fields change: the CLI, the daemon and the HTTP API all call
//! [`reconcile`].

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use sha2::{Digest, Sha256};
use url::Url;

use crate::action::SpecFields;
use crate::convert::{self, Conversion, ConvertOptions};
use crate::plan::{self, CurrentAction, Plan, PlanInput, PlanOptions, StoredSpec};
use crate::source::{self, LoadError, LoadOptions, SpecLocation};
use crate::store::{AppliedBy, SpecBlob, Store, StoreError};

/// Everything needed to reconcile one source.
#[derive(Debug, Clone)]
pub struct SourceSpec {
    /// Source name.
    pub name: String,
    /// `file`, `dir` (a file found in a watched folder), `url` or `push`.
    pub kind: String,
    /// Where the spec is.
    pub location: SpecLocation,
    /// How to read it.
    pub load: LoadOptions,
    /// How to convert it (its `source` is the source name).
    pub convert: ConvertOptions,
    /// The removal guard's limit, 0 to 1.
    pub max_removed_share: f64,
    /// What a name another source has is prefixed with; `None`: the source's
    /// name ([`plan::default_name_prefix`]).
    pub name_prefix: Option<String>,
}

impl SourceSpec {
    /// The prefix in force.
    pub fn name_prefix(&self) -> String {
        self.name_prefix
            .clone()
            .unwrap_or_else(|| plan::default_name_prefix(&self.name))
    }
}

/// What the caller wants of this reconcile.
#[derive(Debug, Clone, Copy)]
pub struct ReconcileOptions<'a> {
    /// Plan only.
    pub dry_run: bool,
    /// Delete removed actions instead of archiving them.
    pub prune: bool,
    /// Pass the guards.
    pub force: bool,
    /// Re-plan even if the spec is unchanged since the last reconcile.
    pub even_if_unchanged: bool,
    /// What to record as having applied it.
    pub applied_by: AppliedBy,
    /// Who, when known (`token:NAME`), recorded on the revision.
    pub actor: Option<&'a str>,
    /// One tool's token budget, for the plan's warnings (`budget.tool_tokens`).
    pub tool_tokens: usize,
    /// Apply even if the source is paused (a rollback, which a person asked for).
    pub even_if_paused: bool,
}

impl Default for ReconcileOptions<'_> {
    fn default() -> Self {
        ReconcileOptions {
            dry_run: false,
            prune: false,
            force: false,
            even_if_unchanged: false,
            applied_by: AppliedBy::Cli,
            actor: None,
            tool_tokens: crate::lint::Budget::default().tool_tokens,
            even_if_paused: false,
        }
    }
}

/// How a reconcile ended.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// The spec (and the options) are the same as last time: nothing was planned.
    Unchanged {
        /// Source name.
        source: String,
    },
    /// The plan was made and not applied: a dry run, or nothing to change.
    Planned {
        /// The plan.
        plan: Box<Plan>,
    },
    /// The plan was refused (lint errors, or a guard without force): nothing applied.
    Refused {
        /// The plan.
        plan: Box<Plan>,
    },
    /// The source is paused: the plan was made and not applied. A non-empty
    /// plan means the source is out of sync until it is resumed.
    Paused {
        /// The plan.
        plan: Box<Plan>,
    },
    /// The plan was applied as a new revision.
    Applied {
        /// The plan, as applied.
        plan: Box<Plan>,
        /// The revision number.
        revision: i64,
    },
}

impl Outcome {
    /// The plan, if one was made.
    pub fn plan(&self) -> Option<&Plan> {
        match self {
            Outcome::Unchanged { .. } => None,
            Outcome::Planned { plan }
            | Outcome::Paused { plan }
            | Outcome::Refused { plan }
            | Outcome::Applied { plan, .. } => Some(plan),
        }
    }
}

/// Why a reconcile failed before it could plan.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The spec could not be read.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// The catalogue failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A rollback of a source its own file, folder or URL would overwrite at its
    /// next change.
    #[error(
        "source `{source_name}` is read from {location} (a `{kind}` source): its next change there would undo the rollback; pause it first (actionsync sources pause {source_name}), or roll back with --pause"
    )]
    NotPaused {
        /// The source.
        source_name: String,
        /// `file`, `dir` or `url`.
        kind: String,
        /// Where it is read from.
        location: String,
    },
    /// A blocking task panicked or was cancelled.
    #[error("internal error: {0}")]
    Internal(String),
}

/// How long each step of a reconcile took.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Timings {
    /// Reading (and parsing, when the spec changed).
    pub load: Duration,
    /// Converting.
    pub convert: Duration,
    /// Reading the catalogue and planning.
    pub plan: Duration,
    /// Applying.
    pub apply: Duration,
}

/// How many times a plan is made again when another apply got in first.
const RETRIES: usize = 3;

/// Reconciles one source. A spec that cannot be read is recorded on the source and
/// returned as an error: it never plans removals.
pub async fn reconcile<S: Store>(
    store: &S,
    source: &SourceSpec,
    options: ReconcileOptions<'_>,
) -> Result<(Outcome, Timings), SyncError> {
    let mut timings = Timings::default();
    // A dry run writes nothing, not even the source's row; nor does a push to a
    // new name until it applies (a push that fails leaves no source behind).
    let record = if options.dry_run || source.kind == "push" {
        store.source(&source.name).await?
    } else {
        Some(
            store
                .ensure_source(&source.name, &source.kind, &source.location.stored())
                .await?,
        )
    };
    let known_hash = record.as_ref().and_then(|r| r.input_hash.clone());
    // A paused source is read and planned like any other, never applied.
    let paused = !options.even_if_paused && record.as_ref().is_some_and(|r| r.paused);
    let had_pending = record.as_ref().is_some_and(|r| r.pending.is_some());
    let record_pending = |pending: Option<crate::plan::Counts>| async move {
        if options.dry_run || !paused || (pending.is_none() && !had_pending) {
            return Ok::<(), StoreError>(());
        }
        store.record_pending(&source.name, pending.as_ref()).await
    };
    // Pruning deletes what earlier runs archived, even when the spec is unchanged.
    let may_skip = !options.even_if_unchanged && !options.prune;
    let record_attempt = |input_hash: Option<String>, error: Option<String>| async move {
        if options.dry_run {
            return Ok::<(), StoreError>(());
        }
        store
            .record_attempt(&source.name, input_hash.as_deref(), error.as_deref())
            .await
    };

    let started = Instant::now();
    let read = {
        let location = source.location.clone();
        let load = source.load.clone();
        blocking(move || source::read_root(&location, &load)).await?
    };
    let root = match read {
        Ok(root) => root,
        Err(e) => {
            // The read error is the one to report, even if recording it fails.
            let _ = record_attempt(None, Some(e.to_string())).await;
            return Err(e.into());
        }
    };
    // A spec in one document that has not changed costs a read and a hash.
    let options_hash = options_fingerprint(source);
    let self_contained = root.is_self_contained();
    // Hashed before the parse only where the hash may spare it; else beside it.
    // Hashed once: the same hash is the revision's spec hash if it has changed.
    let may_be_unchanged = may_skip && known_hash.is_some();
    let hash_first = (self_contained && may_be_unchanged).then(|| root.hash());
    if let Some(hash) = &hash_first
        && known_hash.as_deref() == Some(input_hash(hash, &options_hash).as_str())
    {
        timings.load = started.elapsed();
        record_attempt(None, None).await?;
        record_pending(None).await?;
        return Ok((
            Outcome::Unchanged {
                source: source.name.clone(),
            },
            timings,
        ));
    }
    let load = source.load.clone();
    let hash_beside = self_contained && hash_first.is_none();
    let (loaded, hash_beside) = blocking(move || load_hashing(root, &load, hash_beside)).await?;
    let loaded = match loaded {
        Ok(loaded) => loaded,
        Err(e) => {
            // The read error is the one to report, even if recording it fails.
            let _ = record_attempt(None, Some(e.to_string())).await;
            return Err(e.into());
        }
    };
    let one_document_hash = hash_first.or(hash_beside);
    timings.load = started.elapsed();
    let spec_hash = one_document_hash.unwrap_or_else(|| loaded.content_hash());
    let input = input_hash(&spec_hash, &options_hash);
    if may_skip && known_hash.as_deref() == Some(input.as_str()) {
        record_attempt(None, None).await?;
        record_pending(None).await?;
        return Ok((
            Outcome::Unchanged {
                source: source.name.clone(),
            },
            timings,
        ));
    }

    // The spec changed: it will be planned, and the plan weighs its tools.
    crate::tools::warm_up_tokens();
    let started = Instant::now();
    let convert_options = source.convert.clone();
    let spec = loaded.spec;
    let conversion: Conversion =
        on_own_thread(move || convert::convert(&spec, &convert_options)).await?;
    timings.convert = started.elapsed();
    let blob = SpecBlob {
        hash: &spec_hash,
        bytes: &loaded.root_bytes,
    };

    let plan_options = PlanOptions {
        prune: options.prune,
        force: options.force,
        max_removed_share: source.max_removed_share,
        tool_tokens: options.tool_tokens,
    };
    for attempt in 0.. {
        let started = Instant::now();
        let plan = plan_against(
            store,
            &source.name,
            &spec_hash,
            &conversion,
            plan_options,
            &source.name_prefix(),
        )
        .await?;
        timings.plan += started.elapsed();
        if plan.is_blocked() {
            let reasons: Vec<&str> = plan.refusals.iter().map(|r| r.message.as_str()).collect();
            record_attempt(None, Some(format!("plan refused: {}", reasons.join("; ")))).await?;
            // A refused apply is history (`actionsync history`); a refused dry run
            // changed nothing and is not.
            if !options.dry_run {
                let reasons: Vec<String> = reasons.iter().map(|r| r.to_string()).collect();
                store
                    .record_refusal(
                        &source.name,
                        &spec_hash,
                        &reasons,
                        options.applied_by,
                        options.actor,
                    )
                    .await?;
            }
            return Ok((
                Outcome::Refused {
                    plan: Box::new(plan),
                },
                timings,
            ));
        }
        if paused {
            // Out of sync until resumed (a dry run says so too, and records
            // nothing); the input hash stays unrecorded, so the reconcile after
            // resuming plans (and applies) this spec.
            record_attempt(None, None).await?;
            record_pending((!plan.is_empty()).then_some(plan.counts)).await?;
            return Ok((
                Outcome::Paused {
                    plan: Box::new(plan),
                },
                timings,
            ));
        }
        if options.dry_run {
            return Ok((
                Outcome::Planned {
                    plan: Box::new(plan),
                },
                timings,
            ));
        }
        // With a change held back, the source is not in sync: the next reconcile
        // plans again (the name may be free by then, or pinned) instead of
        // taking the spec for done.
        let input = if plan.held_back.is_empty() {
            input.clone()
        } else {
            format!("{input} held-back")
        };
        if plan.is_empty() {
            record_attempt(Some(input.clone()), None).await?;
            return Ok((
                Outcome::Planned {
                    plan: Box::new(plan),
                },
                timings,
            ));
        }
        let started = Instant::now();
        if record.is_none() {
            store
                .ensure_source(&source.name, &source.kind, &source.location.stored())
                .await?;
        }
        let applied = store
            .apply(&plan, blob, &input, options.applied_by, options.actor)
            .await;
        timings.apply += started.elapsed();
        match applied {
            Ok(revision) => {
                return Ok((
                    Outcome::Applied {
                        plan: Box::new(plan),
                        revision,
                    },
                    timings,
                ));
            }
            // Another apply got in first: plan again against what it left.
            Err(StoreError::Conflict { .. }) if attempt + 1 < RETRIES => continue,
            Err(e) => {
                // The source says why its change is not in the catalogue.
                let _ = record_attempt(None, Some(format!("apply failed: {e}"))).await;
                return Err(e.into());
            }
        }
    }
    Err(SyncError::Internal("the plan loop ended".to_string()))
}

/// Plans a conversion against the catalogue as it is now.
pub async fn plan_against<S: Store>(
    store: &S,
    source: &str,
    spec_hash: &str,
    conversion: &Conversion,
    options: PlanOptions,
    name_prefix: &str,
) -> Result<Plan, StoreError> {
    // The base revision is read first: whatever an apply changes after it, the
    // plan's apply is refused as stale.
    let record = store.source(source).await?;
    let current = current_actions(store, source, conversion).await?;
    let written = names_written(&current, conversion, name_prefix);
    let written: Vec<&str> = written.iter().map(String::as_str).collect();
    let others = store.name_owners(source, &written).await?;
    Ok(plan::plan(PlanInput {
        source,
        spec_hash,
        base_revision: record.map_or(0, |r| r.last_revision),
        current: &current,
        others: &others,
        conversion,
        options,
        name_prefix,
    }))
}

/// The source's actions as a plan reads them. Their spec-owned fields, the bulk
/// of the catalogue, are read and decoded only where they may differ from the
/// draft with the same key: where the stored digest is not the draft's.
async fn current_actions<S: Store>(
    store: &S,
    source: &str,
    conversion: &Conversion,
) -> Result<Vec<CurrentAction>, StoreError> {
    let summaries = store.action_summaries(source).await?;
    let drafts: HashMap<&str, &SpecFields> = conversion
        .actions
        .iter()
        .map(|d| (d.key.as_str(), &d.spec))
        .collect();
    // Only the drafts a stored digest may vouch for are digested, all at once.
    let vouched: Vec<(usize, &SpecFields)> = summaries
        .iter()
        .enumerate()
        .filter(|(_, s)| s.spec_digest.is_some())
        .filter_map(|(i, s)| Some((i, *drafts.get(s.key.as_str())?)))
        .collect();
    let specs: Vec<&SpecFields> = vouched.iter().map(|(_, spec)| *spec).collect();
    let mut same = vec![false; summaries.len()];
    for ((i, _), digest) in vouched.iter().zip(plan::spec_digests(&specs)) {
        same[*i] = digest.is_some() && digest == summaries[*i].spec_digest;
    }
    let wanted: Vec<i64> = summaries
        .iter()
        .zip(&same)
        .filter(|(_, same)| !**same)
        .map(|(s, _)| s.id)
        .collect();
    let mut specs: HashMap<i64, SpecFields> = store
        .action_specs(source, &wanted)
        .await?
        .into_iter()
        .collect();
    Ok(summaries
        .into_iter()
        .zip(same)
        .filter_map(|(summary, same)| {
            let spec = if same {
                StoredSpec::SameAsDraft
            } else {
                // Gone since the first read: an apply got in, and the base
                // revision read before it makes this plan's apply stale.
                StoredSpec::Decoded(Box::new(specs.remove(&summary.id)?))
            };
            Some(CurrentAction {
                id: summary.id,
                key: summary.key,
                name: summary.name,
                state: summary.state,
                hand: summary.hand,
                spec,
            })
        })
        .collect())
}

/// Every name the plan may write: each draft's (the spec's, or a pinned one), its
/// prefixed form (should another source have it), and each pinned name of a
/// stored action. Only other sources' actions with one of these names can clash
/// with the plan, so only those are read.
fn names_written(
    current: &[CurrentAction],
    conversion: &Conversion,
    name_prefix: &str,
) -> Vec<String> {
    let pinned = |hand: &crate::action::HandFields| {
        hand.pins
            .get("name")
            .and_then(serde_json::Value::as_str)
            .map(str::to_string)
    };
    let mut names: Vec<String> = conversion
        .actions
        .iter()
        .flat_map(|d| {
            [
                Some(d.spec.name.clone()),
                Some(plan::prefixed_name(name_prefix, &d.spec.name)),
                pinned(&d.hand),
            ]
        })
        .flatten()
        .chain(current.iter().filter_map(|a| pinned(&a.hand)))
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}

/// Whether a source of this kind is read by actionsync itself (a file, a file
/// in a watched folder, a URL), so its next change would undo a rollback.
pub fn is_watched(kind: &str) -> bool {
    matches!(kind, "file" | "dir" | "url")
}

/// Rolls a source back to revision `number`: re-applies that revision's spec as a
/// new revision (hand-set fields untouched, like any plan). A watched source
/// ([`is_watched`]) must be paused first, or `pause` pauses it: otherwise its
/// next change would silently undo the rollback. A dry run needs neither.
pub async fn rollback<S: Store>(
    store: &S,
    source: &SourceSpec,
    number: i64,
    pause: bool,
    options: ReconcileOptions<'_>,
) -> Result<(Outcome, Timings), SyncError> {
    let revision = store.revision(&source.name, number).await?.ok_or_else(|| {
        StoreError::NotFound(format!("source `{}` has no revision {number}", source.name))
    })?;
    hold_for_rollback(store, source, pause, options.dry_run).await?;
    let bytes = store.spec_body(&revision.spec_hash).await?.ok_or_else(|| {
        StoreError::NotFound(format!("the spec of revision {number} is not stored"))
    })?;
    // The stored root stands where the source's spec is, so relative references
    // resolve as they did.
    let location = match &source.location {
        SpecLocation::File(path) => std::fs::canonicalize(path)
            .ok()
            .and_then(|p| Url::from_file_path(p).ok())
            .map(|url| SpecLocation::BytesAt {
                url,
                bytes: bytes.clone(),
            }),
        SpecLocation::Url(url) => Some(SpecLocation::BytesAt {
            url: url.clone(),
            bytes: bytes.clone(),
        }),
        _ => None,
    }
    .unwrap_or(SpecLocation::Bytes {
        name: source.name.clone(),
        bytes,
    });
    let rolled = SourceSpec {
        location,
        ..source.clone()
    };
    reconcile(
        store,
        &rolled,
        ReconcileOptions {
            even_if_unchanged: true,
            even_if_paused: true,
            ..options
        },
    )
    .await
}

/// Before a rollback that applies: a watched source is paused, or paused now
/// when the caller asked, or the rollback is refused.
async fn hold_for_rollback<S: Store>(
    store: &S,
    source: &SourceSpec,
    pause: bool,
    dry_run: bool,
) -> Result<(), SyncError> {
    let record = store.source(&source.name).await?;
    let kind = record
        .as_ref()
        .map_or(source.kind.as_str(), |r| r.kind.as_str());
    if dry_run || !is_watched(kind) || record.as_ref().is_some_and(|r| r.paused) {
        return Ok(());
    }
    if !pause {
        return Err(SyncError::NotPaused {
            source_name: source.name.clone(),
            kind: kind.to_string(),
            location: source.location.display(),
        });
    }
    store.set_paused(&source.name, true).await?;
    Ok(())
}

/// The hash that decides whether a source is unchanged: the spec's content, the
/// options it is converted with, and this version of actionsync (whose conversion
/// may differ from the last one's).
fn input_hash(content_hash: &str, options_fingerprint: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(content_hash);
    hasher.update([0]);
    hasher.update(options_fingerprint);
    hasher.update([0]);
    hasher.update(env!("CARGO_PKG_VERSION"));
    source::hex(&hasher.finalize())
}

fn options_fingerprint(source: &SourceSpec) -> String {
    let c = &source.convert;
    serde_json::json!({
        "source": c.source,
        "base_url": c.base_url.as_ref().map(Url::as_str),
        "allow_http": c.allow_http,
        "selection": c.selection,
        "allow_remote_refs": source.load.allow_remote_refs,
        "allow_outside_refs": source.load.allow_outside_refs,
        "name_prefix": source.name_prefix,
    })
    .to_string()
}

/// Parses `root` (and loads what it references), hashing its bytes on another
/// core meanwhile when `hash` says the hash is wanted.
fn load_hashing(
    root: source::RootDocument,
    options: &LoadOptions,
    hash: bool,
) -> (Result<source::Loaded, source::LoadError>, Option<String>) {
    if !hash {
        return (source::load_root(root, options), None);
    }
    let bytes = Arc::clone(&root.bytes);
    let (hash, loaded) = rayon::join(
        move || source::hash_of(&bytes),
        move || source::load_root(root, options),
    );
    (loaded, Some(hash))
}

/// Runs a conversion off the async workers, on a thread of its own rather than
/// one of tokio's blocking pool: a pool thread that has converted and planned
/// before converts a fifth slower than a new one (Kubernetes' spec in 35 to 39
/// ms against 31 to 32; BENCHMARKS.md, "The conversion on a thread of its own"),
/// and a thread costs tens of microseconds against the conversion's
/// milliseconds. A panic in `f` is an internal error, as it is in the pool.
async fn on_own_thread<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, SyncError> {
    let (sender, receiver) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("actionsync-convert".to_string())
        .spawn(move || {
            let _ = sender.send(f());
        })
        .map_err(|e| SyncError::Internal(format!("cannot start a thread to convert on: {e}")))?;
    receiver.await.map_err(|_| {
        SyncError::Internal("the conversion stopped without a result (it panicked)".to_string())
    })
}

/// Runs CPU-bound or blocking work (parsing, file and HTTP reads for specs) off the
/// async workers.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, SyncError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| SyncError::Internal(e.to_string()))
}

/// Plans the removal of a source whose spec file was deleted: every action is
/// archived, subject to the guards (which refuse it unless the source allows it),
/// so a file deleted by mistake costs nothing.
pub async fn retire<S: Store>(
    store: &S,
    source: &SourceSpec,
    applied_by: AppliedBy,
) -> Result<(Outcome, Timings), SyncError> {
    let mut timings = Timings::default();
    let started = Instant::now();
    let empty = Conversion {
        source: source.name.clone(),
        spec: convert::SpecInfo {
            title: String::new(),
            version: String::new(),
            openapi: String::new(),
        },
        actions: Vec::new(),
        skipped: Vec::new(),
        diagnostics: Vec::new(),
    };
    let options = PlanOptions {
        prune: false,
        force: false,
        max_removed_share: source.max_removed_share,
        ..PlanOptions::default()
    };
    let hash = "removed";
    let mut plan = plan_against(
        store,
        &source.name,
        hash,
        &empty,
        options,
        &source.name_prefix(),
    )
    .await?;
    // An empty spec is the point here: only the removal guard decides, and its
    // advice must fit a deleted file.
    plan.refusals.retain(|r| r.code != "zero-operations");
    for refusal in &mut plan.refusals {
        if refusal.code == "removal-guard" {
            refusal.message = format!(
                "{}; the spec file was deleted: restore it, or allow the source's removal with max_removed_share: 1",
                refusal
                    .message
                    .split(". Check the spec")
                    .next()
                    .unwrap_or(&refusal.message)
            );
        }
    }
    timings.plan = started.elapsed();
    if plan.is_blocked() {
        let reasons: Vec<&str> = plan.refusals.iter().map(|r| r.message.as_str()).collect();
        store
            .record_attempt(
                &source.name,
                None,
                Some(&format!(
                    "the spec file was deleted; plan refused: {}",
                    reasons.join("; ")
                )),
            )
            .await?;
        return Ok((
            Outcome::Refused {
                plan: Box::new(plan),
            },
            timings,
        ));
    }
    if plan.is_empty() {
        return Ok((
            Outcome::Planned {
                plan: Box::new(plan),
            },
            timings,
        ));
    }
    if store.source(&source.name).await?.is_some_and(|r| r.paused) {
        store
            .record_pending(&source.name, Some(&plan.counts))
            .await?;
        return Ok((
            Outcome::Paused {
                plan: Box::new(plan),
            },
            timings,
        ));
    }
    let revision = store
        .apply(&plan, SpecBlob { hash, bytes: b"" }, hash, applied_by, None)
        .await?;
    Ok((
        Outcome::Applied {
            plan: Box::new(plan),
            revision,
        },
        timings,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A conversion's own thread hands its result back; one that panics is an
    /// error the caller reports, not a hung reconcile or a lost daemon.
    #[tokio::test]
    async fn work_on_its_own_thread_returns_or_fails_as_an_error() {
        let name = on_own_thread(|| std::thread::current().name().map(str::to_string))
            .await
            .expect("a result");
        assert_eq!(name.as_deref(), Some("actionsync-convert"));
        let failed = on_own_thread(|| -> usize { panic!("a converter bug") }).await;
        assert!(
            matches!(&failed, Err(SyncError::Internal(m)) if m.contains("panicked")),
            "{failed:?}"
        );
    }
}
