//! Sending one test request as the platform would: one attempt (no retries), a
//! hard timeout over the whole exchange, at most [`MAX_REDIRECTS`] redirects,
//! rustls only.
//!
//! **Reaching only what is allowed.** A server-side test must not become a way
//! into the private network. Every hop's host is checked by [`AddressPolicy`]:
//! an IP literal before the request, a name by [`GuardedResolver`], the client's
//! only resolver, which looks the name up once, drops the addresses the policy
//! refuses and hands the rest to the connector — so the address checked is the
//! address connected to, and a second lookup cannot rebind it. Proxies are off
//! (a proxy would resolve the name itself). Redirects are followed here, not by
//! reqwest, so each hop gets the same checks, and the global variables are not
//! sent to another site.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::redirect;
use url::Url;

use super::build::{Header, Prepared, PreparedBody};
use super::{CallError, CallOptions, MAX_REDIRECTS};
use crate::action::Method;

/// The most bytes of an answer kept (the rest is read past, not kept).
pub const MAX_BODY: usize = 4 << 20;

/// Which addresses a test may reach.
#[derive(Debug, Clone, Default)]
pub struct AddressPolicy {
    /// Any address (the CLI, run by an operator on their own machine).
    pub allow_all: bool,
    /// Networks allowed although they are loopback, private, link-local or
    /// metadata addresses (the config's `test.allow_networks`).
    pub allowed: Vec<ipnet::IpNet>,
}

impl AddressPolicy {
    /// Why `ip` may not be reached, or `None` when it may.
    pub fn refusal(&self, ip: IpAddr) -> Option<String> {
        if self.allow_all {
            return None;
        }
        let canonical = ip.to_canonical();
        if self
            .allowed
            .iter()
            .any(|net| net.contains(&ip) || net.contains(&canonical))
        {
            return None;
        }
        special_use(canonical).map(|what| {
            format!(
                "{ip} is {what} address; server-side tests reach only public addresses unless the config's test.allow_networks lists it"
            )
        })
    }
}

/// What kind of non-public address `ip` is, if it is one.
fn special_use(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => special_v4(v4),
        IpAddr::V6(v6) => special_v6(v6),
    }
}

fn special_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, d] = ip.octets();
    Some(match (a, b) {
        _ if [a, b, c, d] == [169, 254, 169, 254] => "a cloud metadata",
        (127, _) => "a loopback",
        (10, _) | (192, 168) => "a private",
        (172, 16..=31) => "a private",
        (169, 254) => "a link-local",
        (100, 64..=127) => "a shared (carrier-grade NAT) or metadata",
        (0, _) => "an unspecified",
        (192, 0) if c == 0 => "an IETF protocol",
        (198, 18..=19) => "a benchmarking",
        (224..=255, _) => "a multicast or reserved",
        _ => return None,
    })
}

fn special_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let segments = ip.segments();
    if ip.is_loopback() {
        return Some("a loopback");
    }
    if ip.is_unspecified() {
        return Some("an unspecified");
    }
    // NAT64 (64:ff9b::/96) and IPv4-compatible (::a.b.c.d) addresses carry an
    // IPv4 address that decides.
    if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] || segments[..6] == [0; 6] {
        let [.., hi, lo] = segments;
        let v4 = Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
        return special_v4(v4);
    }
    match segments[0] {
        0xfc00..=0xfdff => Some("a private (unique local) or metadata"),
        0xfe80..=0xfebf => Some("a link-local"),
        0xff00..=0xffff => Some("a multicast"),
        _ => None,
    }
}

/// The test client's resolver: one lookup per name, refused addresses dropped.
#[derive(Debug, Clone)]
pub struct GuardedResolver {
    policy: AddressPolicy,
    /// The last refusal, to tell a refused host from an unreachable one.
    refused: Arc<Mutex<Option<String>>>,
}

/// A lookup that found only addresses the policy refuses.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.policy.clone();
        let refused = self.refused.clone();
        let host = name.as_str().to_string();
        Box::pin(async move {
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let mut reasons = Vec::new();
            let allowed: Vec<SocketAddr> = found
                .into_iter()
                .filter(|addr| match policy.refusal(addr.ip()) {
                    None => true,
                    Some(reason) => {
                        reasons.push(reason);
                        false
                    }
                })
                .collect();
            if allowed.is_empty()
                && let Some(reason) = reasons.into_iter().next()
            {
                let message = format!("{host} resolves to {reason}");
                if let Ok(mut last) = refused.lock() {
                    *last = Some(message.clone());
                }
                return Err(Box::new(Refused(message)) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The client for one test, and what its resolver refused.
pub struct TestClient {
    http: reqwest::Client,
    refused: Arc<Mutex<Option<String>>>,
}

/// Makes the client: rustls with the extra roots, no proxy, no redirects of its
/// own, the guarded resolver.
pub fn client(options: &CallOptions) -> Result<TestClient, CallError> {
    let refused = Arc::new(Mutex::new(None));
    let resolver = GuardedResolver {
        policy: options.addresses.clone(),
        refused: refused.clone(),
    };
    crate::tls::install_provider();
    let mut builder = reqwest::Client::builder()
        .no_proxy()
        .redirect(redirect::Policy::none())
        .timeout(options.timeout)
        .dns_resolver(resolver);
    if let Some(pem) = &options.ca_cert {
        let certificates = reqwest::Certificate::from_pem_bundle(pem).map_err(|e| {
            CallError::Setup(format!(
                "the CA bundle is not PEM certificates ({}); give a file of -----BEGIN CERTIFICATE----- blocks",
                crate::source::with_causes(&e)
            ))
        })?;
        if certificates.is_empty() {
            return Err(CallError::Setup(
                "the CA bundle holds no certificate; give a file of -----BEGIN CERTIFICATE----- blocks".to_string(),
            ));
        }
        builder = builder.tls_certs_merge(certificates);
    }
    let http = builder
        .build()
        .map_err(|e| CallError::Setup(format!("cannot start an HTTP client: {e}")))?;
    Ok(TestClient { http, refused })
}

/// An answer the server gave.
#[derive(Debug, Clone)]
pub struct Answer {
    /// Status code.
    pub status: u16,
    /// Response headers, in order.
    pub headers: Vec<(String, String)>,
    /// The body, at most [`MAX_BODY`] bytes.
    pub body: Vec<u8>,
    /// Whether the body was longer than what is kept.
    pub truncated: bool,
}

/// How the exchange ended.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// The server answered (any status).
    Answered(Answer),
    /// Nothing came back within the timeout.
    TimedOut,
    /// The request could not be made or the connection failed; `refused` when
    /// the address policy or the scheme rule stopped it.
    Failed {
        /// What happened, for the operator (never shown to the AI).
        reason: String,
        /// Stopped by a rule of ours rather than by the network.
        refused: bool,
    },
}

/// One exchange: how it ended, the redirects followed, how long it took.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// How it ended.
    pub outcome: Outcome,
    /// Each redirect followed: status and target.
    pub redirects: Vec<(u16, String)>,
    /// From the first byte sent to the last byte read.
    pub latency: Duration,
    /// What a person should know (global variables left off a hop).
    pub notes: Vec<String>,
}

/// Sends `prepared` once, following redirects, within `options.timeout`.
pub async fn send(client: &TestClient, prepared: &Prepared, options: &CallOptions) -> Exchange {
    let started = Instant::now();
    let mut redirects = Vec::new();
    let mut notes = Vec::new();
    let exchange = follow(client, prepared, options, &mut redirects, &mut notes);
    let outcome = match tokio::time::timeout(options.timeout, exchange).await {
        Ok(outcome) => outcome,
        Err(_) => Outcome::TimedOut,
    };
    Exchange {
        outcome,
        redirects,
        latency: started.elapsed(),
        notes,
    }
}

/// The hops: each checked, sent once, and followed if it redirects.
async fn follow(
    client: &TestClient,
    prepared: &Prepared,
    options: &CallOptions,
    redirects: &mut Vec<(u16, String)>,
    notes: &mut Vec<String>,
) -> Outcome {
    let first = prepared.url.clone();
    let mut url = prepared.url.clone();
    let mut method = prepared.method;
    let mut body = prepared.body.clone();
    loop {
        if let Err(reason) = check_target(&url, options) {
            return Outcome::Failed {
                reason,
                refused: true,
            };
        }
        let same_site = url.origin() == first.origin();
        let headers = match header_map(&prepared.headers, same_site, body.is_some()) {
            Ok(headers) => headers,
            Err(reason) => {
                return Outcome::Failed {
                    reason,
                    refused: false,
                };
            }
        };
        if !same_site && prepared.headers.iter().any(|h| h.secret) {
            let note = format!(
                "the global variables were not sent to {} (another site than the action's)",
                url.host_str().unwrap_or("?")
            );
            if !notes.contains(&note) {
                notes.push(note);
            }
        }
        let request = client
            .http
            .request(http_method(method), url.clone())
            .headers(headers);
        let request = match &body {
            None => request,
            Some(PreparedBody::Json { value, .. }) => request.body(value.to_string()),
            Some(PreparedBody::Multipart(fields)) => {
                let form = fields
                    .iter()
                    .fold(reqwest::multipart::Form::new(), |form, (k, v)| {
                        form.text(k.clone(), v.clone())
                    });
                request.multipart(form)
            }
        };
        let response = match request.send().await {
            Ok(response) => response,
            Err(e) => return failure(client, e),
        };
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        if let (true, Some(location)) = (response.status().is_redirection(), location) {
            if redirects.len() == MAX_REDIRECTS {
                return Outcome::Failed {
                    reason: format!(
                        "more than {MAX_REDIRECTS} redirects (the last to {location}); the platform follows at most {MAX_REDIRECTS}"
                    ),
                    refused: true,
                };
            }
            let next = match url.join(&location) {
                Ok(next) => next,
                Err(e) => {
                    return Outcome::Failed {
                        reason: format!(
                            "the server redirected to {location:?}, which is not a URL: {e}"
                        ),
                        refused: false,
                    };
                }
            };
            redirects.push((status, crate::source::redact_url(&next)));
            // As browsers and the platform's HTTP client do: 303, and 301/302
            // after a POST, become a GET without a body.
            if status == 303 || (matches!(status, 301 | 302) && method == Method::Post) {
                method = Method::Get;
                body = None;
            }
            url = next;
            continue;
        }
        return read_answer(client, response, status).await;
    }
}

/// Whether `url` may be called: its scheme, and an IP literal's address (a
/// name's addresses are checked by the resolver).
fn check_target(url: &Url, options: &CallOptions) -> Result<(), String> {
    match url.scheme() {
        "https" => {}
        "http" if options.allow_http => {}
        "http" => {
            return Err(format!(
                "{} is plain http://; the platform calls HTTPS only (allow it for a local server with --allow-http, or test.allow_http server-side)",
                crate::source::redact_url(url)
            ));
        }
        other => {
            return Err(format!(
                "{other}: URLs cannot be called; the platform calls HTTPS only"
            ));
        }
    }
    let ip = match url.host() {
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip),
        Some(url::Host::Domain(_)) => return Ok(()),
        None => return Err(format!("{} has no host", crate::source::redact_url(url))),
    };
    match options.addresses.refusal(ip) {
        Some(reason) => Err(reason),
        None => Ok(()),
    }
}

/// The headers of one hop: global variables only to the action's own site; no
/// `Content-Type` once the body is gone.
fn header_map(headers: &[Header], same_site: bool, has_body: bool) -> Result<HeaderMap, String> {
    let mut map = HeaderMap::new();
    for header in headers {
        if (header.secret && !same_site)
            || (!has_body && header.name.eq_ignore_ascii_case("content-type"))
        {
            continue;
        }
        let name = HeaderName::from_bytes(header.name.as_bytes())
            .map_err(|_| format!("`{}` is not a valid header name", header.name))?;
        let mut value = HeaderValue::from_str(&header.value).map_err(|_| {
            if header.secret {
                format!("the value of global variable `{}` is not a valid header value (a line break or control character?)", header.name)
            } else {
                format!("the value of header `{}` is not a valid header value", header.name)
            }
        })?;
        value.set_sensitive(header.secret);
        map.append(name, value);
    }
    Ok(map)
}

fn http_method(method: Method) -> reqwest::Method {
    match method {
        Method::Get => reqwest::Method::GET,
        Method::Post => reqwest::Method::POST,
        Method::Put => reqwest::Method::PUT,
        Method::Patch => reqwest::Method::PATCH,
        Method::Delete => reqwest::Method::DELETE,
    }
}

/// A failed send: refused by the resolver, timed out, or a network error.
fn failure(client: &TestClient, e: reqwest::Error) -> Outcome {
    if let Some(reason) = client.refused.lock().ok().and_then(|mut r| r.take()) {
        return Outcome::Failed {
            reason,
            refused: true,
        };
    }
    if e.is_timeout() {
        return Outcome::TimedOut;
    }
    // reqwest names the URL in its errors; a URL may carry a key in its query.
    let e = e.without_url();
    Outcome::Failed {
        reason: crate::source::with_causes(&e),
        refused: false,
    }
}

/// Reads the answer's headers and up to [`MAX_BODY`] of its body.
async fn read_answer(client: &TestClient, mut response: reqwest::Response, status: u16) -> Outcome {
    let headers = response
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let mut body = Vec::new();
    let mut truncated = false;
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let room = MAX_BODY.saturating_sub(body.len());
                if chunk.len() > room {
                    body.extend_from_slice(&chunk[..room]);
                    truncated = true;
                    break;
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => break,
            Err(e) => return failure(client, e),
        }
    }
    Outcome::Answered(Answer {
        status,
        headers,
        body,
        truncated,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(ip: &str) -> bool {
        AddressPolicy::default()
            .refusal(ip.parse().unwrap())
            .is_some()
    }

    #[test]
    fn private_loopback_link_local_and_metadata_addresses_are_refused() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.20.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.100.100.200",
            "0.0.0.0",
            "::1",
            "::",
            "fd00:ec2::254",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a9fe:a9fe",
        ] {
            assert!(refused(ip), "{ip} should be refused");
        }
        for ip in [
            "93.184.215.14",
            "2606:2800:21f:cb07:6820:80da:af6b:8b2c",
            "172.32.0.1",
        ] {
            assert!(!refused(ip), "{ip} is public");
        }
    }

    #[test]
    fn the_config_allows_listed_networks_and_the_cli_everything() {
        let policy = AddressPolicy {
            allow_all: false,
            allowed: vec!["127.0.0.2/32".parse().unwrap()],
        };
        assert!(policy.refusal("127.0.0.2".parse().unwrap()).is_none());
        assert!(
            policy
                .refusal("::ffff:127.0.0.2".parse().unwrap())
                .is_none()
        );
        let message = policy.refusal("127.0.0.1".parse().unwrap()).unwrap();
        assert!(
            message.contains("loopback") && message.contains("allow_networks"),
            "{message}"
        );
        let cli = AddressPolicy {
            allow_all: true,
            allowed: Vec::new(),
        };
        assert!(cli.refusal("127.0.0.1".parse().unwrap()).is_none());
    }
}
