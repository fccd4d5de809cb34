//! A reconcile killed with SIGKILL at any moment leaves the catalogue exactly at
//! the old revision or the new one, never between: the apply is one transaction.
//! The real binary applies a 2,000-operation spec and is killed at moments spread
//! over its run (calibrated on an uninterrupted run, and packed near its end,
//! where the apply is); after each kill the catalogue is read and checked. On SQLite and,
//! when `ACTIONSYNC_TEST_POSTGRES` is set, PostgreSQL.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use actionsync::action::ActionState;
use actionsync::store::{self, ActionQuery, Store};

const OPERATIONS: usize = 2000;

/// A spec whose every description ends with `version`.
fn spec(version: &str) -> String {
    let mut out = String::from(
        "openapi: 3.0.3\ninfo: {title: Crash, version: '1'}\nservers: [{url: 'https://api.example.com'}]\npaths:\n",
    );
    for i in 0..OPERATIONS {
        out.push_str(&format!(
            "  /items{i}/{{id}}:\n    get:\n      operationId: getItem{i}\n      summary: Look up item {i} of the warehouse, {version}\n      parameters: [{{name: id, in: path, required: true, schema: {{type: string}}}}]\n      responses: {{'200': {{description: ok}}}}\n"
        ));
    }
    out
}

/// Which version every action of the catalogue is at; panics if they disagree.
async fn catalogue_version(database: &str, dir: &Path) -> Option<String> {
    let store = store::open(database, dir)
        .await
        .expect("open the catalogue after a kill");
    let actions = store
        .actions(&ActionQuery::default())
        .await
        .expect("read actions");
    if actions.is_empty() {
        return None;
    }
    let versions: std::collections::BTreeSet<String> = actions
        .iter()
        .map(|a| {
            a.spec
                .description
                .rsplit(", ")
                .next()
                .unwrap_or("")
                .to_string()
        })
        .collect();
    assert_eq!(
        versions.len(),
        1,
        "a mix of versions after a kill: {versions:?}"
    );
    assert_eq!(actions.len(), OPERATIONS, "every action or none");
    assert!(actions.iter().all(|a| a.state == ActionState::Active));
    let record = store.source("crash").await.unwrap().expect("the source");
    let revisions = store.revisions("crash").await.unwrap();
    assert_eq!(
        revisions.first().map(|r| r.number).unwrap_or(0),
        record.last_revision,
        "the source's revision is the last recorded one"
    );
    versions.into_iter().next()
}

async fn kill_during_applies(database: &str) {
    let dir = tempfile::tempdir().unwrap();
    let spec_path = dir.path().join("crash.yaml");
    let binary = env!("CARGO_BIN_EXE_actionsync");
    let run = |wait: Option<Duration>| {
        let mut child = Command::new(binary)
            .args(["reconcile", "--database", database, "--force"])
            .arg(&spec_path)
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start actionsync");
        match wait {
            Some(delay) => {
                std::thread::sleep(delay);
                let _ = child.kill(); // SIGKILL
                let _ = child.wait();
            }
            None => {
                let status = child.wait().expect("wait");
                assert!(status.success(), "an uninterrupted reconcile succeeds");
            }
        }
    };

    std::fs::write(&spec_path, spec("version 0")).unwrap();
    run(None);
    let mut at = catalogue_version(database, dir.path()).await;
    assert_eq!(at.as_deref(), Some("version 0"));

    // How long one reconcile of a changed spec takes here, uninterrupted: the
    // apply is its last part, so kills are spread over the run and packed near
    // its end.
    std::fs::write(&spec_path, spec("version calibration")).unwrap();
    let started = std::time::Instant::now();
    run(None);
    let full = started.elapsed();
    at = catalogue_version(database, dir.path()).await;
    assert_eq!(at.as_deref(), Some("version calibration"));

    let mut outcomes = Vec::new();
    let fractions = [
        0.0, 0.3, 0.6, 0.75, 0.82, 0.88, 0.92, 0.95, 0.97, 0.99, 1.02, 1.1,
    ];
    for (i, fraction) in fractions.into_iter().enumerate() {
        let version = format!("version {}", i + 1);
        std::fs::write(&spec_path, spec(&version)).unwrap();
        let delay = full.mul_f64(fraction).max(Duration::from_millis(1));
        run(Some(delay));
        let now = catalogue_version(database, dir.path()).await;
        assert!(
            now == at || now.as_deref() == Some(version.as_str()),
            "after a kill at {delay:?}: {now:?}, expected {at:?} or {version}"
        );
        outcomes.push((delay.as_millis(), if now == at { "old" } else { "new" }));
        at = now;
    }
    let _ = writeln_stderr(&format!(
        "one reconcile takes {} ms; kill outcomes (ms, catalogue): {outcomes:?}",
        full.as_millis()
    ));
    assert_eq!(
        outcomes[0].1, "old",
        "a process killed after 1 ms cannot have applied"
    );
    // Finally, uninterrupted: the new version.
    std::fs::write(&spec_path, spec("version final")).unwrap();
    run(None);
    assert_eq!(
        catalogue_version(database, dir.path()).await.as_deref(),
        Some("version final")
    );
}

fn writeln_stderr(text: &str) -> std::io::Result<()> {
    use std::io::Write;
    writeln!(std::io::stderr(), "{text}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_survives_sigkill_mid_apply() {
    kill_during_applies("sqlite://catalogue.db").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_survives_sigkill_mid_apply() {
    let Some(url) = common::postgres_url().await else {
        return;
    };
    kill_during_applies(&url).await;
}
