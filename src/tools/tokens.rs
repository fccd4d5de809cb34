//! `o200k_base` token counts, exactly as `tiktoken-rs` counts them, several times
//! faster on tool definitions.
//!
//! tiktoken splits a text into pieces with one regular expression, then encodes
//! each piece on its own (one token if the piece is in the vocabulary, else byte
//! pair merges). Its expression has one look-ahead (`\s+(?!\S)`), so
//! `fancy-regex` runs all of it in a backtracking VM: that VM was four fifths of
//! counting a large spec's tools, and counting was the dearest step of a plan that
//! writes many actions. Here the pieces come from the same expression without the
//! look-ahead, on the `regex` crate's automata, and the look-ahead is applied by
//! hand to each match (see [`piece_end`]); each distinct piece is encoded by
//! tiktoken once per thread and its count kept, since tool definitions repeat
//! the same words, keys and punctuation thousands of times.
//!
//! The count of a text is the sum of its pieces' counts: tiktoken encodes pieces
//! independently, and a piece given to tiktoken alone is split into itself (the
//! tests check both against tiktoken on every fixture and on random text).

use std::cell::RefCell;
use std::sync::OnceLock;

use regex_automata::hybrid::dfa::{Cache, DFA};
use regex_automata::{Anchored, Input};
use rustc_hash::FxHashMap;

/// tiktoken's `o200k_base` pattern without its one look-ahead alternative,
/// `\s+(?!\S)`, which [`pieces`] applies by hand to what `\s+` matches.
const PATTERN: &str = concat!(
    r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?",
    "|",
    r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?",
    "|",
    r"\p{N}{1,3}",
    "|",
    r" ?[^\s\p{L}\p{N}]+[\r\n/]*",
    "|",
    r"\s*[\r\n]+",
    "|",
    r"\s+",
);

/// Beyond this many distinct pieces a thread's cache starts again (a few
/// megabytes at most, in a daemon that counts for years).
const MAX_CACHED_PIECES: usize = 200_000;

/// What a thread keeps between counts.
struct Counter {
    /// The splitter's lazily built states.
    dfa: Cache,
    /// Each distinct piece's token count, as tiktoken encodes it.
    pieces: FxHashMap<Box<str>, usize>,
}

thread_local! {
    static COUNTER: RefCell<Option<Counter>> = const { RefCell::new(None) };
}

/// The pattern as a lazy DFA: each piece starts where the last one ended, so a
/// forward search anchored there finds its end (leftmost-first, as a
/// backtracking engine would choose), with no search back for its start.
fn splitter() -> Option<&'static DFA> {
    static SPLITTER: OnceLock<Option<DFA>> = OnceLock::new();
    SPLITTER.get_or_init(|| DFA::new(PATTERN).ok()).as_ref()
}

/// The end of the piece that starts at `at`, if the pattern matches there
/// (it matches at every character).
fn piece_end(dfa: &DFA, cache: &mut Cache, text: &str, at: usize) -> Option<usize> {
    if let Some(end) = ascii_piece_end(text.as_bytes(), at) {
        return Some(end);
    }
    let input = Input::new(text).range(at..).anchored(Anchored::Yes);
    let end = dfa.try_search_fwd(cache, &input).ok()??.offset();
    let piece = &text[at..end];
    // tiktoken's `\s+(?!\S)`: without the look-ahead, `\s+` takes a whole run of
    // blanks (one with no line break: the alternative before it takes those).
    // tiktoken's alternative gives back the run's last blank when something
    // follows, so that blank starts the next piece (` word`); a run of one
    // blank before something is then taken by tiktoken's plain `\s+`, as here.
    if end < text.len()
        && !piece.ends_with(['\r', '\n'])
        && piece.chars().all(char::is_whitespace)
        && let Some((last, _)) = piece.char_indices().last()
        && last > 0
    {
        return Some(at + last);
    }
    (end > at).then_some(end)
}

/// What the pattern's classes say of an ASCII byte.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ascii {
    Upper,
    Lower,
    Digit,
    /// `\r` or `\n`.
    LineBreak,
    /// A blank other than a line break: space, tab, vertical tab, form feed.
    Blank,
    /// Anything else: punctuation, symbols, control characters.
    Other,
    /// Not ASCII: the DFA decides.
    Beyond,
}

fn class(byte: Option<&u8>) -> Option<Ascii> {
    let byte = *byte?;
    Some(match byte {
        b'A'..=b'Z' => Ascii::Upper,
        b'a'..=b'z' => Ascii::Lower,
        b'0'..=b'9' => Ascii::Digit,
        b'\r' | b'\n' => Ascii::LineBreak,
        b' ' | b'\t' | 0x0b | 0x0c => Ascii::Blank,
        0x80.. => Ascii::Beyond,
        _ => Ascii::Other,
    })
}

/// The end of the piece at `at` when it and the byte after it are ASCII (most
/// of a tool definition), by the pattern's alternatives in order; `None` where a
/// byte beyond ASCII could change the piece (a letter, digit, mark or blank of
/// another script), which the DFA then finds. Same pieces as the DFA: the tests
/// compare them with tiktoken's.
fn ascii_piece_end(text: &[u8], at: usize) -> Option<usize> {
    use Ascii::*;
    // The end of the run from `from` of bytes whose class `is` accepts, and the
    // class after it (`None`: the end of the text).
    let run = |from: usize, is: &dyn Fn(Ascii) -> bool| -> (usize, Option<Ascii>) {
        let mut end = from;
        loop {
            match class(text.get(end)) {
                Some(c) if is(c) => end += 1,
                after => return (end, after),
            }
        }
    };
    let first = class(text.get(at))?;
    let second = class(text.get(at + 1));
    if second == Some(Beyond) || first == Beyond {
        return None;
    }
    let letter = |c: Option<Ascii>| matches!(c, Some(Upper | Lower));
    // 1 and 2: an optional character that is no line break, letter or digit,
    // then upper-case letters and lower-case ones, then a contraction.
    let letters_from = match first {
        Upper | Lower => Some(at),
        Blank | Other if letter(second) => Some(at + 1),
        _ => None,
    };
    if let Some(from) = letters_from {
        let (upper_end, after) = run(from, &|c| c == Upper);
        if after == Some(Beyond) {
            return None;
        }
        let (end, after) = run(upper_end, &|c| c == Lower);
        if after == Some(Beyond) {
            return None;
        }
        // `'s`, `'t`, `'re`, `'ve`, `'m`, `'ll`, `'d`, in any case.
        if text.get(end) != Some(&b'\'') {
            return Some(end);
        }
        let next = |i: usize| text.get(end + i).map(u8::to_ascii_lowercase);
        if next(1).is_some_and(|b| b >= 0x80) || next(2).is_some_and(|b| b >= 0x80) {
            return None;
        }
        return Some(match (next(1), next(2)) {
            (Some(b's' | b't' | b'm' | b'd'), _) => end + 2,
            (Some(b'r' | b'v'), Some(b'e')) | (Some(b'l'), Some(b'l')) => end + 3,
            _ => end,
        });
    }
    match first {
        // 3: one to three digits.
        Digit => {
            let mut end = at;
            while end < at + 3 {
                match class(text.get(end)) {
                    Some(Digit) => end += 1,
                    Some(Beyond) => return None,
                    _ => break,
                }
            }
            Some(end)
        }
        // 4: an optional space, symbols, then line breaks and slashes.
        Other | Blank if first == Other || (text[at] == b' ' && second == Some(Other)) => {
            let from = if first == Other { at } else { at + 1 };
            let (end, after) = run(from, &|c| c == Other);
            if after == Some(Beyond) {
                return None;
            }
            let mut end = end;
            while matches!(text.get(end), Some(b'\r' | b'\n' | b'/')) {
                end += 1;
            }
            Some(end)
        }
        // 5 to 7: blanks up to the last line break among them; else the run,
        // but its last blank when something follows it and it has more than one.
        _ => {
            let (end, after) = run(at, &|c| matches!(c, Blank | LineBreak));
            if after == Some(Beyond) {
                return None;
            }
            let blanks = &text[at..end];
            if let Some(last) = blanks.iter().rposition(|b| matches!(b, b'\r' | b'\n')) {
                return Some(at + last + 1);
            }
            Some(if after.is_some() && end - at > 1 {
                end - 1
            } else {
                end
            })
        }
    }
}

/// The pieces tiktoken's `o200k_base` pattern splits `text` into, in order;
/// `None` if the splitter failed (it does not: the pattern matches everywhere).
#[cfg(test)]
fn pieces(text: &str) -> Option<Vec<&str>> {
    let dfa = splitter()?;
    let mut cache = dfa.create_cache();
    let mut pieces = Vec::new();
    let mut at = 0;
    while at < text.len() {
        let end = piece_end(dfa, &mut cache, text, at)?;
        pieces.push(&text[at..end]);
        at = end;
    }
    Some(pieces)
}

/// The number of `o200k_base` tokens of `text`: what
/// `o200k_base_singleton().encode_ordinary(text).len()` says.
pub fn count(text: &str) -> usize {
    let counted = COUNTER.with(|counter| {
        let dfa = splitter()?;
        let mut counter = counter.borrow_mut();
        let counter = counter.get_or_insert_with(|| Counter {
            dfa: dfa.create_cache(),
            pieces: FxHashMap::default(),
        });
        if counter.pieces.len() > MAX_CACHED_PIECES {
            counter.pieces.clear();
        }
        let mut total = 0;
        let mut at = 0;
        while at < text.len() {
            let end = piece_end(dfa, &mut counter.dfa, text, at)?;
            let piece = &text[at..end];
            total += match counter.pieces.get(piece) {
                Some(&n) => n,
                None => {
                    let n = tiktoken_rs::o200k_base_singleton()
                        .encode_ordinary(piece)
                        .len();
                    counter.pieces.insert(piece.into(), n);
                    n
                }
            };
            at = end;
        }
        Some(total)
    });
    // The splitter does not fail; if it did, tiktoken counts the whole text.
    counted.unwrap_or_else(|| {
        tiktoken_rs::o200k_base_singleton()
            .encode_ordinary(text)
            .len()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// tiktoken's own pieces of `text`.
    fn tiktoken_pieces(text: &str) -> Vec<String> {
        static REGEX: OnceLock<fancy_regex::Regex> = OnceLock::new();
        let regex = REGEX.get_or_init(|| {
            fancy_regex::Regex::new(tiktoken_rs::O200K_BASE_PAT_STR)
                .expect("tiktoken's pattern compiles")
        });
        regex
            .find_iter(text)
            .map(|m| m.expect("no backtrack limit").as_str().to_string())
            .collect()
    }

    fn same_as_tiktoken(text: &str) {
        let ours = pieces(text).expect("the splitter works");
        assert_eq!(ours, tiktoken_pieces(text), "pieces of {text:?}");
        let expected = tiktoken_rs::o200k_base_singleton()
            .encode_ordinary(text)
            .len();
        assert_eq!(count(text), expected, "tokens of {text:?}");
    }

    #[test]
    fn the_pattern_is_tiktokens_without_its_look_ahead() {
        assert_eq!(
            tiktoken_rs::O200K_BASE_PAT_STR.replace("|\\s+(?!\\S)", ""),
            PATTERN
        );
    }

    #[test]
    fn blanks_split_as_tiktoken_splits_them() {
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
