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

/// Iterates over the rows of a body, or of the part of a body received so far.
pub struct Scanner<'a> {
    body: &'a [u8],
    pos: usize,
    /// Whether `body` is the whole body. If not, a row is only returned once its line
    /// break has arrived.
    complete: bool,
}

impl<'a> Scanner<'a> {
    /// A scanner at `pos` of `body`, which is the whole body if `complete`, else the part
    /// received so far.
    pub fn resume(body: &'a [u8], pos: usize, complete: bool) -> Self {
        Scanner {
            body,
            pos,
            complete,
        }
    }

    /// Where the next row starts.
    pub fn pos(&self) -> usize {
        self.pos
    }

    /// Reads the next row: fills `fields` with each field's byte range (quotes included)
    /// and returns the row's range without its line break. `None` at the end, or when
    /// the body is incomplete and the next row has not wholly arrived.
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
        self.pos = p;
        if p == end {
            return Ok(None);
        }
        let row_start = p;
        // Ran out of input: the end of the body, or of what has arrived of it.
        let cut = |complete| {
            if complete {
                Err(Unterminated)
            } else {
                Ok(None)
            }
        };
        fields.clear();
        loop {
            let field_start = p;
            if body.get(p) == Some(&b'"') {
                p += 1;
                loop {
                    match find(&body[p..], b"\"", |s| memchr(b'"', s)) {
                        Some(q) => p += q + 1,
                        None => return cut(self.complete),
                    }
                    match body.get(p) {
                        Some(b'"') => p += 1,
                        Some(_) => break,
                        None if self.complete => break,
                        // The next byte may double this quote.
                        None => return Ok(None),
                    }
                }
            }
            p += find(&body[p..], b",\r\n", |s| memchr3(b',', b'\r', b'\n', s)).unwrap_or(end - p);
            fields.push(field_start..p);
            match body.get(p) {
                Some(b',') => p += 1,
                Some(_) => {
                    let row_end = p;
                    p += if body[p..].starts_with(b"\r\n") { 2 } else { 1 };
                    self.pos = p;
                    return Ok(Some(row_start..row_end));
                }
                None if self.complete => {
                    self.pos = p;
                    return Ok(Some(row_start..p));
                }
                None => return Ok(None),
            }
        }
    }
}

/// How many bytes are looked at here before the search is handed to `memchr`: most fields
/// are short, and a word-at-a-time test finds their end before `memchr` would have
/// started.
const SHORT: usize = 32;

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// A word with the top bit set in every byte of `word` (read little-endian) that equals
/// `b`, and possibly in bytes after such a byte: the lowest set bit is exact.
#[inline(always)]
fn equal_bytes(word: u64, b: u8) -> u64 {
    let x = word ^ (ONES * u64::from(b));
    x.wrapping_sub(ONES) & !x & HIGHS
}

/// The position of the first byte of `haystack` in `set`, testing eight bytes at a time
/// over the first [`SHORT`] bytes and leaving the rest to `search`, which must look for
/// the same bytes.
#[inline(always)]
fn find(haystack: &[u8], set: &[u8], search: impl Fn(&[u8]) -> Option<usize>) -> Option<usize> {
    let mut i = 0;
    while i < SHORT {
        let Some(chunk) = haystack.get(i..i + 8) else {
            return haystack[i..]
                .iter()
                .position(|b| set.contains(b))
                .map(|j| i + j);
        };
        let word = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
        let hits = set.iter().fold(0, |m, &b| m | equal_bytes(word, b));
        if hits != 0 {
            return Some(i + hits.trailing_zeros() as usize / 8);
        }
        i += 8;
    }
    search(&haystack[i..]).map(|j| i + j)
}

/// Where a field's value is: in the body itself, or unescaped into a scratch buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// These bytes of the body.
    Body(Range<usize>),
    /// These bytes of the scratch buffer.
    Scratch(Range<usize>),
}

/// Finds the value of the field at `field` of `body`: quotes removed and `""` turned into
/// `"`. The value stays in the body unless it must be unescaped; then it is appended to
/// `scratch`, whose allocation serves row after row.
pub fn locate(body: &[u8], field: Range<usize>, scratch: &mut Vec<u8>) -> Value {
    let raw = &body[field.clone()];
    if raw.first() != Some(&b'"') {
        return Value::Body(field);
    }
    let inner = field.start + 1..field.end;
    if raw.len() >= 2 && raw.ends_with(b"\"") && memchr(b'"', &raw[1..raw.len() - 1]).is_none() {
        return Value::Body(inner.start..inner.end - 1);
    }
    let start = scratch.len();
    let mut rest = &body[inner];
    // Copy up to each quote: `""` gives one quote; a lone quote closes the quoted part,
    // and what follows it (not in splunkd's output, but accepted) is copied as it is.
    while let Some(q) = memchr(b'"', rest) {
        scratch.extend_from_slice(&rest[..q]);
        if rest.get(q + 1) == Some(&b'"') {
            scratch.push(b'"');
            rest = &rest[q + 2..];
        } else {
            rest = &rest[q + 1..];
            break;
        }
    }
    scratch.extend_from_slice(rest);
    Value::Scratch(start..scratch.len())
}

/// The value of a field from its raw bytes, as [`locate`] finds it.
pub fn decode(raw: &[u8]) -> Cow<'_, [u8]> {
    let mut scratch = Vec::new();
    match locate(raw, 0..raw.len(), &mut scratch) {
        Value::Body(range) => Cow::Borrowed(&raw[range]),
        Value::Scratch(_) => Cow::Owned(scratch),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows as decoded values, and their raw text.
    fn scan(body: &[u8]) -> Result<Vec<(String, Vec<String>)>, Unterminated> {
        let mut scanner = Scanner::resume(body, 0, true);
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
    fn find_agrees_with_a_plain_search_at_every_offset() {
        let hay = b"0123456789abcdef,\"ghijklmnopqrstuvwxyz,ABCDEFGH\nIJKLMN\r";
        for start in 0..hay.len() {
            for set in [&b",\r\n"[..], b"\""] {
                let want = hay[start..].iter().position(|b| set.contains(b));
                let got = find(&hay[start..], set, |s| {
                    s.iter().position(|b| set.contains(b))
                });
                assert_eq!(got, want, "from {start} for {set:?}");
            }
        }
        assert_eq!(
            equal_bytes(u64::from_le_bytes(*b"a,b,c,d,"), b','),
            0x8000_8000_8000_8000
        );
    }

    #[test]
    fn an_incomplete_body_gives_only_rows_whose_line_break_has_arrived() {
        let body = b"a,\"b\"\"\nc\"\r\nd,\"e\"\n";
        let whole = scan(body).unwrap();
        for cut in 0..body.len() {
            let mut scanner = Scanner::resume(&body[..cut], 0, false);
            let mut fields = Vec::new();
            let mut rows = Vec::new();
            while let Some(row) = scanner.next_row(&mut fields).unwrap() {
                rows.push(row);
            }
            // Resuming on the whole body from where it stopped gives the rest.
            let mut rest = Scanner::resume(body, scanner.pos(), true);
            while let Some(row) = rest.next_row(&mut fields).unwrap() {
                rows.push(row);
            }
            let texts: Vec<String> = rows
                .into_iter()
                .map(|r| String::from_utf8_lossy(&body[r]).into_owned())
                .collect();
            let want: Vec<String> = whole.iter().map(|r| r.0.clone()).collect();
            assert_eq!(texts, want, "cut at {cut}");
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

    #[test]
    fn locate_appends_only_what_it_must_unescape() {
        let body = b"plain,\"q, d\",\"a\"\"b\"";
        let mut scratch = b"kept".to_vec();
        assert_eq!(locate(body, 0..5, &mut scratch), Value::Body(0..5));
        assert_eq!(locate(body, 6..12, &mut scratch), Value::Body(7..11));
        assert_eq!(locate(body, 13..19, &mut scratch), Value::Scratch(4..7));
        assert_eq!(scratch, b"kepta\"b");
    }
}
