//! What both backends share: the SQL (the same text serves SQLite and
//! PostgreSQL), row decoding, and the rules of a hand edit. `store_impl!`
//! implements [`Store`] for a backend that provides `pool` and `begin_write`.

use std::collections::BTreeSet;

use serde_json::Value;

use super::{AuditEntry, HandEdit, Result, StoreError};
use crate::action::StoredAction;

/// Columns of an action row, in the order `decode_action` reads them.
pub const ACTION_COLUMNS: &str =
    "id, source, key, name, state, spec, hand, hand_set, version, created_at, updated_at";

/// A JSON column's value, or `Corrupt` naming the column.
pub fn from_json<T: serde::de::DeserializeOwned>(column: &str, text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
}

/// JSON text of a value that always serialises.
pub fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_string())
}

/// zstd's level for what an apply compresses: the fastest of its standard
/// levels, about 2 GB/s on a spec's JSON for a tenth to a thirtieth of its size.
const ZSTD_LEVEL: i32 = 1;

/// `bytes` as one zstd frame (with their length in its header), as
/// `specs.body` and `revisions.plan_zstd` keep them.
pub fn compress(bytes: &[u8]) -> Result<Vec<u8>> {
    zstd::bulk::compress(bytes, ZSTD_LEVEL)
        .map_err(|e| StoreError::Invalid(format!("cannot compress the spec: {e}")))
}

/// A compressor that takes text as it is written (the revision's plan).
pub fn compressor() -> Result<zstd::stream::write::Encoder<'static, Vec<u8>>> {
    zstd::stream::write::Encoder::new(Vec::new(), ZSTD_LEVEL)
        .map_err(|e| StoreError::Invalid(format!("cannot compress the plan: {e}")))
}

/// The most a revision's compressed plan may hold when read back: a plan of
/// Microsoft Graph's 11,000 actions is about 40 MB.
pub const MAX_PLAN_BYTES: usize = 1 << 30;

/// The bytes of the zstd frame read from `column`, at most `limit` of them;
/// `Corrupt` naming the column if it is not a frame or holds more. The buffer
/// is sized from the length the frame's header gives, where it gives one (a
/// spec's does, a plan written as a stream does not), at most `limit`.
pub fn decompress(column: &str, frame: &[u8], limit: usize) -> Result<Vec<u8>> {
    use std::io::Read;
    let corrupt =
        |e: std::io::Error| StoreError::Corrupt(format!("{column}: not a zstd frame: {e}"));
    let decoder = zstd::stream::read::Decoder::with_buffer(frame).map_err(corrupt)?;
    let announced = zstd::zstd_safe::get_frame_content_size(frame)
        .ok()
        .flatten();
    let mut bytes = crate::source::buffer_for(announced, limit);
    decoder
        .take(limit as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(corrupt)?;
    if bytes.len() > limit {
        return Err(StoreError::Corrupt(format!(
            "{column}: holds more than {limit} bytes"
        )));
    }
    Ok(bytes)
}

/// At most this many rows in one multi-row statement (an `INSERT` of new actions,
/// an `IN` list of ids), whatever the backend's limit of bind parameters: one
/// statement stays a few megabytes.
pub const MAX_ROWS: usize = 1000;

/// Whether a database error is a unique-constraint violation.
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .is_some_and(|d| d.is_unique_violation())
}

/// Applies a hand edit to an action's hand-owned fields. Returns the new fields,
/// the set of fields a person has now set, the audit entries (without times),
/// and the name in effect afterwards.
pub fn edit_hand_fields(
    action: &StoredAction,
    edit: &HandEdit,
    actor: &str,
) -> Result<(
    crate::action::HandFields,
    Vec<String>,
    Vec<AuditEntry>,
    String,
)> {
    let mut hand = action.hand.clone();
    let mut set: BTreeSet<String> = action.hand_set.iter().cloned().collect();
    let mut audit = Vec::new();
    let version = action.version + 1;
    // `field` names the audit entry (`pin:description`); the part before `:` the
    // hand-owned field a person has now set (`pin` → `pins`).
    let mut record = |field: &str, old: Value, new: Value, set: &mut BTreeSet<String>| {
        if old != new {
            audit.push(AuditEntry {
                action_id: action.id,
                at: 0,
                actor: actor.to_string(),
                field: field.to_string(),
                old,
                new,
                version,
            });
        }
        let owner = match field.split(':').next().unwrap_or(field) {
            "pin" => "pins",
            other => other,
        };
        set.insert(owner.to_string());
    };
    if let Some(segments) = &edit.segments {
        let new: Vec<String> = segments
            .iter()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        record(
            "segments",
            to_value(&hand.segments),
            to_value(&new),
            &mut set,
        );
        hand.segments = new;
    }
    if let Some(channels) = &edit.channels {
        let mut new = channels.clone();
        new.sort();
        new.dedup();
        record(
            "channels",
            to_value(&hand.channels),
            to_value(&new),
            &mut set,
        );
        hand.channels = new;
    }
    if edit.magic_fields.is_some() || !edit.remove_magic.is_empty() {
        let old = to_value(&hand.magic_fields);
        for field in &edit.remove_magic {
            if hand.magic_fields.remove(field).is_none() {
                return Err(StoreError::Invalid(format!(
                    "`{}` has no magic field `{field}`",
                    action.name()
                )));
            }
        }
        for (field, context) in edit.magic_fields.iter().flatten() {
            if context.trim().is_empty() {
                return Err(StoreError::Invalid(format!(
                    "the magic field `{field}` needs a context path, such as contact.email"
                )));
            }
            hand.magic_fields
                .insert(field.clone(), context.trim().to_string());
        }
        record("magic_fields", old, to_value(&hand.magic_fields), &mut set);
    }
    if let Some(b) = edit.require_confirmation {
        record(
            "require_confirmation",
            Value::Bool(hand.require_confirmation),
            Value::Bool(b),
            &mut set,
        );
        hand.require_confirmation = b;
    }
    if let Some(b) = edit.enabled {
        record(
            "enabled",
            Value::Bool(hand.enabled),
            Value::Bool(b),
            &mut set,
        );
        hand.enabled = b;
    }
    if let Some(b) = edit.pinned {
        record("pinned", Value::Bool(hand.pinned), Value::Bool(b), &mut set);
        hand.pinned = b;
    }
    if let Some(tags) = &edit.tags {
        let mut new: Vec<String> = tags
            .iter()
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .collect();
        new.dedup();
        record("tags", to_value(&hand.tags), to_value(&new), &mut set);
        hand.tags = new;
    }
    for field in &edit.unpin {
        let Some(old) = hand.pins.remove(field) else {
            return Err(StoreError::Invalid(format!(
                "`{}` has no pin on `{field}`",
                action.name()
            )));
        };
        record(&format!("pin:{field}"), old, Value::Null, &mut set);
    }
    for (field, value) in &edit.pins {
        check_pin(field, value)?;
        let old = hand.pins.get(field).cloned().unwrap_or(Value::Null);
        hand.pins.insert(field.clone(), value.clone());
        record(&format!("pin:{field}"), old, value.clone(), &mut set);
    }
    let name = hand
        .pins
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or(&action.spec.name)
        .to_string();
    Ok((hand, set.into_iter().collect(), audit, name))
}

fn to_value<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// A pin must be a valid value of its field: see [`crate::convert::check_pin`].
fn check_pin(field: &str, value: &Value) -> Result<()> {
    crate::convert::check_pin(field, value).map_err(StoreError::Invalid)
}

/// Implements [`super::Store`] for a backend type with a `pool` field and an
/// `async fn begin_write(&self, lock: Option<&str>) -> Result<Transaction>`;
/// `$max_binds` is the backend's limit of bind parameters in one statement.
macro_rules! store_impl {
    ($backend:ty, $db:ty, $max_binds:expr) => {
        use std::collections::{HashMap, HashSet};

        use sqlx::Row as _;
        use $crate::action::{ActionState, HandFields, SpecFields, StoredAction};
        use $crate::plan::{self, Change, ChangeKind, Counts, NameOwner, Plan};
        use $crate::store::common::{self, ACTION_COLUMNS, from_json, to_json};
        use $crate::store::{
            ActionQuery, ActionSummary, AppliedBy, AuditEntry, ConsoleSession, HandEdit, NewToken, RefusalRecord, Result, Revision, SourceRecord,
            SpecBlob, Store, StoreError, TokenRecord, TokenScope, now_ms,
        };

        type Row = <$db as sqlx::Database>::Row;
        type Tx = sqlx::Transaction<'static, $db>;
        type Builder = sqlx::QueryBuilder<$db>;

        /// Rows per multi-row statement when each row takes `binds` parameters:
        /// under the backend's limit (a few kept for the statement's own), at most
        /// `MAX_ROWS`.
        fn rows_per_statement(binds: usize) -> usize {
            (($max_binds - 8) / binds).clamp(1, common::MAX_ROWS)
        }

        /// `id IN (…)` over these ids, as bind parameters.
        fn push_ids(q: &mut Builder, ids: &[i64]) {
            q.push(" id IN (");
            let mut list = q.separated(", ");
            for id in ids {
                list.push_bind(*id);
            }
            q.push(")");
        }

        fn decode_summary(row: &Row) -> Result<ActionSummary> {
            let state: String = row.try_get("state")?;
            Ok(ActionSummary {
                id: row.try_get("id")?,
                key: row.try_get("key")?,
                name: row.try_get("name")?,
                state: ActionState::parse(&state)
                    .ok_or_else(|| StoreError::Corrupt(format!("state `{state}`")))?,
                hand: from_json("hand", &row.try_get::<String, _>("hand")?)?,
                spec_digest: row.try_get("spec_digest")?,
            })
        }

        /// The plan's base revision is no longer the source's: another apply got in first.
        fn conflict(plan: &Plan, current: i64) -> StoreError {
            StoreError::Conflict { source_name: plan.source.clone(), current, planned: plan.base_revision }
        }

        /// The source's revision, which must be the plan's base.
        async fn check_base(tx: &mut Tx, plan: &Plan) -> Result<i64> {
            let current: Option<i64> = sqlx::query_scalar("SELECT last_revision FROM sources WHERE name = $1")
                .bind(&plan.source)
                .fetch_optional(&mut **tx)
                .await?;
            let Some(current) = current else {
                return Err(StoreError::NotFound(format!("no source `{}` in the catalogue", plan.source)));
            };
            if current != plan.base_revision {
                return Err(conflict(plan, current));
            }
            Ok(current)
        }

        /// Keeps the spec's bytes, once per hash.
        /// `body` is `spec`'s bytes compressed (`common::compress`).
        async fn store_spec(tx: &mut Tx, spec: SpecBlob<'_>, body: &[u8], now: i64) -> Result<()> {
            sqlx::query(
                "INSERT INTO specs (hash, body, size, encoding, created_at) VALUES ($1, $2, $3, 'zstd', $4) ON CONFLICT (hash) DO NOTHING",
            )
            .bind(spec.hash)
            .bind(body)
            .bind(spec.bytes.len() as i64)
            .bind(now)
            .execute(&mut **tx)
            .await?;
            Ok(())
        }

        /// Archives the actions (deletes them, with `delete`), many per statement.
        /// False if one of them is no longer the source's.
        async fn remove_actions(tx: &mut Tx, source: &str, ids: &[i64], delete: bool, now: i64) -> Result<bool> {
            for chunk in ids.chunks(rows_per_statement(1)) {
                let mut q = if delete {
                    Builder::new("DELETE FROM actions WHERE source = ")
                } else {
                    let mut q = Builder::new("UPDATE actions SET state = 'archived', version = version + 1, updated_at = ");
                    q.push_bind(now).push(" WHERE source = ");
                    q
                };
                q.push_bind(source).push(" AND");
                push_ids(&mut q, chunk);
                let done = q.build().execute(&mut **tx).await?;
                if done.rows_affected() != chunk.len() as u64 {
                    return Ok(false);
                }
            }
            Ok(true)
        }

        /// Parks the names of the actions about to be updated (`~id`), so two of
        /// them may swap names.
        async fn park_names(tx: &mut Tx, ids: &[i64]) -> Result<()> {
            for chunk in ids.chunks(rows_per_statement(1)) {
                let mut q = Builder::new("UPDATE actions SET name = '~' || CAST(id AS TEXT) WHERE");
                push_ids(&mut q, chunk);
                q.build().execute(&mut **tx).await?;
            }
            Ok(())
        }

        /// The hand-owned fields and row version of actions, by id.
        async fn hands(tx: &mut Tx, ids: &[i64]) -> Result<HashMap<i64, (HandFields, i64)>> {
            let mut hands = HashMap::with_capacity(ids.len());
            for chunk in ids.chunks(rows_per_statement(1)) {
                let mut q = Builder::new("SELECT id, hand, version FROM actions WHERE");
                push_ids(&mut q, chunk);
                for row in q.build().fetch_all(&mut **tx).await? {
                    let hand: HandFields = from_json("hand", &row.try_get::<String, _>("hand")?)?;
                    hands.insert(row.try_get("id")?, (hand, row.try_get("version")?));
                }
            }
            Ok(hands)
        }

        /// Writes an update's spec-owned fields under the name in effect, and
        /// returns that name; `None` if the action is gone or kept changing. The
        /// write names the version its hand-owned fields were read at, so a hand
        /// edit committed in between (Postgres reads do not lock) is read again,
        /// never overwritten; a pin set since the plan was made still wins.
        async fn update_action(
            tx: &mut Tx,
            change: &Change,
            spec: &SpecFields,
            mut read: Option<(HandFields, i64)>,
            now: i64,
        ) -> Result<Option<String>> {
            let id = change.id.unwrap_or_default();
            let (json, digest) = plan::stored_spec(spec);
            for _ in 0..8 {
                let (hand, version) = match read.take() {
                    Some(read) => read,
                    None => match hands(tx, &[id]).await?.remove(&id) {
                        Some(read) => read,
                        None => return Ok(None),
                    },
                };
                // A name pinned since the plan was made wins; else the plan's (the
                // spec's, or the prefixed one that resolved a clash).
                let name = hand.pins.get("name").and_then(|v| v.as_str()).unwrap_or(&change.name).to_string();
                let done = sqlx::query(
                    "UPDATE actions SET key = $2, name = $3, state = 'active', method = $4, path = $5, spec = $6,
                     spec_digest = $7, version = version + 1, updated_at = $8 WHERE id = $1 AND version = $9",
                )
                .bind(id)
                .bind(&change.key)
                .bind(&name)
                .bind(&spec.operation.method)
                .bind(&spec.operation.path)
                .bind(&json)
                .bind(&digest)
                .bind(now)
                .bind(version)
                .execute(&mut **tx)
                .await
                .map_err(|e| name_conflict(e, &name))?;
                if done.rows_affected() == 1 {
                    return Ok(Some(name));
                }
            }
            Ok(None)
        }

        /// Inserts new actions, many per statement, and returns their ids by key
        /// (rows come back in no promised order). A name already taken is an
        /// error naming it.
        async fn insert_actions(
            tx: &mut Tx,
            source: &str,
            creates: &[(&Change, &SpecFields, &HandFields)],
            now: i64,
        ) -> Result<HashMap<String, i64>> {
            let mut ids = HashMap::with_capacity(creates.len());
            for chunk in creates.chunks(rows_per_statement(11)) {
                // A failed statement aborts a Postgres transaction: the savepoint
                // lets `taken_name` ask which name it was.
                sqlx::query("SAVEPOINT insert_actions").execute(&mut **tx).await?;
                let mut q = Builder::new(
                    "INSERT INTO actions (source, key, name, state, method, path, spec, spec_digest, hand, pinned, hand_set, version, created_at, updated_at) ",
                );
                // Each action's stored JSON and digest, written on every core.
                let stored: Vec<(String, Option<String>)> = {
                    use rayon::prelude::*;
                    chunk.par_iter().map(|(_, spec, _)| plan::stored_spec(spec)).collect()
                };
                q.push_values(chunk.iter().zip(stored), |mut row, ((change, spec, hand), (json, digest))| {
                    row.push_bind(source)
                        .push_bind(&change.key)
                        .push_bind(&change.name)
                        .push("'active'")
                        .push_bind(&spec.operation.method)
                        .push_bind(&spec.operation.path)
                        .push_bind(json)
                        .push_bind(digest)
                        .push_bind(to_json(hand))
                        .push_bind(i64::from(hand.pinned))
                        .push("'[]'")
                        .push("1")
                        .push_bind(now)
                        .push_bind(now);
                });
                q.push(" RETURNING id, key");
                let rows = match q.build().fetch_all(&mut **tx).await {
                    Ok(rows) => rows,
                    Err(e) if common::is_unique_violation(&e) => {
                        sqlx::query("ROLLBACK TO SAVEPOINT insert_actions").execute(&mut **tx).await?;
                        return Err(taken_name(tx, chunk, e).await);
                    }
                    Err(e) => return Err(e.into()),
                };
                sqlx::query("RELEASE SAVEPOINT insert_actions").execute(&mut **tx).await?;
                for row in rows {
                    ids.insert(row.try_get("key")?, row.try_get("id")?);
                }
            }
            Ok(ids)
        }

        /// Which name of these new actions made their insert fail: the first one
        /// an active action already has, or that two of them share.
        async fn taken_name(tx: &mut Tx, chunk: &[(&Change, &SpecFields, &HandFields)], e: sqlx::Error) -> StoreError {
            let mut q = Builder::new("SELECT name FROM actions WHERE state = 'active' AND name IN (");
            let mut list = q.separated(", ");
            for (change, _, _) in chunk {
                list.push_bind(&change.name);
            }
            q.push(")");
            let taken: HashSet<String> = match q.build_query_scalar::<String>().fetch_all(&mut **tx).await {
                Ok(names) => names.into_iter().collect(),
                Err(other) => return StoreError::Database(other),
            };
            let mut seen = HashSet::new();
            for (change, _, _) in chunk {
                if taken.contains(&change.name) || !seen.insert(change.name.as_str()) {
                    return StoreError::NameTaken(change.name.clone());
                }
            }
            StoreError::Database(e)
        }

        fn decode_action(row: &Row) -> Result<StoredAction> {
            let state: String = row.try_get("state")?;
            Ok(StoredAction {
                id: row.try_get("id")?,
                source: row.try_get("source")?,
                key: row.try_get("key")?,
                name: row.try_get("name")?,
                state: ActionState::parse(&state)
                    .ok_or_else(|| StoreError::Corrupt(format!("state `{state}`")))?,
                spec: from_json("spec", &row.try_get::<String, _>("spec")?)?,
                hand: from_json("hand", &row.try_get::<String, _>("hand")?)?,
                hand_set: from_json("hand_set", &row.try_get::<String, _>("hand_set")?)?,
                version: row.try_get("version")?,
                created_at: row.try_get("created_at")?,
                updated_at: row.try_get("updated_at")?,
            })
        }

        fn decode_source(row: &Row) -> Result<SourceRecord> {
            Ok(SourceRecord {
                name: row.try_get("name")?,
                kind: row.try_get("kind")?,
                location: row.try_get("location")?,
                input_hash: row.try_get("input_hash")?,
                etag: row.try_get("etag")?,
                last_modified: row.try_get("last_modified")?,
                last_revision: row.try_get("last_revision")?,
                last_error: row.try_get("last_error")?,
                last_error_at: row.try_get("last_error_at")?,
                last_success_at: row.try_get("last_success_at")?,
                paused: row.try_get::<i64, _>("paused")? != 0,
                pending: row
                    .try_get::<Option<String>, _>("pending")?
                    .map(|text| from_json::<Counts>("pending", &text))
                    .transpose()?,
            })
        }

        fn decode_revision(row: &Row, with_plan: bool) -> Result<Revision> {
            let plan = if !with_plan {
                None
            } else if let Some(frame) = row.try_get::<Option<Vec<u8>>, _>("plan_zstd")? {
                let json = common::decompress("plan_zstd", &frame, common::MAX_PLAN_BYTES)?;
                Some(serde_json::from_slice::<Plan>(&json).map_err(|e| StoreError::Corrupt(format!("plan_zstd: {e}")))?)
            } else {
                Some(from_json::<Plan>("plan", &row.try_get::<String, _>("plan")?)?)
            };
            Ok(Revision {
                source: row.try_get("source")?,
                number: row.try_get("number")?,
                spec_hash: row.try_get("spec_hash")?,
                applied_by: row.try_get("applied_by")?,
                actor: row.try_get("actor")?,
                applied_at: row.try_get("applied_at")?,
                counts: from_json::<Counts>("counts", &row.try_get::<String, _>("counts")?)?,
                plan,
            })
        }

        /// A unique violation on the name index, said in words.
        fn name_conflict(e: sqlx::Error, name: &str) -> StoreError {
            if common::is_unique_violation(&e) {
                StoreError::NameTaken(name.to_string())
            } else {
                StoreError::Database(e)
            }
        }

        /// Every change to actions bumps the catalogue's generation, in its transaction.
        async fn bump_generation(tx: &mut sqlx::Transaction<'static, $db>) -> Result<()> {
            sqlx::query("UPDATE catalogue_generation SET generation = generation + 1 WHERE id = 1")
                .execute(&mut **tx)
                .await?;
            Ok(())
        }

        fn decode_token(row: &Row) -> Result<TokenRecord> {
            let scope: String = row.try_get("scope")?;
            Ok(TokenRecord {
                id: row.try_get("id")?,
                name: row.try_get("name")?,
                scope: TokenScope::parse(&scope).ok_or_else(|| StoreError::Corrupt(format!("token scope `{scope}`")))?,
                sources: from_json("sources", &row.try_get::<String, _>("sources")?)?,
                created_at: row.try_get("created_at")?,
                revoked_at: row.try_get("revoked_at")?,
            })
        }

        impl Store for $backend {
            async fn create_token(&self, token: &NewToken) -> Result<TokenRecord> {
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO tokens (name, hash, scope, sources, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
                )
                .bind(&token.name)
                .bind(&token.hash)
                .bind(token.scope.as_str())
                .bind(to_json(&token.sources))
                .bind(now_ms())
                .fetch_one(&self.pool)
                .await?;
                let row = sqlx::query("SELECT id, name, scope, sources, created_at, revoked_at FROM tokens WHERE id = $1")
                    .bind(id)
                    .fetch_one(&self.pool)
                    .await?;
                decode_token(&row)
            }

            async fn token_by_hash(&self, hash: &str) -> Result<Option<TokenRecord>> {
                let row = sqlx::query(
                    "SELECT id, name, scope, sources, created_at, revoked_at FROM tokens WHERE hash = $1 AND revoked_at IS NULL",
                )
                .bind(hash)
                .fetch_optional(&self.pool)
                .await?;
                row.as_ref().map(decode_token).transpose()
            }

            async fn token_and_generation(&self, hash: &str) -> Result<(Option<TokenRecord>, i64)> {
                let row = sqlx::query(
                    "SELECT g.generation, t.id, t.name, t.scope, t.sources, t.created_at, t.revoked_at
                     FROM catalogue_generation g LEFT JOIN tokens t ON t.hash = $1 AND t.revoked_at IS NULL
                     WHERE g.id = 1",
                )
                .bind(hash)
                .fetch_one(&self.pool)
                .await?;
                let generation: i64 = row.try_get("generation")?;
                let token = match row.try_get::<Option<i64>, _>("id")? {
                    Some(_) => Some(decode_token(&row)?),
                    None => None,
                };
                Ok((token, generation))
            }

            async fn tokens(&self) -> Result<Vec<TokenRecord>> {
                let rows = sqlx::query("SELECT id, name, scope, sources, created_at, revoked_at FROM tokens ORDER BY id")
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter().map(decode_token).collect()
            }

            async fn revoke_token(&self, id: i64) -> Result<bool> {
                let mut tx = self.pool.begin().await?;
                let done = sqlx::query("UPDATE tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
                    .bind(id)
                    .bind(now_ms())
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("DELETE FROM console_sessions WHERE token_id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(done.rows_affected() == 1)
            }

            async fn create_session(&self, hash: &str, token_id: i64, csrf: &str, expires_at: i64) -> Result<()> {
                let now = now_ms();
                let mut tx = self.pool.begin().await?;
                sqlx::query("DELETE FROM console_sessions WHERE expires_at <= $1")
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("INSERT INTO console_sessions (hash, token_id, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
                    .bind(hash)
                    .bind(token_id)
                    .bind(csrf)
                    .bind(now)
                    .bind(expires_at)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn session(&self, hash: &str, now: i64) -> Result<Option<ConsoleSession>> {
                let row = sqlx::query(
                    "SELECT s.csrf, s.expires_at, t.id, t.name, t.scope, t.sources, t.created_at, t.revoked_at
                     FROM console_sessions s JOIN tokens t ON t.id = s.token_id
                     WHERE s.hash = $1 AND s.expires_at > $2 AND t.revoked_at IS NULL",
                )
                .bind(hash)
                .bind(now)
                .fetch_optional(&self.pool)
                .await?;
                let Some(row) = row else { return Ok(None) };
                Ok(Some(ConsoleSession {
                    token: decode_token(&row)?,
                    csrf: row.try_get("csrf")?,
                    expires_at: row.try_get("expires_at")?,
                }))
            }

            async fn delete_session(&self, hash: &str) -> Result<bool> {
                let done = sqlx::query("DELETE FROM console_sessions WHERE hash = $1")
                    .bind(hash)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn generation(&self) -> Result<i64> {
                Ok(sqlx::query_scalar("SELECT generation FROM catalogue_generation WHERE id = 1")
                    .fetch_one(&self.pool)
                    .await?)
            }

            async fn sources(&self) -> Result<Vec<SourceRecord>> {
                let rows = sqlx::query("SELECT * FROM sources ORDER BY name").fetch_all(&self.pool).await?;
                rows.iter().map(decode_source).collect()
            }

            async fn source(&self, name: &str) -> Result<Option<SourceRecord>> {
                let row = sqlx::query("SELECT * FROM sources WHERE name = $1")
                    .bind(name)
                    .fetch_optional(&self.pool)
                    .await?;
                row.as_ref().map(decode_source).transpose()
            }

            async fn ensure_source(&self, name: &str, kind: &str, location: &str) -> Result<SourceRecord> {
                let now = now_ms();
                sqlx::query(
                    "INSERT INTO sources (name, kind, location, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)
                     ON CONFLICT (name) DO UPDATE SET kind = excluded.kind, location = excluded.location,
                     updated_at = CASE WHEN sources.kind = excluded.kind AND sources.location = excluded.location
                                       THEN sources.updated_at ELSE excluded.updated_at END",
                )
                .bind(name)
                .bind(kind)
                .bind(location)
                .bind(now)
                .execute(&self.pool)
                .await?;
                self.source(name)
                    .await?
                    .ok_or_else(|| StoreError::NotFound(format!("no source `{name}`")))
            }

            async fn record_attempt(&self, name: &str, input_hash: Option<&str>, error: Option<&str>) -> Result<()> {
                let now = now_ms();
                let query = match error {
                    None => sqlx::query(
                        "UPDATE sources SET input_hash = COALESCE($2, input_hash), last_error = NULL,
                         last_error_at = NULL, last_success_at = $3, updated_at = $3 WHERE name = $1",
                    )
                    .bind(name)
                    .bind(input_hash)
                    .bind(now),
                    Some(error) => sqlx::query(
                        "UPDATE sources SET last_error = $2, last_error_at = $3, updated_at = $3 WHERE name = $1",
                    )
                    .bind(name)
                    .bind(error)
                    .bind(now),
                };
                query.execute(&self.pool).await?;
                Ok(())
            }

            async fn set_paused(&self, name: &str, paused: bool) -> Result<Option<SourceRecord>> {
                // Resuming forgets the pending plan: the next reconcile applies it.
                sqlx::query(
                    "UPDATE sources SET paused = $2, pending = CASE WHEN $2 = 0 THEN NULL ELSE pending END,
                     updated_at = $3 WHERE name = $1",
                )
                .bind(name)
                .bind(i64::from(paused))
                .bind(now_ms())
                .execute(&self.pool)
                .await?;
                self.source(name).await
            }

            async fn record_pending(&self, name: &str, pending: Option<&Counts>) -> Result<()> {
                sqlx::query("UPDATE sources SET pending = $2 WHERE name = $1")
                    .bind(name)
                    .bind(pending.map(to_json))
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn record_validators(&self, name: &str, etag: Option<&str>, last_modified: Option<&str>) -> Result<()> {
                sqlx::query("UPDATE sources SET etag = $2, last_modified = $3 WHERE name = $1")
                    .bind(name)
                    .bind(etag)
                    .bind(last_modified)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn actions(&self, query: &ActionQuery) -> Result<Vec<StoredAction>> {
                // One SQL text per combination of filters; the parameters keep their order.
                // Pinned first: after the cursor means a lower `pinned`, or the same
                // and a greater id (no cursor row: from the top).
                let mut sql = if query.pinned_first {
                    format!(
                        "SELECT {ACTION_COLUMNS} FROM actions WHERE (pinned < COALESCE((SELECT pinned FROM actions WHERE id = $1), 1)
                         OR (pinned = COALESCE((SELECT pinned FROM actions WHERE id = $1), 1) AND id > $1))"
                    )
                } else {
                    format!("SELECT {ACTION_COLUMNS} FROM actions WHERE id > $1")
                };
                let mut n = 1;
                if query.source.is_some() {
                    n += 1;
                    sql.push_str(&format!(" AND source = ${n}"));
                }
                if query.state.is_some() {
                    n += 1;
                    sql.push_str(&format!(" AND state = ${n}"));
                }
                sql.push_str(if query.pinned_first { " ORDER BY pinned DESC, id" } else { " ORDER BY id" });
                if query.limit.is_some() {
                    n += 1;
                    sql.push_str(&format!(" LIMIT ${n}"));
                }
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(query.after.unwrap_or(i64::MIN));
                if let Some(source) = &query.source {
                    q = q.bind(source.clone());
                }
                if let Some(state) = query.state {
                    q = q.bind(state.as_str());
                }
                if let Some(limit) = query.limit {
                    q = q.bind(limit.max(0));
                }
                let rows = q.fetch_all(&self.pool).await?;
                rows.iter().map(decode_action).collect()
            }

            async fn action(&self, id: i64) -> Result<Option<StoredAction>> {
                let row = sqlx::query(
                    "SELECT id, source, key, name, state, spec, hand, hand_set, version, created_at, updated_at FROM actions WHERE id = $1",
                )
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
                row.as_ref().map(decode_action).transpose()
            }

            async fn action_by_name(&self, name: &str) -> Result<Option<StoredAction>> {
                let row = sqlx::query(
                    "SELECT id, source, key, name, state, spec, hand, hand_set, version, created_at, updated_at FROM actions
                     WHERE name = $1 ORDER BY CASE WHEN state = 'active' THEN 0 ELSE 1 END, id DESC LIMIT 1",
                )
                .bind(name)
                .fetch_optional(&self.pool)
                .await?;
                row.as_ref().map(decode_action).transpose()
            }

            async fn action_summaries(&self, source: &str) -> Result<Vec<ActionSummary>> {
                let rows = sqlx::query(
                    "SELECT id, key, name, state, hand, spec_digest FROM actions WHERE source = $1 ORDER BY id",
                )
                .bind(source)
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(decode_summary).collect()
            }

            async fn action_specs(&self, source: &str, ids: &[i64]) -> Result<Vec<(i64, SpecFields)>> {
                let mut specs = Vec::with_capacity(ids.len());
                for chunk in ids.chunks(rows_per_statement(1)) {
                    let mut q = Builder::new("SELECT id, spec FROM actions WHERE source = ");
                    q.push_bind(source).push(" AND");
                    push_ids(&mut q, chunk);
                    q.push(" ORDER BY id");
                    for row in q.build().fetch_all(&self.pool).await? {
                        let spec: SpecFields = from_json("spec", &row.try_get::<String, _>("spec")?)?;
                        specs.push((row.try_get("id")?, spec));
                    }
                }
                Ok(specs)
            }

            async fn name_owners(&self, except: &str, names: &[&str]) -> Result<Vec<NameOwner>> {
                let mut owners = Vec::new();
                for chunk in names.chunks(rows_per_statement(1)) {
                    let mut q = Builder::new("SELECT name, source, key FROM actions WHERE state = 'active' AND source <> ");
                    q.push_bind(except).push(" AND name IN (");
                    let mut list = q.separated(", ");
                    for name in chunk {
                        list.push_bind(*name);
                    }
                    q.push(")");
                    for row in q.build().fetch_all(&self.pool).await? {
                        owners.push(NameOwner {
                            name: row.try_get("name")?,
                            source: row.try_get("source")?,
                            key: row.try_get("key")?,
                        });
                    }
                }
                owners.sort_by(|a, b| a.name.cmp(&b.name));
                Ok(owners)
            }

            async fn apply(&self, plan: &Plan, spec: SpecBlob<'_>, input_hash: &str, applied_by: AppliedBy, actor: Option<&str>) -> Result<i64> {
                if plan.is_blocked() {
                    let reasons: Vec<&str> = plan.refusals.iter().map(|r| r.message.as_str()).collect();
                    return Err(StoreError::Invalid(format!(
                        "the plan for source `{}` is refused: {}",
                        plan.source,
                        reasons.join("; ")
                    )));
                }
                // Compressed before the source's lock is taken.
                let body = common::compress(spec.bytes)?;
                let mut tx = self.begin_write(Some(&plan.source)).await?;
                let current = check_base(&mut tx, plan).await?;
                let now = now_ms();
                store_spec(&mut tx, spec, &body, now).await?;

                // What the revision records beside the plan: each change's id (the
                // new actions') and the name in effect where a pin won.
                let mut applied_ids: Vec<Option<i64>> = plan.changes.iter().map(|c| c.id).collect();
                let mut applied_names: Vec<Option<String>> = vec![None; plan.changes.len()];
                // Removals first, so their names are free; then names that change are
                // parked, so two actions may swap names; then updates, then creations.
                for delete in [false, true] {
                    let kind = if delete { ChangeKind::Delete } else { ChangeKind::Archive };
                    let ids: Vec<i64> = plan.changes.iter().filter(|c| c.kind == kind).map(|c| c.id.unwrap_or_default()).collect();
                    if !remove_actions(&mut tx, &plan.source, &ids, delete, now).await? {
                        return Err(conflict(plan, current));
                    }
                }
                let updates: Vec<usize> = (0..plan.changes.len())
                    .filter(|&i| matches!(plan.changes[i].kind, ChangeKind::Update | ChangeKind::Restore))
                    .collect();
                let update_ids: Vec<i64> = updates.iter().map(|&i| plan.changes[i].id.unwrap_or_default()).collect();
                park_names(&mut tx, &update_ids).await?;
                let mut read = hands(&mut tx, &update_ids).await?;
                for (&i, id) in updates.iter().zip(&update_ids) {
                    let change = &plan.changes[i];
                    let Some(new_spec) = &change.spec else { continue };
                    let Some(read) = read.remove(id) else {
                        return Err(conflict(plan, current));
                    };
                    let Some(name) = update_action(&mut tx, change, new_spec, Some(read), now).await? else {
                        return Err(conflict(plan, current));
                    };
                    applied_names[i] = Some(name);
                }
                let creates: Vec<(&Change, &SpecFields, &HandFields)> = plan
                    .changes
                    .iter()
                    .filter(|c| c.kind == ChangeKind::Create)
                    .filter_map(|c| Some((c, c.spec.as_ref()?, c.hand.as_ref()?)))
                    .collect();
                let mut created = insert_actions(&mut tx, &plan.source, &creates, now).await?;
                for (i, change) in plan.changes.iter().enumerate().filter(|(_, c)| c.kind == ChangeKind::Create && c.spec.is_some() && c.hand.is_some()) {
                    let Some(id) = created.remove(&change.key) else {
                        return Err(StoreError::Corrupt(format!("no id came back for the new action `{}`", change.key)));
                    };
                    applied_ids[i] = Some(id);
                }

                let number = current + 1;
                bump_generation(&mut tx).await?;
                let mut applied = common::compressor()?;
                plan::write_applied(&mut applied, plan, &applied_ids, &applied_names)
                    .map_err(|e| StoreError::Invalid(format!("cannot record the plan: {e}")))?;
                let applied = applied
                    .finish()
                    .map_err(|e| StoreError::Invalid(format!("cannot compress the plan: {e}")))?;
                sqlx::query(
                    "INSERT INTO revisions (source, number, spec_hash, applied_by, applied_at, counts, plan, plan_zstd, actor)
                     VALUES ($1, $2, $3, $4, $5, $6, '', $7, $8)",
                )
                .bind(&plan.source)
                .bind(number)
                .bind(spec.hash)
                .bind(applied_by.as_str())
                .bind(now)
                .bind(to_json(&plan.counts))
                .bind(applied)
                .bind(actor)
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "UPDATE sources SET last_revision = $2, input_hash = $3, last_error = NULL, last_error_at = NULL,
                     last_success_at = $4, updated_at = $4, pending = NULL WHERE name = $1",
                )
                .bind(&plan.source)
                .bind(number)
                .bind(input_hash)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(number)
            }

            async fn edit_hand(&self, id: i64, expected_version: Option<i64>, edit: &HandEdit, actor: &str) -> Result<StoredAction> {
                let mut tx = self.begin_write(None).await?;
                let row = sqlx::query(
                    "SELECT id, source, key, name, state, spec, hand, hand_set, version, created_at, updated_at FROM actions WHERE id = $1",
                )
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
                let Some(row) = row else {
                    return Err(StoreError::NotFound(format!("no action with id {id}")));
                };
                let action = decode_action(&row)?;
                if let Some(expected) = expected_version
                    && expected != action.version
                {
                    return Err(StoreError::Stale { id, expected, current: action.version });
                }
                let (hand, hand_set, audit, name) = common::edit_hand_fields(&action, edit, actor)?;
                let now = now_ms();
                let done = sqlx::query(
                    "UPDATE actions SET hand = $2, hand_set = $3, name = $4, version = version + 1, updated_at = $5,
                     pinned = $7 WHERE id = $1 AND version = $6",
                )
                .bind(id)
                .bind(to_json(&hand))
                .bind(to_json(&hand_set))
                .bind(&name)
                .bind(now)
                .bind(action.version)
                .bind(i64::from(hand.pinned))
                .execute(&mut *tx)
                .await
                .map_err(|e| name_conflict(e, &name))?;
                if done.rows_affected() != 1 {
                    // Changed between the read and the write (Postgres reads do not
                    // lock): say which version it is at now.
                    let current: Option<i64> = sqlx::query_scalar("SELECT version FROM actions WHERE id = $1")
                        .bind(id)
                        .fetch_optional(&mut *tx)
                        .await?;
                    let Some(current) = current else {
                        return Err(StoreError::NotFound(format!("no action with id {id}")));
                    };
                    return Err(StoreError::Stale { id, expected: expected_version.unwrap_or(action.version), current });
                }
                bump_generation(&mut tx).await?;
                for entry in &audit {
                    sqlx::query(
                        "INSERT INTO audit (action_id, at, actor, field, old, new, version) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    )
                    .bind(id)
                    .bind(now)
                    .bind(&entry.actor)
                    .bind(&entry.field)
                    .bind(to_json(&entry.old))
                    .bind(to_json(&entry.new))
                    .bind(entry.version)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                self.action(id)
                    .await?
                    .ok_or_else(|| StoreError::NotFound(format!("no action with id {id}")))
            }

            async fn record_refusal(
                &self,
                source: &str,
                spec_hash: &str,
                reasons: &[String],
                by: AppliedBy,
                actor: Option<&str>,
            ) -> Result<()> {
                let now = now_ms();
                let reasons = to_json(&reasons);
                let mut tx = self.begin_write(Some(source)).await?;
                let last = sqlx::query(
                    "SELECT id, spec_hash, reasons FROM refusals WHERE source = $1 ORDER BY last_at DESC, id DESC LIMIT 1",
                )
                .bind(source)
                .fetch_optional(&mut *tx)
                .await?;
                let repeat = match &last {
                    Some(row) => {
                        row.try_get::<String, _>("spec_hash")? == spec_hash
                            && row.try_get::<String, _>("reasons")? == reasons
                    }
                    None => false,
                };
                match last {
                    Some(row) if repeat => {
                        sqlx::query("UPDATE refusals SET times = times + 1, last_at = $2 WHERE id = $1")
                            .bind(row.try_get::<i64, _>("id")?)
                            .bind(now)
                            .execute(&mut *tx)
                            .await?;
                    }
                    _ => {
                        sqlx::query(
                            "INSERT INTO refusals (source, spec_hash, reasons, refused_by, actor, first_at, last_at, times)
                             VALUES ($1, $2, $3, $4, $5, $6, $6, 1)",
                        )
                        .bind(source)
                        .bind(spec_hash)
                        .bind(&reasons)
                        .bind(by.as_str())
                        .bind(actor)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                    }
                }
                tx.commit().await?;
                Ok(())
            }

            async fn refusals(&self, source: &str) -> Result<Vec<RefusalRecord>> {
                let rows = sqlx::query(
                    "SELECT source, spec_hash, reasons, refused_by, actor, first_at, last_at, times FROM refusals
                     WHERE source = $1 ORDER BY last_at DESC, id DESC",
                )
                .bind(source)
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        Ok(RefusalRecord {
                            source: r.try_get("source")?,
                            spec_hash: r.try_get("spec_hash")?,
                            reasons: from_json("reasons", &r.try_get::<String, _>("reasons")?)?,
                            refused_by: r.try_get("refused_by")?,
                            actor: r.try_get("actor")?,
                            first_at: r.try_get("first_at")?,
                            last_at: r.try_get("last_at")?,
                            times: r.try_get("times")?,
                        })
                    })
                    .collect()
            }

            async fn revisions(&self, source: &str) -> Result<Vec<Revision>> {
                let rows = sqlx::query(
                    "SELECT source, number, spec_hash, applied_by, actor, applied_at, counts FROM revisions WHERE source = $1 ORDER BY number DESC",
                )
                .bind(source)
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(|r| decode_revision(r, false)).collect()
            }

            async fn revision(&self, source: &str, number: i64) -> Result<Option<Revision>> {
                let row = sqlx::query(
                    "SELECT source, number, spec_hash, applied_by, actor, applied_at, counts, plan, plan_zstd FROM revisions WHERE source = $1 AND number = $2",
                )
                .bind(source)
                .bind(number)
                .fetch_optional(&self.pool)
                .await?;
                row.as_ref().map(|r| decode_revision(r, true)).transpose()
            }

            async fn spec_body(&self, hash: &str) -> Result<Option<Vec<u8>>> {
                let Some(row) = sqlx::query("SELECT body, size, encoding FROM specs WHERE hash = $1")
                    .bind(hash)
                    .fetch_optional(&self.pool)
                    .await?
                else {
                    return Ok(None);
                };
                let body: Vec<u8> = row.try_get("body")?;
                match row.try_get::<Option<String>, _>("encoding")?.as_deref() {
                    None => Ok(Some(body)),
                    Some("zstd") => {
                        let size: i64 = row.try_get("size")?;
                        let size = usize::try_from(size).map_err(|_| StoreError::Corrupt(format!("specs.size: {size}")))?;
                        let bytes = common::decompress("specs.body", &body, size)?;
                        if bytes.len() != size {
                            return Err(StoreError::Corrupt(format!(
                                "specs.body: {} bytes decompressed where specs.size says {size}",
                                bytes.len()
                            )));
                        }
                        Ok(Some(bytes))
                    }
                    Some(other) => Err(StoreError::Corrupt(format!("specs.encoding: `{other}` is not one this version reads"))),
                }
            }

            async fn audit(&self, action_id: i64) -> Result<Vec<AuditEntry>> {
                let rows = sqlx::query(
                    "SELECT action_id, at, actor, field, old, new, version FROM audit WHERE action_id = $1 ORDER BY id",
                )
                .bind(action_id)
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        Ok(AuditEntry {
                            action_id: r.try_get("action_id")?,
                            at: r.try_get("at")?,
                            actor: r.try_get("actor")?,
                            field: r.try_get("field")?,
                            old: from_json("old", &r.try_get::<String, _>("old")?)?,
                            new: from_json("new", &r.try_get::<String, _>("new")?)?,
                            version: r.try_get("version")?,
                        })
                    })
                    .collect()
            }
        }
    };
}

pub(crate) use store_impl;

/// The migrations, numbered from 1 in the order given: `(description, SQL)`.
pub fn migrator(scripts: &[(&'static str, &'static str)]) -> sqlx::migrate::Migrator {
    sqlx::migrate::Migrator::with_migrations(
        scripts
            .iter()
            .enumerate()
            .map(|(i, (description, sql))| {
                sqlx::migrate::Migration::new(
                    i as i64 + 1,
                    (*description).into(),
                    sqlx::migrate::MigrationType::Simple,
                    sqlx::SqlSafeStr::into_sql_str(*sql),
                    false,
                )
            })
            .collect(),
    )
}
