//! Specs fetched from URLs, and `$ref`s to other sites, against a small HTTP server
//! on 127.0.0.1 that this test starts (no other network is used).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use actionsync::convert::{self, ConvertOptions};
use actionsync::source::{self, LoadOptions, SpecLocation};
use url::Url;

/// Serves fixed documents by path; answers 404 otherwise. Counts requests.
struct Server {
    base: Url,
    requests: Arc<AtomicUsize>,
}

fn serve(documents: Vec<(&str, String)>) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
    let base = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
    let documents: HashMap<String, String> = documents
        .into_iter()
        .map(|(p, d)| (p.to_string(), d))
        .collect();
    let requests = Arc::new(AtomicUsize::new(0));
    let counter = requests.clone();
    std::thread::spawn(move || {
        // Bounded: the test makes a handful of requests.
        for stream in listener.incoming().take(64) {
            let Ok(mut stream) = stream else { continue };
            counter.fetch_add(1, Ordering::SeqCst);
            let mut line = String::new();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            // Drain the headers.
            let mut header = String::new();
            while reader
                .read_line(&mut header)
                .map(|n| n > 2)
                .unwrap_or(false)
            {
                header.clear();
            }
            let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
            let (status, body) = match documents.get(&path) {
                Some(doc) => ("200 OK", doc.clone()),
                None => ("404 Not Found", "not found".to_string()),
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    Server { base, requests }
}

fn spec_with_refs(schema_ref: &str) -> String {
    format!(
        r#"openapi: 3.0.3
info: {{title: Remote, version: "1"}}
servers: [{{url: /v1}}]
paths:
  /notes:
    post:
      operationId: createNote
      summary: Create a note on a customer's account
      requestBody:
        required: true
        content:
          application/json:
            schema: {{$ref: '{schema_ref}'}}
      responses: {{'201': {{description: created}}}}
"#
    )
}

const NOTE: &str =
    "Note:\n  type: object\n  required: [text]\n  properties:\n    text: {type: string}\n";

#[test]
fn a_spec_fetched_from_a_url_resolves_sibling_refs_and_relative_servers() {
    let server = serve(vec![
        ("/api/openapi.yaml", spec_with_refs("schemas.yaml#/Note")),
        ("/api/schemas.yaml", NOTE.to_string()),
    ]);
    let url = server.base.join("api/openapi.yaml").unwrap();
    let spec = source::load(&SpecLocation::Url(url), &LoadOptions::default()).unwrap();
    let conversion = convert::convert(
        &spec,
        &ConvertOptions {
            source: "remote".into(),
            allow_http: true,
            ..ConvertOptions::default()
        },
    );
    assert_eq!(conversion.actions.len(), 1, "{:?}", conversion.diagnostics);
    let action = &conversion.actions[0].spec;
    // The relative server `/v1` resolves against the URL the spec came from.
    assert_eq!(action.url, format!("{}v1/notes", server.base));
    let body = action.body.as_ref().unwrap();
    assert_eq!(body.schema["required"], serde_json::json!(["text"]));
}

#[test]
fn refs_to_another_site_are_refused_unless_allowed() {
    let schemas = serve(vec![("/shared/schemas.yaml", NOTE.to_string())]);
    let remote_ref = format!("{}shared/schemas.yaml#/Note", schemas.base);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("openapi.yaml");
    std::fs::write(&path, spec_with_refs(&remote_ref)).unwrap();
    let options = ConvertOptions {
        source: "local".into(),
        base_url: Some(Url::parse("https://api.example.com").unwrap()),
        ..ConvertOptions::default()
    };

    let refused = source::load(&SpecLocation::File(path.clone()), &LoadOptions::default()).unwrap();
    assert_eq!(
        schemas.requests.load(Ordering::SeqCst),
        0,
        "a refused ref must not be fetched"
    );
    let conversion = convert::convert(&refused, &options);
    assert_eq!(conversion.actions.len(), 0);
    assert!(
        conversion.skipped[0].reason.contains("--allow-remote-refs"),
        "{:?}",
        conversion.skipped
    );

    let allowed = source::load(
        &SpecLocation::File(path),
        &LoadOptions {
            allow_remote_refs: true,
            ..LoadOptions::default()
        },
    )
    .unwrap();
    let conversion = convert::convert(&allowed, &options);
    assert_eq!(conversion.actions.len(), 1, "{:?}", conversion.diagnostics);
    assert_eq!(schemas.requests.load(Ordering::SeqCst), 1);
}

#[test]
fn a_missing_url_fails_with_the_status() {
    let server = serve(vec![]);
    let url = server.base.join("nope.yaml").unwrap();
    let err = source::load(&SpecLocation::Url(url.clone()), &LoadOptions::default()).unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains(url.as_str()) && message.contains("404"),
        "{message}"
    );
}

#[test]
fn a_document_over_the_size_limit_is_refused() {
    let big = format!(
        "{}{}",
        spec_with_refs("#/components/schemas/Note"),
        "# padding\n".repeat(1000)
    );
    let server = serve(vec![("/big.yaml", big)]);
    let url = server.base.join("big.yaml").unwrap();
    let err = source::load(
        &SpecLocation::Url(url),
        &LoadOptions {
            max_bytes: 4096,
            ..LoadOptions::default()
        },
    )
    .unwrap_err();
    assert!(err.to_string().contains("4096"), "{err}");
}

/// A server that answers every request with a redirect to `to`.
fn redirect_to(to: Url) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
    let base = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
    let requests = Arc::new(AtomicUsize::new(0));
    let counter = requests.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(16) {
            let Ok(mut stream) = stream else { continue };
            counter.fetch_add(1, Ordering::SeqCst);
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            while reader.read_line(&mut line).map(|n| n > 2).unwrap_or(false) {
                line.clear();
            }
            let _ = write!(
                stream,
                "HTTP/1.1 302 Found\r\nLocation: {to}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
        }
    });
    Server { base, requests }
}

#[tokio::test]
async fn private_headers_never_follow_a_redirect_to_another_site() {
    let elsewhere = serve(vec![("/openapi.yaml", spec_with_refs("#/x"))]);
    let redirecting = redirect_to(elsewhere.base.join("openapi.yaml").unwrap());
    let url = redirecting.base.join("openapi.yaml").unwrap();
    let headers = vec![("X-Api-Key".to_string(), "s3cret".to_string())];

    let private = source::polling_client(std::time::Duration::from_secs(10), true).unwrap();
    let err = source::fetch_conditional(&private, &url, &headers, None, None, 1 << 20)
        .await
        .unwrap_err();
    assert!(err.contains("another site"), "{err}");
    assert!(!err.contains("s3cret"), "{err}");
    assert_eq!(
        elsewhere.requests.load(Ordering::SeqCst),
        0,
        "the other site got no request"
    );

    // Without private headers a redirect (to a CDN, say) is followed.
    let open = source::polling_client(std::time::Duration::from_secs(10), false).unwrap();
    let fetched = source::fetch_conditional(&open, &url, &[], None, None, 1 << 20)
        .await
        .unwrap();
    assert!(matches!(fetched, source::Fetched::Body { .. }));
    assert_eq!(elsewhere.requests.load(Ordering::SeqCst), 1);
}
