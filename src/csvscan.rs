//! Finds the rows and fields of a CSV body without copying them.
//!
//! The command passes every row through untouched and reads only a handful of fields, so
//! it needs where each row and field starts and ends, not the unescaped values: a general
//! CSV reader would copy and unescape every byte of every field (the 700-byte `_raw`
//! included). This scanner jumps from one significant byte to the next with `memchr` and
//! decodes a field only when asked. It reads the dialect splunkd writes (RFC 4180: `,`,
//! `"` quoting with `""` inside, LF or CRLF rows, line breaks inside quoted fields) with
//! the same leniency as the `csv` crate: blank lines are skipped, a quote inside an
//! unquoted field is a literal, bytes after a closing quote belong to the field.

use std::borrow::Cow;
use std::ops::Range;

use memchr::{memchr, memchr3};

/// A quoted field is still open where the body ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unterminated;

/// Iterates over the rows of a body.
pub struct Scanner<'a> {
    body: &'a [u8],
    pos: usize,
}

impl<'a> Scanner<'a> {
    /// A scanner at the start of `body`.
    pub fn new(body: &'a [u8]) -> Self {
        Scanner { body, pos: 0 }
    }

    /// Reads the next row: fills `fields` with each field's byte range (quotes included)
    /// and returns the row's range without its line break, or `None` at the end.
    pub fn next_row(
        &mut self,
        fields: &mut Vec<Range<usize>>,
    ) -> Result<Option<Range<usize>>, Unterminated> {
        let body = self.body;
        let end = body.len();
        let mut p = self.pos;
        while p < end && (body[p] == b'\r' || body[p] == b'\n') {
            p += 1;
        }
        if p == end {
            self.pos = p;
            return Ok(None);
        }
        let row_start = p;
        fields.clear();
        loop {
            let field_start = p;
            if body.get(p) == Some(&b'"') {
                p += 1;
                loop {
                    p += memchr(b'"', &body[p..]).ok_or(Unterminated)? + 1;
                    if body.get(p) != Some(&b'"') {
                        break;
                    }
                    p += 1;
                }
            }
            p += memchr3(b',', b'\r', b'\n', &body[p..]).unwrap_or(end - p);
            fields.push(field_start..p);
            match body.get(p) {
                Some(b',') => p += 1,
                Some(_) => {
                    let row_end = p;
                    p += if body[p..].starts_with(b"\r\n") { 2 } else { 1 };
                    self.pos = p;
                    return Ok(Some(row_start..row_end));
                }
                None => {
                    self.pos = p;
                    return Ok(Some(row_start..p));
                }
            }
        }
    }
}

/// The value of a field from its raw bytes: quotes removed and `""` turned into `"`.
/// Borrows when nothing needs unescaping, which is nearly always.
pub fn decode(raw: &[u8]) -> Cow<'_, [u8]> {
    let Some(inner) = raw.strip_prefix(b"\"") else {
        return Cow::Borrowed(raw);
    };
    if let Some(simple) = inner.strip_suffix(b"\"") {
        if memchr(b'"', simple).is_none() {
            return Cow::Borrowed(simple);
        }
    }
    let mut value = Vec::with_capacity(inner.len());
    let mut quoted = true;
    let mut bytes = inner.iter().copied().peekable();
    while let Some(b) = bytes.next() {
        if quoted && b == b'"' {
            if bytes.peek() == Some(&b'"') {
                bytes.next();
            } else {
                quoted = false;
                continue;
            }
        }
        value.push(b);
    }
    Cow::Owned(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows as decoded values, and their raw text.
    fn scan(body: &[u8]) -> Result<Vec<(String, Vec<String>)>, Unterminated> {
        let mut scanner = Scanner::new(body);
        let mut fields = Vec::new();
        let mut rows = Vec::new();
        while let Some(row) = scanner.next_row(&mut fields)? {
            let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
            let values = fields
                .iter()
                .map(|f| text(&decode(&body[f.clone()])))
                .collect();
            rows.push((text(&body[row]), values));
        }
        Ok(rows)
    }

    /// The same body read by the `csv` crate, as values.
    fn reference(body: &[u8]) -> Vec<Vec<String>> {
        csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(body)
            .byte_records()
            .map(|r| {
                r.unwrap()
                    .iter()
                    .map(|f| String::from_utf8_lossy(f).into_owned())
                    .collect()
            })
            .collect()
    }

    #[test]
    fn splits_rows_and_fields_like_a_csv_reader() {
        let bodies: [&[u8]; 9] = [
            b"a,b\n1,2\n",
            b"a,b\r\n1,2\r\n",
            b"a,b\n1,2",
            b"\"x,y\",\"say \"\"hi\"\"\"\n\"two\nlines\",\"cr\r\nlf\"\n",
            b"\n\na,b\n\n\r\n1,2\n",
            b"a,,\n,,\n",
            b"\"ab\"cd,e\"f\n",
            b"a\rb\rc",
            b"\"\",\"\"\"\"\n",
        ];
        for body in bodies {
            let values: Vec<Vec<String>> = scan(body).unwrap().into_iter().map(|r| r.1).collect();
            assert_eq!(
                values,
                reference(body),
                "{:?}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn row_ranges_exclude_line_breaks() {
        let rows = scan(b"\r\n\"a\nb\",c\r\nd,e").unwrap();
        assert_eq!(rows[0].0, "\"a\nb\",c");
        assert_eq!(rows[1].0, "d,e");
        assert!(scan(b"").unwrap().is_empty());
        assert!(scan(b"\n\r\n").unwrap().is_empty());
    }

    #[test]
    fn an_open_quote_at_the_end_is_an_error() {
        assert_eq!(scan(b"a,\"b\n"), Err(Unterminated));
        assert_eq!(scan(b"\"a\"\"\n"), Err(Unterminated));
        assert!(scan(b"\"a\"\"\"\n").is_ok());
    }

    #[test]
    fn decode_borrows_unless_it_must_unescape() {
        assert!(matches!(decode(b"plain"), Cow::Borrowed(b"plain")));
        assert!(matches!(
            decode(b"\"quoted, plain\""),
            Cow::Borrowed(b"quoted, plain")
        ));
        assert_eq!(decode(b"\"say \"\"hi\"\"\"").as_ref(), b"say \"hi\"");
        assert_eq!(decode(b"\"ab\"cd").as_ref(), b"abcd");
        assert_eq!(decode(b"\"").as_ref(), b"");
        assert_eq!(decode(b"x\"y").as_ref(), b"x\"y");
    }
}
