//! The stylesheet and script, compiled into the binary and served with a
//! content hash in their names, so they can be cached for a year.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

const CSS: &str = include_str!("console.css");
const JS: &str = include_str!("console.js");

/// `name.HASH.ext`, the hash the first 12 hex digits of the content's SHA-256.
fn versioned(name: &str, ext: &str, content: &str) -> String {
    let digest = crate::source::hex(&Sha256::digest(content.as_bytes()));
    format!("{name}.{}.{ext}", &digest[..12])
}

static CSS_NAME: LazyLock<String> = LazyLock::new(|| versioned("console", "css", CSS));
static JS_NAME: LazyLock<String> = LazyLock::new(|| versioned("console", "js", JS));

/// The stylesheet's URL.
pub fn css_url() -> String {
    format!("/ui/assets/{}", *CSS_NAME)
}

/// The script's URL.
pub fn js_url() -> String {
    format!("/ui/assets/{}", *JS_NAME)
}

/// `GET /ui/assets/{file}`: public (nothing secret in them), immutable.
pub async fn serve(Path(file): Path<String>) -> Response {
    let (content_type, body) = if file == *CSS_NAME {
        ("text/css; charset=utf-8", CSS)
    } else if file == *JS_NAME {
        ("text/javascript; charset=utf-8", JS)
    } else {
        return (
            StatusCode::NOT_FOUND,
            [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
            "no such asset\n",
        )
            .into_response();
    };
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=31536000, immutable"),
            ),
        ],
        body,
    )
        .into_response()
}
