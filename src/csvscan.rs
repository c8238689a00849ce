//! Finds the rows and fields of a CSV body without copying them.
//!
//! The command passes every row through untouched and reads only a handful of fields, so
//! it needs where each row and field starts and ends, not the unescaped values: a general
//! CSV reader would copy and unescape every byte of every field (the 700-byte `_raw`
//! included). This scanner reads the dialect splunkd writes (RFC 4180: `,`, `"` quoting
//! with `""` inside, LF or CRLF rows, line breaks inside quoted fields) with the same
//! leniency as the `csv` crate: blank lines are skipped, a quote inside an unquoted field
//! is a literal, bytes after a closing quote belong to the field. A field is decoded only
//! when asked.
//!
//! It looks at 64 bytes at a time, as bit masks ([`masks`]), without a branch per byte:
//! which bytes are inside quotes is the running parity of the quotes before them, and the
//! commas and line breaks outside quotes are the field and row ends. A long quoted field
//! (`_raw`) is crossed with `memchr`, which looks for the next quote alone.

#[allow(unsafe_code)]
mod masks;

use std::borrow::Cow;
use std::ops::Range;

use memchr::memchr;

#[cfg(target_arch = "x86_64")]
use masks::Avx2;
use masks::{Baseline, Classify, Masks};

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
        #[cfg(target_arch = "x86_64")]
        if let Some(avx2) = Avx2::detect() {
            return avx2.vectorize(
                #[inline(always)]
                || self.next_row_with(avx2, fields),
            );
        }
        self.next_row_with(Baseline, fields)
    }

    /// [`Scanner::next_row`], with the masks of each block computed by `classify`.
    #[inline(always)]
    fn next_row_with(
        &mut self,
        classify: impl Classify,
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
        fields.clear();
        let mut field_start = p;
        let mut state = Carry::ROW_START;
        let mut block = p;
        while block < end {
            let was_inside = state.inside;
            let (bits, next) = match body[block..].first_chunk::<64>() {
                Some(whole) => structure(classify.masks(whole), state),
                None => structure(classify.masks(&padded(&body[block..])), state),
            };
            // Everything before the first line break outside quotes is this row's.
            let row_end = bits.line_break.trailing_zeros();
            let before = 1u64.checked_shl(row_end).map_or(!0, |b| b - 1);
            let mut commas = bits.comma & before;
            while commas != 0 {
                let at = block + commas.trailing_zeros() as usize;
                fields.push(field_start..at);
                field_start = at + 1;
                commas &= commas - 1;
            }
            if row_end < 64 {
                let at = block + row_end as usize;
                fields.push(field_start..at);
                self.pos = at
                    + if body[at..].starts_with(b"\r\n") {
                        2
                    } else {
                        1
                    };
                return Ok(Some(row_start..at));
            }
            state = next;
            block += 64;
            if was_inside && bits.quote == 0 {
                // A whole block inside quotes: a long quoted field (a 700-byte `_raw`),
                // crossed fastest by looking for the next quote alone.
                match memchr(b'"', body.get(block..).unwrap_or_default()) {
                    Some(0) => {}
                    Some(skip) => {
                        block += skip;
                        state = Carry::INSIDE;
                    }
                    None => block = end,
                }
            }
        }
        if !self.complete {
            // Not the row's end, only the end of what has arrived.
            return Ok(None);
        }
        if state.inside {
            return Err(Unterminated);
        }
        fields.push(field_start..end);
        self.pos = end;
        Ok(Some(row_start..end))
    }
}

/// Up to 64 bytes (a body's last, partial block, or a short value) as a block, padded
/// with zero bytes, which are none of the bytes the masks look for.
fn padded(bytes: &[u8]) -> [u8; 64] {
    let mut block = [0; 64];
    block[..bytes.len()].copy_from_slice(bytes);
    block
}

/// What a block needs to know of the bytes before it.
#[derive(Debug, Clone, Copy)]
struct Carry {
    /// The previous byte is inside a quoted field (or is its opening quote).
    inside: bool,
    /// The previous byte ends a field (or there is none): a quote here opens one.
    field_end: bool,
    /// The previous byte is a closing quote: a quote here is the second of a `""`.
    closing: bool,
}

impl Carry {
    const ROW_START: Carry = Carry {
        inside: false,
        field_end: true,
        closing: false,
    };
    const INSIDE: Carry = Carry {
        inside: true,
        field_end: false,
        closing: false,
    };
}

/// The field and row ends of a block, its commas and line breaks outside quotes, and
/// the quotes that open or close a quoted field.
struct Ends {
    comma: u64,
    line_break: u64,
    quote: u64,
}

/// The field and row ends of a block, and what the next block needs to know of it.
///
/// A quote opens a quoted field only at a field's start, or right after a closing quote
/// (the pair is an escaped quote); elsewhere it is a literal byte. The parity of the
/// quotes before each byte tells whether it is inside quotes if every quote counts; a
/// quote that counts but should not is dropped, lowest first, and the parity taken
/// again: in splunkd's output no quote is ever dropped, so this runs once.
#[inline(always)]
fn structure(bytes: Masks, carry: Carry) -> (Ends, Carry) {
    let mut quotes = bytes.quote;
    loop {
        let inside = prefix_xor(quotes) ^ if carry.inside { !0 } else { 0 };
        let opening = quotes & inside;
        let closing = quotes & !inside;
        let comma = bytes.comma & !inside;
        let line_break = bytes.line_break & !inside;
        let field_end = comma | line_break;
        let may_open =
            field_end << 1 | u64::from(carry.field_end) | closing << 1 | u64::from(carry.closing);
        let stray = opening & !may_open;
        if stray == 0 {
            let last = |mask: u64| mask >> 63 == 1;
            return (
                Ends {
                    comma,
                    line_break,
                    quote: quotes,
                },
                Carry {
                    inside: last(inside),
                    field_end: last(field_end),
                    closing: last(closing),
                },
            );
        }
        quotes &= !(stray & stray.wrapping_neg());
    }
}

/// Bit `i` of the result is the parity of bits `0..=i` of `x`.
#[inline(always)]
fn prefix_xor(mut x: u64) -> u64 {
    for shift in [1, 2, 4, 8, 16, 32] {
        x ^= x << shift;
    }
    x
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
    if raw.len() >= 2 && raw.ends_with(b"\"") && !has_quote(&raw[1..raw.len() - 1]) {
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

/// Whether `bytes` hold a quote: a field the rule reads is mostly short, and a look at
/// one block is cheaper than setting up a `memchr` search.
fn has_quote(bytes: &[u8]) -> bool {
    match bytes.len() {
        0..=64 => Baseline.masks(&padded(bytes)).quote != 0,
        _ => memchr(b'"', bytes).is_some(),
    }
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
    use proptest::prelude::*;

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

    /// Bodies of the bytes that matter, with rows long enough to cross 64-byte blocks,
    /// and runs without a quote longer than a block (a `_raw`), which the scanner
    /// crosses with `memchr` when they are quoted.
    fn bodies() -> impl Strategy<Value = Vec<u8>> {
        let pieces = prop_oneof![
            8 => Just(b"\"".to_vec()),
            8 => Just(b",".to_vec()),
            1 => Just(b"\r".to_vec()),
            2 => Just(b"\n".to_vec()),
            12 => Just(b"a".to_vec()),
            1 => (60..200usize).prop_map(|n| b"a,\n".repeat(n / 3)),
        ];
        prop::collection::vec(pieces, 0..300).prop_map(|p| p.concat())
    }

    /// The rows of `body` read in pieces: `cuts` ends of what has arrived, then the whole.
    fn scan_arriving(body: &[u8], cuts: &[usize]) -> Result<Vec<Range<usize>>, Unterminated> {
        let (mut rows, mut fields, mut pos) = (Vec::new(), Vec::new(), 0);
        for &cut in cuts {
            let mut scanner = Scanner::resume(&body[..cut.min(body.len())], pos, false);
            while let Some(row) = scanner.next_row(&mut fields)? {
                rows.push(row);
            }
            pos = scanner.pos();
        }
        let mut scanner = Scanner::resume(body, pos, true);
        while let Some(row) = scanner.next_row(&mut fields)? {
            rows.push(row);
        }
        Ok(rows)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1024))]

        #[test]
        fn the_baseline_masks_split_as_the_detected_ones(body in bodies()) {
            // `next_row` uses the best masks this CPU has; the baseline ones serve the
            // CPUs without them.
            let rows = |baseline: bool| {
                let mut scanner = Scanner::resume(&body, 0, true);
                let mut fields = Vec::new();
                let mut rows = Vec::new();
                loop {
                    let row = if baseline {
                        scanner.next_row_with(Baseline, &mut fields)
                    } else {
                        scanner.next_row(&mut fields)
                    };
                    match row {
                        Ok(Some(row)) => rows.push((row, fields.clone())),
                        end => return (rows, end.is_ok()),
                    }
                }
            };
            prop_assert_eq!(rows(true), rows(false));
        }

        #[test]
        fn any_body_splits_like_a_csv_reader(body in bodies()) {
            if let Ok(rows) = scan(&body) {
                let values: Vec<Vec<String>> = rows.into_iter().map(|r| r.1).collect();
                prop_assert_eq!(values, reference(&body));
            }
        }

        #[test]
        fn any_body_splits_alike_however_it_arrives(
            body in bodies(),
            mut cuts in prop::collection::vec(0..1000usize, 0..6),
        ) {
            cuts.sort_unstable();
            prop_assert_eq!(scan_arriving(&body, &cuts), scan_arriving(&body, &[]));
        }
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
