//! `o200k_base` token counts, exactly as `tiktoken-rs` counts them, several times
//! faster on tool definitions.
//!
//! tiktoken splits a text into pieces with one regular expression, then encodes
//! each piece. Its expression has one look-ahead (`\s+(?!\S)`), so
//! `fancy-regex` runs all of it in a backtracking VM: that VM was four fifths of
//! counting a large spec's tools, and counting was the dearest step of a plan
//! that writes many actions. `bpe-openai` (GitHub's `bpe`) splits with the same
//! expression on `regex-automata`, emulating the look-ahead, and counts a piece
//! with its own byte pair encoder. The count of a text is the sum of its
//! pieces' counts, and tool definitions repeat the same words, keys and
//! punctuation thousands of times: each distinct piece is counted once per
//! thread and its count kept. The tests check the counts against tiktoken's on
//! every fixture and spec file and on random text.

use std::cell::RefCell;

use rustc_hash::FxHashMap;

/// Beyond this many distinct pieces a thread's memory of them starts again (a
/// few megabytes at most, in a daemon that counts for years).
const MAX_CACHED_PIECES: usize = 200_000;

thread_local! {
    /// Each distinct piece's token count.
    static PIECES: RefCell<FxHashMap<Box<str>, usize>> = RefCell::new(FxHashMap::default());
}

/// The number of `o200k_base` tokens of `text`: what
/// `o200k_base_singleton().encode_ordinary(text).len()` says.
pub fn count(text: &str) -> usize {
    let tokenizer = bpe_openai::o200k_base();
    PIECES.with(|pieces| {
        let mut pieces = pieces.borrow_mut();
        if pieces.len() > MAX_CACHED_PIECES {
            pieces.clear();
        }
        tokenizer
            .split(text)
            .map(|piece| match pieces.get(piece) {
                Some(&n) => n,
                None => {
                    let n = tokenizer.bpe.count(piece.as_bytes());
                    pieces.insert(piece.into(), n);
                    n
                }
            })
            .sum()
    })
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
