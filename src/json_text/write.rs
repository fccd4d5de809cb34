//! JSON text, byte for byte what serde_json writes, faster: strings are scanned
//! for characters to escape eight bytes at a time (serde_json looks each byte up
//! in a table), and the text is built in a buffer of its own that is handed to
//! the writer in large pieces. `convert` writes 67 MB of pretty JSON for
//! Microsoft Graph, and a first apply of it writes its plan and 11,320 actions'
//! fields compact (BENCHMARKS.md, issue 10).
//!
//! Pretty ([`to_writer_pretty`]) is serde_json's `PrettyFormatter` with its
//! default two-space indent: `{`/`[`, each member on its own line, `": "`
//! between key and value, empty containers as `{}`/`[]`. Compact ([`to_writer`],
//! [`to_vec`], [`to_string`]) is serde_json's `CompactFormatter`: no space or
//! newline anywhere. Both write integers as `itoa` writes them, finite floats as
//! `zmij` does (serde_json's own formatter), other floats as `null`, and strings
//! as [`crate::json_text::write_escaped`] escapes them. `tests` compare both
//! with serde_json on values of every shape.

use std::fmt::Display;
use std::io;

use serde::ser::{self, Serialize};

use crate::json_text::write_escaped;

/// Writes `value` as serde_json's pretty printer would, without the final newline.
pub fn to_writer_pretty<W: io::Write, T: ?Sized + Serialize>(
    writer: W,
    value: &T,
) -> Result<(), Error> {
    write(writer, value, true)
}

/// Writes `value` as `serde_json::to_writer` would.
pub fn to_writer<W: io::Write, T: ?Sized + Serialize>(writer: W, value: &T) -> Result<(), Error> {
    write(writer, value, false)
}

/// `value` as `serde_json::to_vec` writes it.
pub fn to_vec<T: ?Sized + Serialize>(value: &T) -> Result<Vec<u8>, Error> {
    let mut ser = Serializer {
        writer: io::sink(),
        buf: Vec::new(),
        indent: 0,
        pretty: false,
        flush_at: usize::MAX,
    };
    value.serialize(&mut ser)?;
    Ok(ser.buf)
}

/// `value` as `serde_json::to_string` writes it.
pub fn to_string<T: ?Sized + Serialize>(value: &T) -> Result<String, Error> {
    // Only valid UTF-8 is written: the strings come from `&str`s, escaped by ASCII.
    String::from_utf8(to_vec(value)?).map_err(|e| Error::Message(e.to_string()))
}

fn write<W: io::Write, T: ?Sized + Serialize>(
    writer: W,
    value: &T,
    pretty: bool,
) -> Result<(), Error> {
    let mut ser = Serializer {
        writer,
        buf: Vec::with_capacity(FLUSH_AT + 4096),
        indent: 0,
        pretty,
        flush_at: FLUSH_AT,
    };
    value.serialize(&mut ser)?;
    ser.flush()
}

/// The buffer goes to the writer when it holds this much.
const FLUSH_AT: usize = 1 << 16;

/// Why writing failed: the writer's error, or a value that JSON cannot hold
/// (a map key that is not a string, number or boolean).
#[derive(Debug)]
pub enum Error {
    Io(io::Error),
    Message(String),
}

impl Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Io(e) => e.fmt(f),
            Error::Message(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<M: Display>(msg: M) -> Self {
        Error::Message(msg.to_string())
    }
}

impl From<Error> for io::Error {
    fn from(e: Error) -> Self {
        match e {
            // As `cli::write_json` always did: the kind, so a closed pipe is seen as one.
            Error::Io(e) => io::Error::from(e.kind()),
            Error::Message(m) => io::Error::other(m),
        }
    }
}

struct Serializer<W> {
    writer: W,
    buf: Vec<u8>,
    /// Nesting level of the container being written.
    indent: usize,
    /// serde_json's pretty layout; else its compact one.
    pretty: bool,
    /// The buffer goes to the writer when it holds this much.
    flush_at: usize,
}

impl<W: io::Write> Serializer<W> {
    fn flush(&mut self) -> Result<(), Error> {
        self.writer.write_all(&self.buf).map_err(Error::Io)?;
        self.buf.clear();
        Ok(())
    }

    fn maybe_flush(&mut self) -> Result<(), Error> {
        if self.buf.len() >= self.flush_at {
            self.flush()?;
        }
        Ok(())
    }

    fn newline_indent(&mut self) {
        const SPACES: &[u8; 64] = &[b' '; 64];
        if !self.pretty {
            return;
        }
        self.buf.push(b'\n');
        let mut left = self.indent * 2;
        while left > 0 {
            let n = left.min(SPACES.len());
            self.buf.extend_from_slice(&SPACES[..n]);
            left -= n;
        }
    }

    /// Opens a container; `Some(0)` members closes it at once (`{}`, `[]`).
    fn open(&mut self, bracket: u8, close: u8, len: Option<usize>) -> Compound<'_, W> {
        self.buf.push(bracket);
        if len == Some(0) {
            self.buf.push(close);
            Compound {
                ser: self,
                state: State::Empty,
                close,
                variant: false,
            }
        } else {
            self.indent += 1;
            Compound {
                ser: self,
                state: State::First,
                close,
                variant: false,
            }
        }
    }

    /// `{"Variant": `, for a variant's data to follow.
    fn open_variant(&mut self, variant: &str) -> Result<(), Error> {
        self.buf.push(b'{');
        self.indent += 1;
        self.newline_indent();
        self.write_str(variant)?;
        self.colon();
        Ok(())
    }

    /// Before a member: `\n` (`,\n` after the first) and the indent.
    fn member(&mut self, state: &mut State) {
        if *state != State::First {
            self.buf.push(b',');
        }
        *state = State::Rest;
        self.newline_indent();
    }

    /// Between a key and its value: `": "`, or `":"` compact.
    fn colon(&mut self) {
        self.buf
            .extend_from_slice(if self.pretty { b": " as &[u8] } else { b":" });
    }

    fn write_str(&mut self, s: &str) -> Result<(), Error> {
        write_escaped(&mut self.buf, s.as_bytes());
        self.maybe_flush()
    }

    fn write_int(&mut self, value: impl itoa::Integer) {
        let mut b = itoa::Buffer::new();
        self.buf.extend_from_slice(b.format(value).as_bytes());
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Empty,
    First,
    Rest,
}

struct Compound<'a, W> {
    ser: &'a mut Serializer<W>,
    state: State,
    close: u8,
    /// Inside `{"Variant": …}`, which closes with it.
    variant: bool,
}

impl<W: io::Write> Compound<'_, W> {
    fn end(self) -> Result<(), Error> {
        if self.state != State::Empty {
            self.ser.indent -= 1;
            if self.state == State::Rest {
                self.ser.newline_indent();
            }
            self.ser.buf.push(self.close);
        }
        if self.variant {
            self.ser.indent -= 1;
            self.ser.newline_indent();
            self.ser.buf.push(b'}');
        }
        Ok(())
    }

    fn element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
        self.ser.member(&mut self.state);
        value.serialize(&mut *self.ser)
    }

    fn key<T: ?Sized + Serialize>(&mut self, key: &T) -> Result<(), Error> {
        self.ser.member(&mut self.state);
        key.serialize(MapKey {
            ser: &mut *self.ser,
        })?;
        self.ser.colon();
        Ok(())
    }

    fn field<T: ?Sized + Serialize>(&mut self, key: &str, value: &T) -> Result<(), Error> {
        self.ser.member(&mut self.state);
        self.ser.write_str(key)?;
        self.ser.colon();
        value.serialize(&mut *self.ser)
    }
}

impl<'a, W: io::Write> ser::Serializer for &'a mut Serializer<W> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Compound<'a, W>;
    type SerializeTuple = Compound<'a, W>;
    type SerializeTupleStruct = Compound<'a, W>;
    type SerializeTupleVariant = Compound<'a, W>;
    type SerializeMap = Compound<'a, W>;
    type SerializeStruct = Compound<'a, W>;
    type SerializeStructVariant = Compound<'a, W>;

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.buf
            .extend_from_slice(if v { b"true" as &[u8] } else { b"false" });
        Ok(())
    }
    fn serialize_i8(self, v: i8) -> Result<(), Error> {
        self.write_int(v);
        Ok(())
    }
    fn serialize_i16(self, v: i16) -> Result<(), Error> {
        self.write_int(v);
        Ok(())
    }
    fn serialize_i32(self, v: i32) -> Result<(), Error> {
        self.write_int(v);
        Ok(())
    }
    fn serialize_i64(self, v: i64) -> Result<(), Error> {
        self.write_int(v);
        Ok(())
    }
    fn serialize_i128(self, v: i128) -> Result<(), Error> {
        self.write_int(v);
        Ok(())
    }
    fn serialize_u8(self, v: u8) -> Result<(), Error> {
        self.write_int(v);
        Ok(())
    }
    fn serialize_u16(self, v: u16) -> Result<(), Error> {
        self.write_int(v);
        Ok(())
    }
    fn serialize_u32(self, v: u32) -> Result<(), Error> {
        self.write_int(v);
        Ok(())
    }
    fn serialize_u64(self, v: u64) -> Result<(), Error> {
        self.write_int(v);
        Ok(())
    }
    fn serialize_u128(self, v: u128) -> Result<(), Error> {
        self.write_int(v);
        Ok(())
    }
    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        if v.is_finite() {
            let mut b = zmij::Buffer::new();
            self.buf.extend_from_slice(b.format_finite(v).as_bytes());
        } else {
            self.buf.extend_from_slice(b"null");
        }
        Ok(())
    }
    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        if v.is_finite() {
            let mut b = zmij::Buffer::new();
            self.buf.extend_from_slice(b.format_finite(v).as_bytes());
        } else {
            self.buf.extend_from_slice(b"null");
        }
        Ok(())
    }
    fn serialize_char(self, v: char) -> Result<(), Error> {
        self.write_str(v.encode_utf8(&mut [0u8; 4]))
    }
    fn serialize_str(self, v: &str) -> Result<(), Error> {
        self.write_str(v)
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), Error> {
        use ser::SerializeSeq;
        let mut seq = self.serialize_seq(Some(v.len()))?;
        for byte in v {
            seq.serialize_element(byte)?;
        }
        seq.end()
    }
    fn serialize_none(self) -> Result<(), Error> {
        self.serialize_unit()
    }
    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Error> {
        self.buf.extend_from_slice(b"null");
        Ok(())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        self.serialize_unit()
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        self.write_str(variant)
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        let mut outer = self.open(b'{', b'}', None);
        outer.field(variant, value)?;
        outer.end()
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<Compound<'a, W>, Error> {
        Ok(self.open(b'[', b']', len))
    }
    fn serialize_tuple(self, len: usize) -> Result<Compound<'a, W>, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<Compound<'a, W>, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Compound<'a, W>, Error> {
        self.open_variant(variant)?;
        let mut inner = self.open(b'[', b']', Some(len));
        inner.variant = true;
        Ok(inner)
    }
    fn serialize_map(self, len: Option<usize>) -> Result<Compound<'a, W>, Error> {
        Ok(self.open(b'{', b'}', len))
    }
    fn serialize_struct(self, _name: &'static str, len: usize) -> Result<Compound<'a, W>, Error> {
        self.serialize_map(Some(len))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Compound<'a, W>, Error> {
        self.open_variant(variant)?;
        let mut inner = self.open(b'{', b'}', Some(len));
        inner.variant = true;
        Ok(inner)
    }
}

impl<W: io::Write> ser::SerializeSeq for Compound<'_, W> {
    type Ok = ();
    type Error = Error;
    fn serialize_element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
        self.element(value)
    }
    fn end(self) -> Result<(), Error> {
        Compound::end(self)
    }
}

impl<W: io::Write> ser::SerializeTuple for Compound<'_, W> {
    type Ok = ();
    type Error = Error;
    fn serialize_element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
        self.element(value)
    }
    fn end(self) -> Result<(), Error> {
        Compound::end(self)
    }
}

impl<W: io::Write> ser::SerializeTupleStruct for Compound<'_, W> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
        self.element(value)
    }
    fn end(self) -> Result<(), Error> {
        Compound::end(self)
    }
}

impl<W: io::Write> ser::SerializeTupleVariant for Compound<'_, W> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
        self.element(value)
    }
    fn end(self) -> Result<(), Error> {
        Compound::end(self)
    }
}

impl<W: io::Write> ser::SerializeMap for Compound<'_, W> {
    type Ok = ();
    type Error = Error;
    fn serialize_key<T: ?Sized + Serialize>(&mut self, key: &T) -> Result<(), Error> {
        self.key(key)
    }
    fn serialize_value<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
        value.serialize(&mut *self.ser)
    }
    fn end(self) -> Result<(), Error> {
        Compound::end(self)
    }
}

impl<W: io::Write> ser::SerializeStruct for Compound<'_, W> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.field(key, value)
    }
    fn end(self) -> Result<(), Error> {
        Compound::end(self)
    }
}

impl<W: io::Write> ser::SerializeStructVariant for Compound<'_, W> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.field(key, value)
    }
    fn end(self) -> Result<(), Error> {
        Compound::end(self)
    }
}

/// A map key: JSON keys are strings, so numbers and booleans are quoted, as
/// serde_json does.
struct MapKey<'a, W> {
    ser: &'a mut Serializer<W>,
}

fn key_must_be_a_string() -> Error {
    Error::Message("key must be a string".to_string())
}

impl<W: io::Write> MapKey<'_, W> {
    fn quoted(self, text: &str) -> Result<(), Error> {
        self.ser.buf.push(b'"');
        self.ser.buf.extend_from_slice(text.as_bytes());
        self.ser.buf.push(b'"');
        Ok(())
    }

    fn int(self, value: impl itoa::Integer) -> Result<(), Error> {
        let mut b = itoa::Buffer::new();
        let text = b.format(value);
        self.quoted(text)
    }
}

impl<W: io::Write> ser::Serializer for MapKey<'_, W> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = ser::Impossible<(), Error>;
    type SerializeTuple = ser::Impossible<(), Error>;
    type SerializeTupleStruct = ser::Impossible<(), Error>;
    type SerializeTupleVariant = ser::Impossible<(), Error>;
    type SerializeMap = ser::Impossible<(), Error>;
    type SerializeStruct = ser::Impossible<(), Error>;
    type SerializeStructVariant = ser::Impossible<(), Error>;

    fn serialize_str(self, v: &str) -> Result<(), Error> {
        self.ser.write_str(v)
    }
    fn serialize_char(self, v: char) -> Result<(), Error> {
        self.ser.write_str(v.encode_utf8(&mut [0u8; 4]))
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        self.ser.write_str(variant)
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.quoted(if v { "true" } else { "false" })
    }
    fn serialize_i8(self, v: i8) -> Result<(), Error> {
        self.int(v)
    }
    fn serialize_i16(self, v: i16) -> Result<(), Error> {
        self.int(v)
    }
    fn serialize_i32(self, v: i32) -> Result<(), Error> {
        self.int(v)
    }
    fn serialize_i64(self, v: i64) -> Result<(), Error> {
        self.int(v)
    }
    fn serialize_i128(self, v: i128) -> Result<(), Error> {
        self.int(v)
    }
    fn serialize_u8(self, v: u8) -> Result<(), Error> {
        self.int(v)
    }
    fn serialize_u16(self, v: u16) -> Result<(), Error> {
        self.int(v)
    }
    fn serialize_u32(self, v: u32) -> Result<(), Error> {
        self.int(v)
    }
    fn serialize_u64(self, v: u64) -> Result<(), Error> {
        self.int(v)
    }
    fn serialize_u128(self, v: u128) -> Result<(), Error> {
        self.int(v)
    }
    fn serialize_f32(self, _v: f32) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_f64(self, _v: f64) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_bytes(self, _v: &[u8]) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_none(self) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_some<T: ?Sized + Serialize>(self, _value: &T) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_unit(self) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleStruct, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStruct, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        Err(key_must_be_a_string())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::Serialize;
    use serde_json::{Value, json};

    fn ours<T: Serialize>(value: &T) -> Vec<u8> {
        let mut out = Vec::new();
        super::to_writer_pretty(&mut out, value).unwrap();
        out
    }

    /// Pretty and compact, through a writer and into a `Vec`, as serde_json writes it.
    fn same<T: Serialize>(value: &T) {
        let theirs = serde_json::to_vec_pretty(value).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&ours(value)),
            String::from_utf8_lossy(&theirs)
        );
        let theirs = serde_json::to_string(value).unwrap();
        assert_eq!(super::to_string(value).unwrap(), theirs);
        let mut written = Vec::new();
        super::to_writer(&mut written, value).unwrap();
        assert_eq!(String::from_utf8_lossy(&written), theirs);
    }

    #[test]
    fn values_of_every_shape_print_as_serde_json_prints_them() {
        let every_byte: String = (0u8..=127).map(char::from).collect();
        same(&json!(null));
        same(&json!([]));
        same(&json!({}));
        same(&json!([[], {}, [[]], {"a": {}}, [{}]]));
        same(&json!({
            "s": every_byte,
            "long": "0123456789abcdef\"0123456789\\abcdef\n0123456789abcdef\u{1f}",
            "utf8": "é — ✓ 🦀 \u{7f}\u{80}",
            "n": [0, -1, 1, u64::MAX, i64::MIN, 1.5, -0.0, 1e300, 2.5e-8, 100.0],
            "b": [true, false, null],
            "nested": {"x": [1, {"y": [2, [3]]}], "": ""}
        }));
        for len in 0..40 {
            let s: String = "a".repeat(len) + "\"" + &"b".repeat(len % 9);
            same(&Value::String(s));
        }
    }

    #[test]
    fn rust_types_print_as_serde_json_prints_them() {
        #[derive(Serialize)]
        #[serde(rename_all = "snake_case")]
        enum Kind {
            OneWord,
            Other,
        }
        #[derive(Serialize)]
        enum Data {
            Newtype(u8),
            Tuple(u8, String),
            NoFields(),
            Struct { a: u8, b: Vec<u8> },
            Fieldless {},
        }
        #[derive(Serialize)]
        struct Inner {
            a: Option<u8>,
            #[serde(skip_serializing_if = "Option::is_none")]
            skipped: Option<u8>,
        }
        #[derive(Serialize)]
        struct Outer {
            kind: Kind,
            kinds: Vec<Kind>,
            empty: Vec<u8>,
            #[serde(flatten)]
            inner: Inner,
            map: BTreeMap<String, f64>,
            by_number: BTreeMap<u32, bool>,
            nan: f64,
            c: char,
            unit: (),
            tuple: (u8, &'static str),
            data: Vec<Data>,
        }
        same(&Outer {
            kind: Kind::OneWord,
            kinds: vec![Kind::Other, Kind::OneWord],
            empty: vec![],
            inner: Inner {
                a: None,
                skipped: None,
            },
            map: BTreeMap::from([("x".to_string(), 0.1), ("y\t".to_string(), 3.0)]),
            by_number: BTreeMap::from([(1, true), (20, false)]),
            nan: f64::NAN,
            c: '"',
            unit: (),
            tuple: (7, "seven"),
            data: vec![
                Data::Newtype(1),
                Data::Tuple(2, "two".to_string()),
                Data::NoFields(),
                Data::Struct { a: 3, b: vec![4] },
                Data::Fieldless {},
            ],
        });
    }
}
