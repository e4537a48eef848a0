//! How consumed records are printed, byte for byte as kcat prints them: its default layout
//! (`-K`/`-D` delimiters), `-f` format strings and the `-J` JSON envelope.

use nanokafka::records::RecordView;
use std::io::{self, Write};

/// One piece of a `-f` format string.
#[derive(Debug, PartialEq)]
enum Piece {
    Literal(Vec<u8>),
    /// `%t`
    Topic,
    /// `%p`
    Partition,
    /// `%o`
    Offset,
    /// `%k`
    Key,
    /// `%K`: the key's length, -1 for null.
    KeyLength,
    /// `%s`
    Value,
    /// `%S`: the value's length, -1 for null.
    ValueLength,
    /// `%R`: `%S` as a big-endian 32-bit integer (length-prefixed binary framing).
    ValueLengthBinary,
    /// `%T`: the timestamp, ms since the epoch.
    Timestamp,
    /// `%h`: headers as `name=value` separated by commas (`NULL` for a null value).
    Headers,
}

/// The layout of each printed record.
enum Layout {
    /// `[key K]value D` (kcat without `-f` or `-J`).
    Delimited {
        key_delimiter: Option<Vec<u8>>,
        delimiter: Vec<u8>,
    },
    /// A `-f` format string.
    Format(Vec<Piece>),
    /// kcat's `-J` envelope, one object per line.
    Json,
}

/// Prints records of one topic.
pub struct Printer {
    layout: Layout,
    topic: String,
    /// What a null (or, as in kcat, empty) key or value prints as in the delimited and `-f`
    /// layouts: nothing, or `NULL` with `-Z`.
    null: &'static [u8],
    /// The leader of each partition (`broker` in the JSON envelope).
    leaders: Vec<(i32, i32)>,
}

/// What the consume options ask for.
pub struct Options<'a> {
    pub format: Option<&'a str>,
    pub json: bool,
    pub key_delimiter: Option<&'a str>,
    pub delimiter: &'a str,
    pub null_as_text: bool,
}

impl Printer {
    /// The printer for `options`, or why the format string is wrong.
    pub fn new(
        options: &Options<'_>,
        topic: &str,
        leaders: Vec<(i32, i32)>,
    ) -> Result<Self, String> {
        let layout = match (options.format, options.json) {
            (Some(_), true) => return Err("-f and -J exclude each other".into()),
            (Some(format), false) => Layout::Format(parse_format(format)?),
            (None, true) => Layout::Json,
            (None, false) => Layout::Delimited {
                key_delimiter: options.key_delimiter.map(unescape).transpose()?,
                delimiter: unescape(options.delimiter)?,
            },
        };
        Ok(Printer {
            layout,
            topic: topic.to_owned(),
            null: if options.null_as_text { b"NULL" } else { b"" },
            leaders,
        })
    }

    /// Writes `record` of `partition`; `log_append_time`: its batch's timestamps were set by
    /// the broker (`tstype` in JSON).
    pub fn write(
        &self,
        out: &mut impl Write,
        partition: i32,
        record: &RecordView<'_>,
        log_append_time: bool,
    ) -> io::Result<()> {
        match &self.layout {
            Layout::Delimited {
                key_delimiter,
                delimiter,
            } => {
                if let Some(key_delimiter) = key_delimiter {
                    self.bytes(out, record.key)?;
                    out.write_all(key_delimiter)?;
                }
                self.bytes(out, record.value)?;
                out.write_all(delimiter)
            }
            Layout::Format(pieces) => pieces
                .iter()
                .try_for_each(|piece| self.piece(out, piece, partition, record)),
            Layout::Json => self.json(out, partition, record, log_append_time),
        }
    }

    fn bytes(&self, out: &mut impl Write, bytes: Option<&[u8]>) -> io::Result<()> {
        match bytes {
            Some(b) if !b.is_empty() => out.write_all(b),
            _ => out.write_all(self.null),
        }
    }

    fn piece(
        &self,
        out: &mut impl Write,
        piece: &Piece,
        partition: i32,
        record: &RecordView<'_>,
    ) -> io::Result<()> {
        let length = |b: Option<&[u8]>| b.map_or(-1, |b| b.len() as i64);
        match piece {
            Piece::Literal(bytes) => out.write_all(bytes),
            Piece::Topic => out.write_all(self.topic.as_bytes()),
            Piece::Partition => write!(out, "{partition}"),
            Piece::Offset => write!(out, "{}", record.offset),
            Piece::Key => self.bytes(out, record.key),
            Piece::KeyLength => write!(out, "{}", length(record.key)),
            Piece::Value => self.bytes(out, record.value),
            Piece::ValueLength => write!(out, "{}", length(record.value)),
            Piece::ValueLengthBinary => {
                let length = record.value.map_or(-1, |v| v.len() as i32);
                out.write_all(&length.to_be_bytes())
            }
            Piece::Timestamp => write!(out, "{}", record.timestamp),
            Piece::Headers => {
                for (i, header) in record.headers.enumerate() {
                    if i > 0 {
                        out.write_all(b",")?;
                    }
                    out.write_all(header.key.as_bytes())?;
                    out.write_all(b"=")?;
                    out.write_all(header.value.unwrap_or(b"NULL"))?;
                }
                Ok(())
            }
        }
    }

    fn json(
        &self,
        out: &mut impl Write,
        partition: i32,
        record: &RecordView<'_>,
        log_append_time: bool,
    ) -> io::Result<()> {
        let broker = self
            .leaders
            .iter()
            .find(|(p, _)| *p == partition)
            .map_or(-1, |(_, leader)| *leader);
        out.write_all(b"{\"topic\":")?;
        json_string(out, Some(self.topic.as_bytes()))?;
        let tstype = if log_append_time {
            "logappend"
        } else {
            "create"
        };
        write!(
            out,
            ",\"partition\":{partition},\"offset\":{},\"tstype\":\"{tstype}\",\"ts\":{},\"broker\":{broker}",
            record.offset, record.timestamp
        )?;
        let mut headers = record.headers.peekable();
        if headers.peek().is_some() {
            out.write_all(b",\"headers\":[")?;
            for (i, header) in headers.enumerate() {
                if i > 0 {
                    out.write_all(b",")?;
                }
                json_string(out, Some(header.key.as_bytes()))?;
                out.write_all(b",")?;
                json_string(out, header.value)?;
            }
            out.write_all(b"]")?;
        }
        out.write_all(b",\"key\":")?;
        json_string(out, record.key)?;
        out.write_all(b",\"payload\":")?;
        json_string(out, record.value)?;
        out.write_all(b"}\n")
    }
}

/// A JSON string as kcat's encoder (yajl) writes it: `"` and `\` escaped, control characters
/// as `\b \t \n \f \r` or `\u00XX`, every other byte as it is (binary data is not re-encoded);
/// `null` for `None`.
pub fn json_string(out: &mut impl Write, bytes: Option<&[u8]>) -> io::Result<()> {
    let Some(bytes) = bytes else {
        return out.write_all(b"null");
    };
    out.write_all(b"\"")?;
    let mut plain = 0;
    for (i, &byte) in bytes.iter().enumerate() {
        let escaped: &[u8] = match byte {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            0x08 => b"\\b",
            b'\t' => b"\\t",
            b'\n' => b"\\n",
            0x0c => b"\\f",
            b'\r' => b"\\r",
            0..=0x1f => b"",
            _ => continue,
        };
        out.write_all(&bytes[plain..i])?;
        if escaped.is_empty() {
            write!(out, "\\u00{byte:02X}")?;
        } else {
            out.write_all(escaped)?;
        }
        plain = i + 1;
    }
    out.write_all(&bytes[plain..])?;
    out.write_all(b"\"")
}

/// A delimiter or literal with kcat's escapes: `\n \r \t \\`, `\xNN` (hex); any other
/// escaped character stands for itself.
pub fn unescape(text: &str) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::with_capacity(text.len());
    let mut chars = text.char_indices();
    while let Some((_, c)) = chars.next() {
        if c != '\\' {
            let mut utf8 = [0; 4];
            bytes.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
            continue;
        }
        match chars.next() {
            Some((_, 'n')) => bytes.push(b'\n'),
            Some((_, 'r')) => bytes.push(b'\r'),
            Some((_, 't')) => bytes.push(b'\t'),
            Some((at, 'x')) => {
                let hex = text
                    .get(at + 1..at + 3)
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| format!("{text:?}: \\x needs two hex digits"))?;
                bytes.push(hex);
                chars.next();
                chars.next();
            }
            Some((_, other)) => {
                let mut utf8 = [0; 4];
                bytes.extend_from_slice(other.encode_utf8(&mut utf8).as_bytes());
            }
            None => return Err(format!("{text:?} ends with a lone \\")),
        }
    }
    Ok(bytes)
}

/// A `-f` format string: kcat's `%` tokens between literals (with [`unescape`]'s escapes).
fn parse_format(format: &str) -> Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    let mut literal = String::new();
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            literal.push(c);
            continue;
        }
        let piece = match chars.next() {
            Some('%') => {
                literal.push('%');
                continue;
            }
            Some('t') => Piece::Topic,
            Some('p') => Piece::Partition,
            Some('o') => Piece::Offset,
            Some('k') => Piece::Key,
            Some('K') => Piece::KeyLength,
            Some('s') => Piece::Value,
            Some('S') => Piece::ValueLength,
            Some('R') => Piece::ValueLengthBinary,
            Some('T') => Piece::Timestamp,
            Some('h') => Piece::Headers,
            Some(other) => {
                return Err(format!(
                "-f {format:?}: unknown token %{other} (known: %t %p %o %k %K %s %S %R %T %h %%)"
            ))
            }
            None => return Err(format!("-f {format:?} ends with a lone %")),
        };
        if !literal.is_empty() {
            pieces.push(Piece::Literal(unescape(&std::mem::take(&mut literal))?));
        }
        pieces.push(piece);
    }
    if !literal.is_empty() {
        pieces.push(Piece::Literal(unescape(&literal)?));
    }
    Ok(pieces)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_are_escaped_like_kcat() {
        let mut out = Vec::new();
        json_string(&mut out, Some(b"a\"\\\x00\x08\t\n\x0b\x0c\r\x1f/\x7f\xff")).unwrap();
        assert_eq!(
            out,
            b"\"a\\\"\\\\\\u0000\\b\\t\\n\\u000B\\f\\r\\u001F/\x7f\xff\""
        );
    }

    #[test]
    fn escapes_and_tokens() {
        assert_eq!(unescape(r"a\x41\t\\\n|").unwrap(), b"aA\t\\\n|");
        assert!(unescape(r"\x4").is_err());
        assert_eq!(
            parse_format(r"%t[%p]%%\n").unwrap(),
            [
                Piece::Topic,
                Piece::Literal(b"[".to_vec()),
                Piece::Partition,
                Piece::Literal(b"]%\n".to_vec())
            ]
        );
        assert!(parse_format("%z").unwrap_err().contains("%z"));
    }
}
