//! JSON text: the escaping of strings, the compact length of a value without
//! writing it, and the writers (`write.rs`: pretty and compact) that `cli`,
//! the plan's records and digests, and the tools' weights use; the byte budget
//! of `convert::schema` counts with the same rules. They are serde_json's, byte
//! for byte: `"`, `\\` and control characters are escaped (`\b \t \n \f \r`,
//! the rest as `\u00xx`, lower-case hex), nothing else is. And a fast hash of
//! that text (`HashWriter`, `digest`), for the plan's digests and shared schemas.

mod write;

use serde_json::Value;

pub use write::{Error, to_string, to_vec, to_writer, to_writer_pretty};

/// Which bytes must be escaped, and how: `u` for `\u00xx`.
const ESCAPE: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut i = 0;
    while i < 0x20 {
        table[i] = b'u';
        i += 1;
    }
    table[0x08] = b'b';
    table[0x09] = b't';
    table[0x0a] = b'n';
    table[0x0c] = b'f';
    table[0x0d] = b'r';
    table[b'"' as usize] = b'"';
    table[b'\\' as usize] = b'\\';
    table
};

/// Whether any of the eight bytes is below 0x20, `"` or `\`.
#[inline]
fn word_needs_escape(w: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let control = w.wrapping_sub(ONES * 0x20) & !w & HIGH;
    let q = w ^ (ONES * u64::from(b'"'));
    let quote = q.wrapping_sub(ONES) & !q & HIGH;
    let b = w ^ (ONES * u64::from(b'\\'));
    let backslash = b.wrapping_sub(ONES) & !b & HIGH;
    (control | quote | backslash) != 0
}

/// The index of the first byte at or after `i` that must be escaped, or the length.
#[inline]
fn next_escape(s: &[u8], mut i: usize) -> usize {
    while let Some(chunk) = s.get(i..i + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        if word_needs_escape(u64::from_le_bytes(word)) {
            break;
        }
        i += 8;
    }
    while i < s.len() {
        if ESCAPE[usize::from(s[i])] != 0 {
            return i;
        }
        i += 1;
    }
    s.len()
}

/// Appends `s` as a JSON string, quotes included.
pub fn write_escaped(out: &mut Vec<u8>, s: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.reserve(s.len() + 2);
    out.push(b'"');
    let mut start = 0;
    loop {
        let at = next_escape(s, start);
        out.extend_from_slice(&s[start..at]);
        let Some(&byte) = s.get(at) else { break };
        match ESCAPE[usize::from(byte)] {
            b'u' => out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(byte >> 4)],
                HEX[usize::from(byte & 0xf)],
            ]),
            code => out.extend_from_slice(&[b'\\', code]),
        }
        start = at + 1;
    }
    out.push(b'"');
}

/// The length of `s` written as a JSON string, quotes included.
pub fn escaped_len(s: &str) -> usize {
    let s = s.as_bytes();
    let mut len = s.len() + 2;
    let mut at = next_escape(s, 0);
    while let Some(&byte) = s.get(at) {
        len += if ESCAPE[usize::from(byte)] == b'u' {
            5
        } else {
            1
        };
        at = next_escape(s, at + 1);
    }
    len
}

/// The length of `serde_json::to_vec(value)`, without writing it.
pub fn compact_len(value: &Value) -> usize {
    match value {
        Value::Null => 4,
        Value::Bool(true) => 4,
        Value::Bool(false) => 5,
        Value::Number(n) => number_len(n),
        Value::String(s) => escaped_len(s),
        Value::Array(items) => {
            2 + items.len().saturating_sub(1) + items.iter().map(compact_len).sum::<usize>()
        }
        Value::Object(map) => {
            2 + map.len().saturating_sub(1)
                + map
                    .iter()
                    .map(|(k, v)| escaped_len(k) + 1 + compact_len(v))
                    .sum::<usize>()
        }
    }
}

fn number_len(n: &serde_json::Number) -> usize {
    if let Some(u) = n.as_u64() {
        itoa::Buffer::new().format(u).len()
    } else if let Some(i) = n.as_i64() {
        itoa::Buffer::new().format(i).len()
    } else if let Some(f) = n.as_f64().filter(|f| f.is_finite()) {
        zmij::Buffer::new().format_finite(f).len()
    } else {
        // What serde_json writes for a number it cannot represent.
        n.to_string().len()
    }
}

/// A 128-bit XXH3 of what serde_json writes, fed a block at a time: fed piece by
/// piece the hash's per-call cost was half a digest's, and collecting the whole
/// text first copied it as it grew. Not cryptographic: it tells values apart.
pub struct HashWriter {
    hasher: xxhash_rust::xxh3::Xxh3,
    block: Vec<u8>,
}

impl HashWriter {
    const BLOCK: usize = 16 * 1024;

    /// An empty hash; its block grows with what is written, up to 16 KiB.
    pub fn new() -> HashWriter {
        HashWriter {
            hasher: xxhash_rust::xxh3::Xxh3::new(),
            block: Vec::new(),
        }
    }

    /// The hash of everything written.
    pub fn finish(mut self) -> u128 {
        self.hasher.update(&self.block);
        self.block.clear();
        self.hasher.digest128()
    }
}

impl Default for HashWriter {
    fn default() -> Self {
        HashWriter::new()
    }
}

impl std::io::Write for HashWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if self.block.len() + data.len() > Self::BLOCK {
            self.hasher.update(&self.block);
            self.block.clear();
        }
        if data.len() >= Self::BLOCK {
            self.hasher.update(data);
        } else {
            self.block.extend_from_slice(data);
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The [`HashWriter`] hash of `value`'s compact JSON.
pub fn digest(value: &Value) -> u128 {
    let mut hashed = HashWriter::new();
    // Writing a `Value` into a writer that never fails does not fail.
    let _ = to_writer(&mut hashed, value);
    hashed.finish()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{compact_len, escaped_len, write_escaped};

    #[test]
    fn strings_escape_as_serde_json_escapes_them() {
        let every_byte: String = (0u8..=127).map(char::from).collect();
        let mut samples = vec![
            String::new(),
            every_byte,
            "é — ✓ 🦀 \u{7f}\u{80}".to_string(),
            "0123456789abcdef\"0123456789\\abcdef\n0123456789abcdef\u{1f}".to_string(),
        ];
        for len in 0..40 {
            samples.push("a".repeat(len) + "\"" + &"b".repeat(len % 9) + "\u{1}");
        }
        for s in samples {
            let theirs = serde_json::to_vec(&s).unwrap();
            let mut ours = Vec::new();
            write_escaped(&mut ours, s.as_bytes());
            assert_eq!(
                String::from_utf8_lossy(&ours),
                String::from_utf8_lossy(&theirs)
            );
            assert_eq!(escaped_len(&s), theirs.len(), "{s:?}");
        }
    }

    #[test]
    fn the_compact_length_is_serde_json_s() {
        let values = [
            json!(null),
            json!([]),
            json!({}),
            json!([true, false, null, [], {}, [[]], {"": {}}]),
            json!({"a\tb": [0, -1, 1, u64::MAX, i64::MIN, 1.5, -0.0, 1e300, 2.5e-8, 100.0]}),
            json!({"s": "quote \" and \\ and \u{0} and é", "n": {"x": [1, {"y": "z"}]}}),
        ];
        for value in values {
            assert_eq!(
                compact_len(&value),
                serde_json::to_vec(&value).unwrap().len(),
                "{value}"
            );
        }
    }
}
