//! `o200k_base` token counts, exactly as `tiktoken-rs` counts them, several times
//! faster on tool definitions.
//!
//! tiktoken splits a text into pieces with one regular expression, then encodes
//! each piece. Its expression has one look-ahead (`\s+(?!\S)`), so
//! `fancy-regex` runs all of it in a backtracking VM: that VM was four fifths of
//! counting a large spec's tools, and counting was the dearest step of a plan
//! that writes many actions. The `tiktoken` crate splits ASCII text with a
//! scanner written for the expression, looks a piece up whole in the
//! vocabulary before merging it, and keeps the merges of repeated pieces per
//! thread in a table of fixed size; tool definitions repeat the same words, keys
//! and punctuation thousands of times. It counts without making the tokens. The
//! tests check the counts against tiktoken-rs's on every fixture and spec file
//! and on random text.

use std::sync::LazyLock;

use tiktoken::CoreBpe;

/// The encoder, built on first use, once per process, from the vocabulary
/// inside the binary (nothing is read or fetched).
static O200K_BASE: LazyLock<CoreBpe> = LazyLock::new(tiktoken::encoding::o200k_base);

/// Builds the encoder on one of rayon's threads, if it is not built yet: a plan
/// converts the spec before it counts anything, so a reconcile of a spec that
/// changed can have the encoder ready by then instead of waiting for it (a fifth
/// of a first apply of Kubernetes from the command line). Costs nothing in time
/// on a machine with a core to spare; on one without, the build happens at most
/// once either way.
pub fn warm_up() {
    rayon::spawn(|| {
        LazyLock::force(&O200K_BASE);
    });
}

/// The number of `o200k_base` tokens of `text`: what
/// `o200k_base_singleton().encode_ordinary(text).len()` says.
pub fn count(text: &str) -> usize {
    O200K_BASE.count(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn same_as_tiktoken(text: &str) {
        let expected = tiktoken_rs::o200k_base_singleton()
            .encode_ordinary(text)
            .len();
        assert_eq!(count(text), expected, "tokens of {text:?}");
    }

    #[test]
    fn blanks_words_and_marks_count_as_tiktoken_counts_them() {
        for text in [
            "",
            " ",
            "a",
            "  word",
            "word  ",
            "a \t b",
            "x   \n  y",
            " \n\n \r\n\tz ",
            "\u{3000}\u{3000}漢字 and   more\u{a0}\u{a0}x",
            "{\"type\":\"function\",\"function\":{\"name\":\"get_pods\",\"description\":\"List pods.\\n\\nReturns   them\"}}",
            "It's what they'll do; we'd I'M 123456 7 ab12cd  ---  //\n/ ",
            "emoji 🎉🎉 e\u{301}te\u{301} NAÏVE 𝔘nicode",
            "   ",
            "a\u{2028}\u{2028}b",
            "It's WE'LL you'Re they'VE I'm he'd x'ſ y'ſt z'Ll a'rx b'l c'",
            "HTTPServer fooBar ABC abc123 12345 1²3 (.com ((x \t( \x0b\x0cq \x1f\x7fz",
            "{\n  \"a\": [1, 2],\r\n\t\"b\": \"c/d//\"\n}\n\n",
            "é'S",
            "aé",
            " é",
            "(é",
            "1é",
            "\u{a0} x",
            " \u{a0}x",
            "A\u{301}b",
        ] {
            same_as_tiktoken(text);
        }
    }

    #[test]
    fn every_fixture_and_spec_file_counts_as_tiktoken_counts_it() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = 0;
        // The shared corpus's large specs too, where it is (see tests/shared_specs.rs).
        let large = std::env::var_os("ACTIONSYNC_SHARED_SPECS")
            .map(|shared| std::path::PathBuf::from(shared).join("large"));
        let folders = [root.join("tests/fixtures"), root.join("specs")];
        for folder in folders.iter().chain(&large) {
            let Ok(entries) = std::fs::read_dir(folder) else {
                continue;
            };
            for entry in entries.flatten() {
                if let Ok(text) = std::fs::read_to_string(entry.path()) {
                    same_as_tiktoken(&text);
                    files += 1;
                }
            }
        }
        assert!(files > 20, "only {files} files");
    }

    proptest! {
        #[test]
        fn random_ascii_counts_as_tiktoken_counts_it(
            text in "[ \t\r\n\x0b\x0c\x00\x1f\x7fa-zA-Z0-9'.,:;/\"{}\\[\\]()_\\-sStTlLrReEvVmMdD]{0,120}"
        ) {
            same_as_tiktoken(&text);
        }

        #[test]
        fn random_text_counts_as_tiktoken_counts_it(
            text in "[ \t\r\n\u{a0}\u{3000}a-zA-Z0-9'.,:;/\"{}\\[\\]()_\\-é漢🎉\u{301}]{0,80}"
        ) {
            same_as_tiktoken(&text);
        }
    }
}
