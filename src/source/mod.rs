//! Reading specs: the root document and every document it `$ref`s, from files, from
//! URLs (when allowed), or from bytes handed over directly (standard input, a push).
//! This is the only module that touches the file system or the network for specs.
//!
//! The reference policy lives here: a `$ref` may reach documents in the root's
//! folder (and below it); one that leaves the folder needs `allow_outside_refs`, one
//! that points at another site needs `allow_remote_refs`, and a spec read from bytes
//! may reference nothing outside itself.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use url::Url;

use crate::spec::{
    self, Document, ParseError, ParsedRoot, RawPaths, Spec, SpecError, Syntax, Unbuilt,
};

/// Where a spec comes from.
#[derive(Debug, Clone)]
pub enum SpecLocation {
    /// A file on disk.
    File(PathBuf),
    /// An http(s) URL.
    Url(Url),
    /// Bytes already in memory (standard input, a pushed spec); `name` is for messages.
    Bytes {
        /// How to name the spec in messages.
        name: String,
        /// The document.
        bytes: Vec<u8>,
    },
    /// A document's bytes as if read from `url` (a stored revision of a file or URL
    /// source): its references resolve against `url`, under the same policy.
    BytesAt {
        /// Where the document was.
        url: Url,
        /// The document.
        bytes: Vec<u8>,
    },
}

impl SpecLocation {
    /// A location from a command-line argument: `-` is standard input (read by the
    /// caller), `http(s)://…` a URL, anything else a file path.
    pub fn from_arg(arg: &str) -> SpecLocation {
        if (arg.starts_with("https://") || arg.starts_with("http://"))
            && let Ok(url) = Url::parse(arg)
        {
            return SpecLocation::Url(url);
        }
        SpecLocation::File(PathBuf::from(arg))
    }

    /// How to name it in messages.
    pub fn display(&self) -> String {
        match self {
            SpecLocation::File(p) => p.display().to_string(),
            SpecLocation::Url(u) => redact_url(u),
            SpecLocation::Bytes { name, .. } => name.clone(),
            SpecLocation::BytesAt { url, .. } => redact_url(url),
        }
    }

    /// How the catalogue records it: as [`Self::display`], but a file's path made
    /// absolute, so a source reads the same whichever folder it was reconciled
    /// from.
    pub fn stored(&self) -> String {
        match self {
            SpecLocation::File(p) => std::path::absolute(p)
                .unwrap_or_else(|_| p.clone())
                .display()
                .to_string(),
            other => other.display(),
        }
    }

    /// A default source name: the file stem (`orders` for `specs/orders.yaml`), with
    /// characters a source name may not have replaced by `-`.
    pub fn default_source_name(&self) -> String {
        let stem = match self {
            SpecLocation::File(p) => p.file_stem().map(|s| s.to_string_lossy().to_string()),
            SpecLocation::Url(u) => u
                .path_segments()
                .and_then(|mut s| s.next_back().map(str::to_string))
                .filter(|s| !s.is_empty())
                .map(|s| s.split('.').next().unwrap_or(&s).to_string()),
            SpecLocation::Bytes { name, .. } => Some(name.clone()),
            SpecLocation::BytesAt { url, .. } => url.path_segments().and_then(|mut s| {
                s.next_back()
                    .map(|s| s.split('.').next().unwrap_or(s).to_string())
            }),
        };
        let name: String = stem
            .unwrap_or_default()
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        let name = name.trim_matches(|c| matches!(c, '-' | '.')).to_string();
        if name.is_empty() {
            "spec".to_string()
        } else {
            name
        }
    }
}

/// What loading may do.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// Largest document, in bytes (each document of a multi-file spec counts alone).
    pub max_bytes: usize,
    /// Follow `$ref`s to other sites.
    pub allow_remote_refs: bool,
    /// Follow `$ref`s to files outside the root spec's folder.
    pub allow_outside_refs: bool,
    /// Time limit for each HTTP fetch.
    pub http_timeout: Duration,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            max_bytes: spec::DEFAULT_MAX_BYTES,
            allow_remote_refs: false,
            allow_outside_refs: false,
            http_timeout: Duration::from_secs(60),
        }
    }
}

/// Why the root document could not be read. Referenced documents never fail the
/// load; they fail only the operations that reach them.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file or URL could not be read.
    #[error("cannot read {location}: {reason}")]
    Read {
        /// The spec.
        location: String,
        /// Why.
        reason: String,
    },
    /// The document did not parse.
    #[error("cannot read {location}: {source}")]
    Parse {
        /// The spec.
        location: String,
        /// The parse error, with line and column.
        source: ParseError,
    },
    /// The document parsed, but is not an OpenAPI spec we read.
    #[error("cannot read {location}: {source}")]
    NotASpec {
        /// The spec.
        location: String,
        /// Why.
        source: SpecError,
    },
}

/// How long each phase of a load took, for `--timings`.
#[derive(Debug, Clone, Copy, Default)]
pub struct LoadTimings {
    /// Reading bytes (files and fetches).
    pub read: Duration,
    /// Parsing them.
    pub parse: Duration,
    /// Documents loaded, the root included.
    pub documents: usize,
    /// Bytes read in all.
    pub bytes: usize,
}

/// Loads a spec and everything it references. See the module docs for the policy.
pub fn load(location: &SpecLocation, options: &LoadOptions) -> Result<Spec, LoadError> {
    load_timed(location, options).map(|(spec, _)| spec)
}

/// [`load`], also saying how long reading and parsing took.
pub fn load_timed(
    location: &SpecLocation,
    options: &LoadOptions,
) -> Result<(Spec, LoadTimings), LoadError> {
    let root = read_root(location, options)?;
    load_root(root, options).map(|loaded| (loaded.spec, loaded.timings))
}

/// A spec's root document, read but not parsed: enough to tell, for a spec in one
/// document, whether it changed.
#[derive(Debug, Clone)]
pub struct RootDocument {
    /// Where it is (`memory:///spec` for bytes handed over).
    pub url: Url,
    /// Its bytes, shared (not copied) with the loaded spec's path items kept as
    /// text and with whatever hashes them beside the parse.
    pub bytes: Arc<Vec<u8>>,
    /// The http(s) URL it was fetched from, if it was.
    pub fetched_from: Option<Url>,
    display: String,
    claimed: Option<Syntax>,
    timings: LoadTimings,
}

impl RootDocument {
    /// Whether the root is the whole spec: it `$ref`s no other document.
    pub fn is_self_contained(&self) -> bool {
        !spec::may_reference_other_documents(&self.bytes)
    }

    /// The content hash of a self-contained spec (the same as [`Loaded::content_hash`]).
    pub fn hash(&self) -> String {
        hash_of(&self.bytes)
    }
}

/// The content hash of one document's bytes: SHA-256, hex.
pub fn hash_of(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// A loaded spec with what it was made from.
#[derive(Debug)]
pub struct Loaded {
    /// The spec.
    pub spec: Spec,
    /// The root document's bytes as read (what a revision stores), shared with
    /// the spec's path items kept as text.
    pub root_bytes: Arc<Vec<u8>>,
    /// The content hash of a spec in several documents, computed as they were read;
    /// `None` for one document, whose hash is computed only when asked for
    /// (`convert` never asks: hashing is most of its instructions where the CPU
    /// has no SHA extensions).
    several_documents_hash: Option<String>,
    /// How long reading and parsing took.
    pub timings: LoadTimings,
}

impl Loaded {
    /// SHA-256 over every document read (for one document: of its bytes), hex.
    pub fn content_hash(&self) -> String {
        match &self.several_documents_hash {
            Some(hash) => hash.clone(),
            None => hash_of(&self.root_bytes),
        }
    }
}

/// Reads the root document of a spec.
pub fn read_root(
    location: &SpecLocation,
    options: &LoadOptions,
) -> Result<RootDocument, LoadError> {
    let mut loader = Loader {
        options,
        http: None,
        timings: LoadTimings::default(),
        digests: BTreeMap::new(),
    };
    let display = location.display();
    let read_error = |reason: String| LoadError::Read {
        location: display.clone(),
        reason,
    };
    let (url, bytes, fetched_from) = match location {
        SpecLocation::File(path) => {
            let absolute = absolute_path(path).map_err(read_error)?;
            let url = Url::from_file_path(&absolute)
                .map_err(|_| read_error("the path cannot be turned into a file URL".to_string()))?;
            let bytes = loader.read(&url).map_err(read_error)?;
            (url, bytes, None)
        }
        SpecLocation::Url(url) => {
            let bytes = loader.read(url).map_err(read_error)?;
            (url.clone(), bytes, Some(url.clone()))
        }
        SpecLocation::Bytes { bytes, .. } => {
            loader.timings.bytes += bytes.len();
            // A base that relative references resolve against, but that the policy
            // refuses to read: in-memory specs reference nothing outside themselves.
            let url = Url::parse("memory:///spec").map_err(|e| read_error(e.to_string()))?;
            (url, bytes.clone(), None)
        }
        SpecLocation::BytesAt { url, bytes } => {
            loader.timings.bytes += bytes.len();
            (url.clone(), bytes.clone(), None)
        }
    };
    let claimed = match location {
        SpecLocation::Bytes { .. } => None,
        _ => Syntax::from_name(url.path()),
    };
    Ok(RootDocument {
        url,
        bytes: Arc::new(bytes),
        fetched_from,
        display,
        claimed,
        timings: loader.timings,
    })
}

/// Parses a root document and loads every document it references.
pub fn load_root(root: RootDocument, options: &LoadOptions) -> Result<Loaded, LoadError> {
    let mut loader = Loader {
        options,
        http: None,
        timings: root.timings,
        digests: BTreeMap::new(),
    };
    let RootDocument {
        url: root_url,
        bytes,
        fetched_from,
        display,
        claimed,
        ..
    } = root;
    let started = Instant::now();
    // A root that may reference other documents is read whole, so that every
    // reference in it is found; one that cannot keeps its path items as text.
    let several = spec::may_reference_other_documents(&bytes);
    let parsed = if several {
        spec::parse_document_as(&bytes, options.max_bytes, claimed).map(|(value, syntax)| {
            ParsedRoot {
                value,
                syntax,
                paths: None,
                unbuilt: Vec::new(),
            }
        })
    } else {
        spec::parse_root(&bytes, options.max_bytes, claimed)
    };
    loader.timings.parse += started.elapsed();
    let ParsedRoot {
        value: root_value,
        paths: raw_paths,
        unbuilt,
        ..
    } = parsed.map_err(|source| LoadError::Parse {
        location: display.clone(),
        source,
    })?;

    let mut documents: HashMap<Url, Document> = HashMap::new();
    let mut queue: VecDeque<Url> = VecDeque::new();
    if several {
        enqueue_refs(&root_value, &root_url, &mut documents, &mut queue);
    }
    // Bytes handed over (a pushed spec, standard input) have no folder or site to
    // resolve a reference against: such a spec must be one document, and saying so
    // up front beats skipping every operation that uses the reference.
    if root_url.scheme() == "memory"
        && let Some(first) = queue.front()
    {
        return Err(LoadError::Read {
            location: display,
            reason: format!(
                "it references another document (`{}`{}); a spec sent as bytes (pushed, or read from standard input) must be one document: bundle it first, e.g. `npx @redocly/cli bundle openapi.yaml -o bundled.yaml`",
                if first.scheme() == "memory" {
                    first.path().trim_start_matches('/').to_string()
                } else {
                    redact_url(first)
                },
                if queue.len() > 1 {
                    format!(" and {} more", queue.len() - 1)
                } else {
                    String::new()
                }
            ),
        });
    }
    documents.insert(root_url.clone(), Document::Loaded(root_value));
    let policy = Policy::new(&root_url, options);
    while let Some(url) = queue.pop_front() {
        if documents.contains_key(&url) {
            continue;
        }
        let document = match policy.check(&url) {
            Err(reason) => Document::Failed(reason),
            Ok(()) => match loader.read(&url) {
                Err(reason) => Document::Failed(reason),
                Ok(bytes) => {
                    loader
                        .digests
                        .insert(url.clone(), Sha256::digest(&bytes).into());
                    let started = Instant::now();
                    let parsed = spec::parse_document_as(
                        &bytes,
                        options.max_bytes,
                        Syntax::from_name(url.path()),
                    );
                    loader.timings.parse += started.elapsed();
                    match parsed {
                        Ok((value, _)) => {
                            if spec::may_reference_other_documents(&bytes) {
                                enqueue_refs(&value, &url, &mut documents, &mut queue);
                            }
                            Document::Loaded(value)
                        }
                        Err(e) => Document::Failed(e.to_string()),
                    }
                }
            },
        };
        documents.insert(url, document);
    }
    loader.timings.documents = documents.len();
    let several_documents_hash = if documents.len() == 1 {
        None
    } else {
        // Every document by URL, and the reason of each that failed: a file that
        // appears later changes the hash.
        let mut hasher = Sha256::new();
        hasher.update(root_url.as_str());
        hasher.update(Sha256::digest(bytes.as_slice()));
        let mut failed: Vec<(&Url, &str)> = documents
            .iter()
            .filter_map(|(u, d)| match d {
                Document::Failed(reason) => Some((u, reason.as_str())),
                Document::Loaded(_) => None,
            })
            .collect();
        failed.sort();
        for (url, digest) in &loader.digests {
            hasher.update(url.as_str());
            hasher.update(digest);
        }
        for (url, reason) in failed {
            hasher.update(url.as_str());
            hasher.update(reason);
        }
        Some(hex(&hasher.finalize()))
    };
    let mut spec =
        Spec::new(root_url, documents, fetched_from).map_err(|source| LoadError::NotASpec {
            location: display,
            source,
        })?;
    if let Some(ranges) = raw_paths {
        spec = spec.with_raw_paths(RawPaths::new(Arc::clone(&bytes), ranges));
    }
    if !unbuilt.is_empty() {
        spec = spec.with_unbuilt(Unbuilt::new(Arc::clone(&bytes), unbuilt));
    }
    Ok(Loaded {
        spec,
        root_bytes: bytes,
        several_documents_hash,
        timings: loader.timings,
    })
}

/// Lowercase hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn enqueue_refs(
    value: &serde_json::Value,
    base: &Url,
    documents: &mut HashMap<Url, Document>,
    queue: &mut VecDeque<Url>,
) {
    // An unparseable reference is reported where it is used, not here.
    for url in spec::external_documents(value, base).into_iter().flatten() {
        if &url != base && !documents.contains_key(&url) {
            queue.push_back(url);
        }
    }
}

fn absolute_path(path: &Path) -> Result<PathBuf, String> {
    let absolute = std::fs::canonicalize(path).map_err(|e| io_reason(&e))?;
    if absolute.is_dir() {
        return Err("it is a folder; give the spec file itself".to_string());
    }
    Ok(absolute)
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => e.to_string(),
    }
}

/// Which documents a `$ref` may reach.
struct Policy<'o> {
    root_dir: Option<Url>,
    root_scheme: String,
    options: &'o LoadOptions,
}

impl<'o> Policy<'o> {
    fn new(root: &Url, options: &'o LoadOptions) -> Self {
        let root_dir = match root.scheme() {
            "file" => root
                .to_file_path()
                .ok()
                .and_then(|p| p.parent().map(Path::to_path_buf))
                .and_then(|d| Url::from_directory_path(d).ok()),
            "http" | "https" => root.join("./").ok(),
            _ => None,
        };
        Policy {
            root_dir,
            root_scheme: root.scheme().to_string(),
            options,
        }
    }

    fn check(&self, url: &Url) -> Result<(), String> {
        let inside = |target: &Url| match &self.root_dir {
            Some(dir) => {
                target.scheme() == dir.scheme()
                    && target.host_str() == dir.host_str()
                    && target.port_or_known_default() == dir.port_or_known_default()
                    && target.path().starts_with(dir.path())
            }
            None => false,
        };
        match url.scheme() {
            "file" => {
                if self.root_scheme != "file" {
                    return Err(
                        "a spec that is not a local file may not reference local files".to_string(),
                    );
                }
                // Resolve symbolic links before deciding whether the file is inside.
                let real = url
                    .to_file_path()
                    .ok()
                    .and_then(|p| std::fs::canonicalize(p).ok())
                    .and_then(|p| Url::from_file_path(p).ok());
                let target = real.as_ref().unwrap_or(url);
                if inside(target) || self.options.allow_outside_refs {
                    Ok(())
                } else {
                    Err(
                        "it is outside the spec's folder; pass --allow-outside-refs to follow it"
                            .to_string(),
                    )
                }
            }
            "http" | "https" => {
                if inside(url) || self.options.allow_remote_refs {
                    Ok(())
                } else {
                    Err("it is on another site; pass --allow-remote-refs to fetch it".to_string())
                }
            }
            "memory" => Err(
                "a spec read from standard input or pushed may not reference other documents"
                    .to_string(),
            ),
            other => Err(format!("`{other}:` references are not supported")),
        }
    }
}

struct Loader<'o> {
    options: &'o LoadOptions,
    http: Option<reqwest::blocking::Client>,
    timings: LoadTimings,
    /// SHA-256 of each referenced document read.
    digests: BTreeMap<Url, [u8; 32]>,
}

impl Loader<'_> {
    /// Reads one document, refusing more than the size limit.
    fn read(&mut self, url: &Url) -> Result<Vec<u8>, String> {
        let started = Instant::now();
        let limit = self.options.max_bytes;
        let bytes = match url.scheme() {
            "file" => {
                let path = url
                    .to_file_path()
                    .map_err(|_| format!("{url} is not a usable file path"))?;
                let file = std::fs::File::open(&path).map_err(|e| io_reason(&e))?;
                let size = file.metadata().ok().map(|m| m.len());
                read_limited(file, limit, size)?
            }
            "http" | "https" => self.fetch(url, limit)?,
            other => return Err(format!("`{other}:` URLs cannot be read")),
        };
        self.timings.read += started.elapsed();
        self.timings.bytes += bytes.len();
        Ok(bytes)
    }

    fn fetch(&mut self, url: &Url, limit: usize) -> Result<Vec<u8>, String> {
        if self.http.is_none() {
            crate::tls::install_provider();
            let client = reqwest::blocking::Client::builder()
                .timeout(self.options.http_timeout)
                .redirect(reqwest::redirect::Policy::limited(5))
                .user_agent(concat!("actionsync/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| format!("cannot start an HTTP client: {e}"))?;
            self.http = Some(client);
        }
        let Some(client) = self.http.as_ref() else {
            return Err("no HTTP client".to_string());
        };
        let response = client
            .get(url.clone())
            .send()
            .map_err(|e| format!("fetch failed: {}", e.without_url()))?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!("the server answered {status}"));
        }
        if let Some(length) = response.content_length()
            && length > limit as u64
        {
            return Err(format!(
                "the document is {length} bytes, over the limit of {limit} bytes; raise it with --max-size"
            ));
        }
        let size = response.content_length();
        read_limited(response, limit, size)
    }
}

/// A buffer for a document of the `announced` size (a file's length, a
/// `Content-Length`), where known, and at most one byte over `limit`, the most a
/// read takes before it refuses: grown by doubling instead, a 4 MB spec's buffer
/// was copied on the way and ended at 8 MiB. What is announced only sizes it.
pub(crate) fn buffer_for(announced: Option<u64>, limit: usize) -> Vec<u8> {
    let capacity = announced.map_or(0, |size| size.min(limit as u64 + 1) as usize);
    Vec::with_capacity(capacity)
}

/// The bytes `reader` gives, refused past `limit`; `size` as [`buffer_for`]
/// takes it.
fn read_limited(reader: impl Read, limit: usize, size: Option<u64>) -> Result<Vec<u8>, String> {
    let mut bytes = buffer_for(size, limit);
    reader
        .take((limit as u64).saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| io_reason(&e))?;
    if bytes.len() > limit {
        return Err(format!(
            "the document is over the limit of {limit} bytes; raise it with --max-size if the spec is really this large"
        ));
    }
    Ok(bytes)
}

/// What a conditional GET of a spec URL gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetched {
    /// `304 Not Modified`: the last spec still stands.
    NotModified,
    /// A body, with the validators to send next time.
    Body {
        /// The document.
        bytes: Vec<u8>,
        /// The `ETag` answered.
        etag: Option<String>,
        /// The `Last-Modified` answered.
        last_modified: Option<String>,
    },
}

/// A conditional GET of a spec URL: `If-None-Match` / `If-Modified-Since` from the
/// last validators, the caller's headers (values never logged), the client's time
/// limit and redirect policy, and the size limit while reading. Errors say why
/// (status, a truncated body, a timeout), for the source's record.
pub async fn fetch_conditional(
    client: &reqwest::Client,
    url: &Url,
    headers: &[(String, String)],
    etag: Option<&str>,
    last_modified: Option<&str>,
    max_bytes: usize,
) -> Result<Fetched, String> {
    let mut request = client.get(url.clone());
    for (name, value) in headers {
        let mut value = reqwest::header::HeaderValue::from_str(value)
            .map_err(|_| format!("the value of the header {name} is not a valid header value"))?;
        // Kept out of debug output.
        value.set_sensitive(true);
        request = request.header(name.as_str(), value);
    }
    if let Some(etag) = etag {
        request = request.header(reqwest::header::IF_NONE_MATCH, etag);
    }
    if let Some(last_modified) = last_modified {
        request = request.header(reqwest::header::IF_MODIFIED_SINCE, last_modified);
    }
    let mut response = request.send().await.map_err(describe_fetch_error)?;
    let status = response.status();
    if status == reqwest::StatusCode::NOT_MODIFIED {
        return Ok(Fetched::NotModified);
    }
    if !status.is_success() {
        return Err(format!("the server answered {status}"));
    }
    let header = |name: reqwest::header::HeaderName| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let etag = header(reqwest::header::ETAG);
    let last_modified = header(reqwest::header::LAST_MODIFIED);
    if let Some(length) = response.content_length()
        && length > max_bytes as u64
    {
        return Err(format!(
            "the document is {length} bytes, over the limit of {max_bytes} bytes; raise max_size if it is really this large"
        ));
    }
    let mut bytes = buffer_for(response.content_length(), max_bytes);
    while let Some(chunk) = response.chunk().await.map_err(describe_fetch_error)? {
        bytes.extend_from_slice(&chunk);
        if bytes.len() > max_bytes {
            return Err(format!(
                "the document is over the limit of {max_bytes} bytes"
            ));
        }
    }
    Ok(Fetched::Body {
        bytes,
        etag,
        last_modified,
    })
}

fn describe_fetch_error(e: reqwest::Error) -> String {
    // reqwest names the URL in its errors; a URL may carry a token.
    let e = e.without_url();
    let what = if e.is_timeout() {
        "the fetch timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else if e.is_body() || e.is_decode() {
        "the response was cut short or unreadable"
    } else if e.is_redirect() {
        "redirect refused"
    } else {
        "fetch failed"
    };
    format!("{what}: {}", with_causes(&e))
}

/// An error and its causes, `outer: inner: innermost`, without repeats.
pub fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(inner) = cause {
        let line = inner.to_string();
        if !text.contains(&line) {
            text.push_str(": ");
            text.push_str(&line);
        }
        cause = inner.source();
    }
    text
}

/// A URL fit for logs and stored errors: no user or password, query values hidden.
pub fn redact_url(url: &Url) -> String {
    let mut shown = url.clone();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    if shown.query().is_some() {
        let names: Vec<String> = shown
            .query_pairs()
            .map(|(k, _)| format!("{k}=***"))
            .collect();
        shown.set_query(Some(&names.join("&")));
    }
    shown.to_string()
}

/// The HTTP client for polling spec URLs: the platform's 60-second limit, at most 5
/// redirects, rustls. With `private_headers`, a redirect to another site is refused:
/// the source's headers (keys, tokens) would go with it.
pub fn polling_client(timeout: Duration, private_headers: bool) -> Result<reqwest::Client, String> {
    let policy = if private_headers {
        reqwest::redirect::Policy::custom(|attempt| {
            let same_site = attempt
                .previous()
                .first()
                .is_some_and(|first| first.origin() == attempt.url().origin());
            if attempt.previous().len() > 5 {
                attempt.error("more than 5 redirects")
            } else if !same_site {
                let host = attempt.url().host_str().unwrap_or("?").to_string();
                attempt.error(format!(
                    "the server redirected to another site ({host}); the source's headers are not sent there: point the source at the final URL"
                ))
            } else {
                attempt.follow()
            }
        })
    } else {
        reqwest::redirect::Policy::limited(5)
    };
    crate::tls::install_provider();
    reqwest::Client::builder()
        .timeout(timeout)
        .redirect(policy)
        .user_agent(concat!("actionsync/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("cannot start an HTTP client: {e}"))
}

#[cfg(test)]
mod tests {
    use super::read_limited;

    /// The size a file or a server announces only sizes the buffer: the bytes
    /// come back whole whatever it says, and a document over the limit is
    /// refused even where the announced size says it fits.
    #[test]
    fn a_read_takes_what_the_reader_gives_whatever_size_was_announced() {
        let text = b"openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths: {}\n";
        for size in [
            None,
            Some(0),
            Some(10),
            Some(text.len() as u64),
            Some(1 << 20),
        ] {
            assert_eq!(
                read_limited(&text[..], 1000, size).as_deref(),
                Ok(&text[..]),
                "{size:?}"
            );
        }
        for size in [None, Some(5), Some(u64::MAX)] {
            let refused = read_limited(&text[..], 20, size).expect_err("over the limit");
            assert!(refused.contains("over the limit of 20 bytes"), "{refused}");
        }
    }
}
