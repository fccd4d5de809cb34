//! Bearer tokens: how they are made, stored and checked.
//!
//! A token is `ast_` and 43 characters of URL-safe base64 (32 bytes from the
//! operating system's random source). The catalogue keeps only its SHA-256; the
//! token is shown once, when it is created. Tokens are long and random, so a fast
//! hash is enough: nobody can guess one from its hash, and checking one is a
//! single indexed lookup.

use axum::http::HeaderMap;
use sha2::{Digest, Sha256};

use crate::store::{NewToken, TokenRecord, TokenScope};

/// The prefix of every token, so a leaked one is easy to recognise (and to grep for).
pub const TOKEN_PREFIX: &str = "ast_";

/// A new token: the secret to hand out once, and what to store.
#[derive(Debug)]
pub struct MintedToken {
    /// The token itself. Print it once; it is not stored.
    pub secret: String,
    /// What the catalogue stores.
    pub stored: NewToken,
}

/// Makes a token with the operating system's random source.
pub fn mint(name: &str, scope: TokenScope, sources: Vec<String>) -> Result<MintedToken, String> {
    let bytes = random_bytes()?;
    let secret = format!("{TOKEN_PREFIX}{}", base64url(&bytes));
    Ok(MintedToken {
        stored: NewToken {
            name: name.to_string(),
            hash: hash(&secret),
            scope,
            sources,
        },
        secret,
    })
}

/// 32 bytes from the operating system's random source: a token's, or a console
/// session's id and CSRF token.
pub fn random_bytes() -> Result<[u8; 32], String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| format!("the operating system gave no random bytes: {e}"))?;
    Ok(bytes)
}

/// SHA-256 of a token (or a console session's id), hex: what the catalogue stores
/// and looks up.
pub fn hash(token: &str) -> String {
    crate::source::hex(&Sha256::digest(token.as_bytes()))
}

/// The token in an `Authorization: Bearer …` header, if there is one.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// What a request wants to do, for [`allows`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need<'a> {
    /// Push a spec to this source (or plan one).
    Push(&'a str),
    /// Read the tool list.
    Tools,
    /// Read the catalogue, edit hand-owned fields, run a test: a curator's work.
    Curate,
    /// Change what the catalogue's spec-owned fields come from: roll back, pause
    /// or resume a source, apply a plan from the console. Admin only.
    Manage,
}

/// Whether a token may do what a request needs; `Err` says why not, for the 403.
pub fn allows(token: &TokenRecord, need: Need<'_>) -> Result<(), String> {
    match (token.scope, need) {
        (TokenScope::Admin, _) => Ok(()),
        (TokenScope::Push, Need::Push(source)) if token.sources.iter().any(|s| s == source) => {
            Ok(())
        }
        (TokenScope::Push, Need::Push(source)) => Err(format!(
            "token `{}` may push to {} only, not to `{source}`",
            token.name,
            list(&token.sources)
        )),
        (TokenScope::Tools, Need::Tools) => Ok(()),
        (TokenScope::Curator, Need::Curate) => Ok(()),
        (scope, Need::Manage) => Err(format!(
            "token `{}` is a {} token; rollbacks, pauses and applying plans take an admin token (actionsync token create --admin)",
            token.name,
            scope.as_str()
        )),
        (scope, Need::Tools) => Err(format!(
            "token `{}` is a {} token; the tool list takes a tools or admin token (actionsync token create --tools)",
            token.name,
            scope.as_str()
        )),
        (scope, Need::Curate) => Err(format!(
            "token `{}` is a {} token; the curators' API takes a curator or admin token (actionsync token create --curator)",
            token.name,
            scope.as_str()
        )),
        (scope, Need::Push(_)) => Err(format!(
            "token `{}` is a {} token; pushing takes a push token for the source (actionsync token create --source NAME) or an admin token",
            token.name,
            scope.as_str()
        )),
    }
}

fn list(sources: &[String]) -> String {
    let quoted: Vec<String> = sources.iter().map(|s| format!("`{s}`")).collect();
    quoted.join(", ")
}

/// URL-safe base64 without padding.
fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(scope: TokenScope, sources: &[&str]) -> TokenRecord {
        TokenRecord {
            id: 1,
            name: "ci".to_string(),
            scope,
            sources: sources.iter().map(|s| s.to_string()).collect(),
            created_at: 0,
            revoked_at: None,
        }
    }

    #[test]
    fn tokens_are_random_and_only_their_hash_is_kept() {
        let a = mint("a", TokenScope::Push, vec!["billing".into()]).unwrap();
        let b = mint("b", TokenScope::Push, vec!["billing".into()]).unwrap();
        assert_ne!(a.secret, b.secret);
        assert!(a.secret.starts_with(TOKEN_PREFIX));
        assert_eq!(a.secret.len(), TOKEN_PREFIX.len() + 43);
        assert_eq!(a.stored.hash, hash(&a.secret));
        assert!(!a.stored.hash.contains(&a.secret[4..]));
    }

    #[test]
    fn base64url_matches_the_rfc_vectors() {
        assert_eq!(base64url(b""), "");
        assert_eq!(base64url(b"f"), "Zg");
        assert_eq!(base64url(b"fo"), "Zm8");
        assert_eq!(base64url(b"foo"), "Zm9v");
        assert_eq!(base64url(b"foob"), "Zm9vYg");
        assert_eq!(base64url(&[0xfb, 0xff]), "-_8");
    }

    #[test]
    fn scopes() {
        let push = token(TokenScope::Push, &["billing"]);
        assert!(allows(&push, Need::Push("billing")).is_ok());
        let denied = allows(&push, Need::Push("orders")).unwrap_err();
        assert!(denied.contains("`billing` only"), "{denied}");
        assert!(allows(&push, Need::Curate).is_err());
        assert!(allows(&push, Need::Tools).is_err());
        let tools = token(TokenScope::Tools, &[]);
        assert!(allows(&tools, Need::Tools).is_ok());
        assert!(allows(&tools, Need::Push("billing")).is_err());
        assert!(allows(&tools, Need::Curate).is_err());
        let curator = token(TokenScope::Curator, &[]);
        assert!(allows(&curator, Need::Curate).is_ok());
        assert!(allows(&curator, Need::Manage).is_err());
        assert!(allows(&curator, Need::Push("billing")).is_err());
        assert!(allows(&curator, Need::Tools).is_err());
        assert!(allows(&push, Need::Manage).is_err());
        let admin = token(TokenScope::Admin, &[]);
        for need in [Need::Push("x"), Need::Tools, Need::Curate, Need::Manage] {
            assert!(allows(&admin, need).is_ok());
        }
    }

    #[test]
    fn bearer_header() {
        let mut headers = HeaderMap::new();
        assert_eq!(bearer(&headers), None);
        headers.insert("authorization", "Bearer ast_x".parse().unwrap());
        assert_eq!(bearer(&headers), Some("ast_x"));
        headers.insert("authorization", "bearer  ast_y ".parse().unwrap());
        assert_eq!(bearer(&headers), Some("ast_y"));
        headers.insert("authorization", "Basic abc".parse().unwrap());
        assert_eq!(bearer(&headers), None);
    }
}
