//! The CSV body of an execute request and the body of its reply.
//!
//! Every input row goes back out byte for byte: its raw bytes are copied, never re-quoted
//! or re-encoded, so fields the rule does not read (`_raw`, `_time`, `_chunked_idx`, every
//! `__mv_` column) cannot change, whatever their quoting or encoding. The annotation
//! columns are appended to the header and to each row, and every line ends with CRLF.
//!
//! A reply is planned before it is written: the first pass parses each row, applies the
//! rule and notes the row's byte range and annotation; the reply's length is then known,
//! so the chunk header can be written and the rows copied to the output through a small
//! buffer, without building the reply body in memory.
//! The planning pass runs as the body arrives, piece by piece ([`Annotator::advance`]),
//! so its work overlaps the reading of the rest; a row split between two pieces is put
//! together in a small copy. [`Annotator::reply`] plans whatever is left, in place.

use std::borrow::Cow;
use std::fmt;
use std::io::{self, Write};
use std::ops::Range;

use crate::annotate::{self, Value, FIELDS};
use crate::csvscan::{decode, locate, Scanner, Value as Located};
use crate::fields::{Columns, FieldMap};
use crate::rule::Detector;

/// Line terminator of every output line, as splunklib writes it on every platform.
const CRLF: &[u8] = b"\r\n";

/// Why a body could not be processed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyError {
    /// A row's field count differs from the header's.
    Ragged {
        /// 1-based row number, the header being row 1.
        row: usize,
        /// Fields in that row.
        fields: usize,
        /// Fields in the header.
        expected: usize,
    },
    /// A quoted field is still open at the end of the body.
    Unterminated {
        /// 1-based row number.
        row: usize,
    },
    /// An input field has the name of a field this command adds.
    Clash(String),
}

impl fmt::Display for BodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BodyError::Ragged {
                row,
                fields,
                expected,
            } => write!(
                f,
                "malformed CSV body: row {row} has {fields} fields but the header has {expected}"
            ),
            BodyError::Unterminated { row } => write!(
                f,
                "malformed CSV body: row {row} has a quoted field that is never closed"
            ),
            BodyError::Clash(name) => write!(
                f,
                "the events already have a field named '{name}', which this command adds; \
rename it first (| rename {name} AS orig_{name})"
            ),
        }
    }
}

impl std::error::Error for BodyError {}

/// One output row: a byte range of the input body and the annotation cells that follow.
#[derive(Debug, Clone)]
struct Row {
    raw: Range<usize>,
    /// Annotation cells and line end, in `Annotator::notes`; `None` for the empty cells.
    note: Option<Range<usize>>,
}

/// Applies the rule to execute bodies, row by row as they arrive. Its buffers are reused
/// from chunk to chunk.
pub struct Annotator {
    detector: Detector,
    fields: FieldMap,
    filter: bool,
    /// `,detection_name,...` plus the line end: appended to the header line.
    header_suffix: Vec<u8>,
    /// `,,,...` plus the line end: appended to every row that does not match.
    empty_suffix: Vec<u8>,
    rows: Vec<Row>,
    notes: Vec<u8>,
    /// How far the body being planned has been read.
    progress: Progress,
    /// The bytes from `progress.pos` to the end of the pieces seen so far: the start of a
    /// row that began in an earlier piece.
    carry: Vec<u8>,
    /// Per-row work buffers: field ranges, and the values the rule reads.
    cells: Vec<Range<usize>>,
    values: RowValues,
}

/// The values of one row that the field mapping reads, decoded only when asked for.
#[derive(Default)]
struct RowValues {
    /// For each used column, whether it is to be read and has not been decoded yet.
    pending: Vec<bool>,
    /// Where each decoded value is; empty for the others.
    found: Vec<Located>,
    /// Values that needed unescaping.
    scratch: Vec<u8>,
}

impl RowValues {
    /// Starts a row of `columns` used columns, none of them marked or decoded.
    fn start(&mut self, columns: usize) {
        self.pending.clear();
        self.pending.resize(columns, false);
        self.found.clear();
        self.found.resize(columns, Located::Body(0..0));
        self.scratch.clear();
    }

    /// Decodes those of `keys` that are pending, the value of key `k` being the field at
    /// `field(k)` of `body`.
    fn decode(
        &mut self,
        keys: impl Iterator<Item = usize>,
        field: impl Fn(usize) -> Range<usize>,
        body: &[u8],
    ) {
        for k in keys {
            if std::mem::take(&mut self.pending[k]) {
                self.found[k] = locate(body, field(k), &mut self.scratch);
            }
        }
    }

    /// The value of key `k`, once decoded (empty before).
    fn get<'a>(&'a self, body: &'a [u8], k: usize) -> &'a [u8] {
        match &self.found[k] {
            Located::Body(range) => &body[range.clone()],
            Located::Scratch(range) => &self.scratch[range.clone()],
        }
    }
}

/// The planning state of one body.
#[derive(Default)]
struct Progress {
    /// Where the next row starts.
    pos: usize,
    /// The header row, its width, and the columns the rule reads, once it has arrived.
    header: Option<Header>,
    /// Rows seen, the header included.
    row: usize,
    /// Reply length so far.
    len: usize,
    /// The first problem found; planning stops there.
    error: Option<BodyError>,
    /// Whether the body is wholly planned (and the next call starts a new one).
    done: bool,
    /// Set when a row outgrew [`MAX_CARRY`]: `advance` plans no more of this body.
    stalled: bool,
}

/// The most bytes of a row kept to be completed by the next pieces. A longer row (a
/// field of many megabytes) is left to [`Annotator::reply`], which plans it in place.
const MAX_CARRY: usize = 4 << 20;

/// How many bytes of a piece are first added to a row begun in an earlier piece: more
/// than most rows need. Each further try adds as many as the row has, so that within a
/// piece a long row is scanned a few times over at most; with 1 MiB pieces and the 4 MiB
/// cap, a row is scanned a handful of times in all.
const FIRST_TAKE: usize = 4 << 10;

struct Header {
    range: Range<usize>,
    width: usize,
    /// The columns any role reads, and the roles renumbered to positions in that list.
    used: Vec<usize>,
    columns: Columns,
}

/// A planned reply body, ready to be measured and written.
pub struct Reply<'a> {
    body: &'a [u8],
    header: Option<Range<usize>>,
    annotator: &'a Annotator,
    len: usize,
}

impl Annotator {
    /// An annotator that applies `detector` to the fields named by `fields`, and with
    /// `filter` keeps only the matching rows.
    pub fn new(detector: Detector, fields: FieldMap, filter: bool) -> Self {
        let mut header_suffix = Vec::new();
        let mut mv_names = Vec::new();
        for field in FIELDS {
            header_suffix.push(b',');
            header_suffix.extend_from_slice(field.name.as_bytes());
            if field.multivalue {
                mv_names.push(format!("__mv_{}", field.name));
            }
        }
        for name in &mv_names {
            header_suffix.push(b',');
            header_suffix.extend_from_slice(name.as_bytes());
        }
        header_suffix.extend_from_slice(CRLF);
        let mut empty_suffix = vec![b','; FIELDS.len() + mv_names.len()];
        empty_suffix.extend_from_slice(CRLF);
        Annotator {
            detector,
            fields,
            filter,
            header_suffix,
            empty_suffix,
            rows: Vec::new(),
            notes: Vec::new(),
            progress: Progress::default(),
            carry: Vec::new(),
            cells: Vec::new(),
            values: RowValues::default(),
        }
    }

    /// Plans the rows of `piece`, the bytes of the body being received from `offset` on,
    /// that have wholly arrived, the next piece to come starting where this one ends.
    /// Called as the body comes in, it applies the rule while the rest is still on its
    /// way; [`Annotator::reply`] does the remainder.
    pub fn advance(&mut self, offset: usize, piece: &[u8]) {
        self.begin();
        if self.progress.error.is_some() || self.progress.stalled {
            return;
        }
        if offset != self.progress.pos + self.carry.len() {
            // Not the bytes that follow those seen: the rest is left to `reply`.
            self.stall();
            return;
        }
        if let Err(e) = self.plan_piece(offset, piece) {
            self.progress.error = Some(e);
        }
    }

    /// Plans the whole `body` (of which [`Annotator::advance`] may have planned a part)
    /// and returns the reply.
    pub fn reply<'a>(&'a mut self, body: &'a [u8]) -> Result<Reply<'a>, BodyError> {
        self.begin();
        self.progress.done = true;
        self.carry.clear();
        if let Some(e) = self.progress.error.take() {
            return Err(e);
        }
        self.scan(body, 0, true)?;
        let header = self.progress.header.as_ref().map(|h| h.range.clone());
        Ok(Reply {
            body,
            header,
            len: self.progress.len,
            annotator: self,
        })
    }

    /// Starts afresh if the last body has been replied to.
    fn begin(&mut self) {
        if self.progress.done {
            self.progress = Progress::default();
            self.rows.clear();
            self.notes.clear();
            self.carry.clear();
        }
    }

    /// Plans what `piece` (at `offset` of the body) completes: first the row begun in
    /// earlier pieces, in `carry`, then the rows inside the piece, in place; what is left
    /// of the piece, the start of the next row, is kept in `carry`.
    fn plan_piece(&mut self, offset: usize, piece: &[u8]) -> Result<(), BodyError> {
        let mut taken = 0;
        while self.progress.pos < offset {
            if taken == piece.len() {
                // The row goes on past this piece.
                return Ok(());
            }
            let more = self
                .carry
                .len()
                .max(FIRST_TAKE)
                .min(piece.len() - taken)
                .min(MAX_CARRY - self.carry.len());
            if more == 0 {
                self.stall();
                return Ok(());
            }
            // Exactly: the row's own doubling keeps the copying linear.
            self.carry.reserve_exact(more);
            self.carry.extend_from_slice(&piece[taken..taken + more]);
            taken += more;
            let carry = std::mem::take(&mut self.carry);
            let result = self.scan(&carry, self.progress.pos, false);
            self.carry = carry;
            result?;
        }
        self.carry.clear();
        self.scan(piece, offset, false)?;
        let rest = &piece[self.progress.pos - offset..];
        // Only a caller giving pieces larger than the cap (not framing's) can have this.
        if rest.len() > MAX_CARRY {
            self.stall();
        } else {
            self.carry.extend_from_slice(rest);
        }
        Ok(())
    }

    /// Leaves the rest of the body to [`Annotator::reply`].
    fn stall(&mut self) {
        self.progress.stalled = true;
        self.carry = Vec::new();
    }

    /// Plans the rows of `body`, the bytes of the body from `base` on (the whole body if
    /// `complete`), from where the last call stopped.
    fn scan(&mut self, body: &[u8], base: usize, complete: bool) -> Result<(), BodyError> {
        let progress = &mut self.progress;
        let mut scanner = Scanner::resume(body, progress.pos - base, complete);
        let unterminated = |row| BodyError::Unterminated { row };
        if progress.header.is_none() {
            let Some(range) = scanner
                .next_row(&mut self.cells)
                .map_err(|_| unterminated(1))?
            else {
                progress.pos = base + scanner.pos();
                return Ok(());
            };
            let (used, columns) = columns(&self.fields, body, &self.cells)?.compact();
            progress.len = range.len() + self.header_suffix.len();
            progress.row = 1;
            progress.header = Some(Header {
                range: base + range.start..base + range.end,
                width: self.cells.len(),
                used,
                columns,
            });
        }
        let Some(header) = &progress.header else {
            return Ok(());
        };
        let (used, columns) = (&header.used, &header.columns);
        let fields = &mut self.cells;
        while let Some(raw) = scanner
            .next_row(fields)
            .map_err(|_| unterminated(progress.row + 1))?
        {
            progress.row += 1;
            progress.pos = base + scanner.pos();
            if fields.len() != header.width {
                return Err(BodyError::Ragged {
                    row: progress.row,
                    fields: fields.len(),
                    expected: header.width,
                });
            }
            // Decode only the values the field mapping will look at: a CIM `process`
            // hides `CommandLine`, whose copy need not be unescaped. The process name is
            // decoded first: in exact mode it rules out most events on its own.
            let field = |k: usize| fields[used[k]].clone();
            let values = &mut self.values;
            values.start(used.len());
            columns.mark_read(
                |k| matches!(&body[field(k)], b"" | b"\"\""),
                &mut values.pending,
            );
            values.decode(columns.process_keys().copied(), field, body);
            let name = columns.process_name(|&k| Some(values.get(body, k)));
            let note = if self.detector.may_match_process(name) {
                values.decode(0..used.len(), field, body);
                let event = columns.event(|&k| Some(values.get(body, k)));
                self.detector.detect(&event).map(|detection| {
                    let start = self.notes.len();
                    write_cells(&mut self.notes, &annotate::annotate(&detection, &event));
                    self.notes.extend_from_slice(CRLF);
                    start..self.notes.len()
                })
            } else {
                None
            };
            if self.filter && note.is_none() {
                continue;
            }
            progress.len += raw.len() + note.as_ref().map_or(self.empty_suffix.len(), |n| n.len());
            self.rows.push(Row {
                raw: base + raw.start..base + raw.end,
                note,
            });
        }
        progress.pos = base + scanner.pos();
        Ok(())
    }
}

/// Resolves the field map against the header row, refusing input fields that the
/// annotation would duplicate.
fn columns(map: &FieldMap, body: &[u8], header: &[Range<usize>]) -> Result<Columns, BodyError> {
    let names: Vec<Cow<[u8]>> = header.iter().map(|f| decode(&body[f.clone()])).collect();
    for name in &names {
        let plain = name.strip_prefix(b"__mv_").unwrap_or(name);
        if FIELDS.iter().any(|f| f.name.as_bytes() == plain) {
            return Err(BodyError::Clash(String::from_utf8_lossy(name).into_owned()));
        }
    }
    Ok(map.resolve(|name| names.iter().position(|h| h.as_ref() == name.as_bytes())))
}

impl Reply<'_> {
    /// The reply body's length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the reply body is empty (the request body had no header).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Writes the reply body: exactly [`Reply::len`] bytes, a row and its annotation at a
    /// time, to `out`, which should gather them into large writes (the command gives it a
    /// `BufWriter`). Handing the kernel the rows and their annotations as slices instead
    /// (`writev`) saves copying them, but whole sessions took 4 to 17% longer that way
    /// (most with small events), likely because the kernel deals with each slice on its
    /// own, two a row, while splunkd waits for the pipe.
    pub fn write_to<W: Write>(&self, out: &mut W) -> io::Result<()> {
        let Some(header) = &self.header else {
            return Ok(());
        };
        let a = self.annotator;
        out.write_all(&self.body[header.clone()])?;
        out.write_all(&a.header_suffix)?;
        for row in &a.rows {
            out.write_all(&self.body[row.raw.clone()])?;
            out.write_all(match &row.note {
                Some(note) => &a.notes[note.clone()],
                None => &a.empty_suffix,
            })?;
        }
        Ok(())
    }
}

/// Appends the annotation cells, each preceded by a comma: the plain values first, then
/// the `__mv_` encoding of every multivalue field, matching the header suffix.
fn write_cells(out: &mut Vec<u8>, values: &[Value]) {
    for value in values {
        out.push(b',');
        match value {
            Value::Text(text) => write_cell(out, text),
            Value::Number(n) => out.extend_from_slice(n.to_string().as_bytes()),
            Value::List(items) => write_cell(out, &items.join(&b'\n')),
        }
    }
    for value in values {
        if let Value::List(items) = value {
            out.push(b',');
            if items.len() > 1 {
                let mut encoded = Vec::new();
                encode_multivalue(&mut encoded, items);
                write_cell(out, &encoded);
            }
        }
    }
}

/// Appends one CSV cell, quoted only where the value needs it, with quotes doubled.
pub fn write_cell(out: &mut Vec<u8>, value: &[u8]) {
    if !value
        .iter()
        .any(|&b| matches!(b, b',' | b'"' | b'\r' | b'\n'))
    {
        out.extend_from_slice(value);
        return;
    }
    out.push(b'"');
    for &b in value {
        if b == b'"' {
            out.push(b'"');
        }
        out.push(b);
    }
    out.push(b'"');
}

/// Appends Splunk's multivalue encoding: each value wrapped in `$`, with every `$` inside
/// doubled, joined by `;`.
pub fn encode_multivalue<V: AsRef<[u8]>>(out: &mut Vec<u8>, values: &[V]) {
    for (i, value) in values.iter().enumerate() {
        if i > 0 {
            out.push(b';');
        }
        out.push(b'$');
        for &b in value.as_ref() {
            if b == b'$' {
                out.push(b'$');
            }
            out.push(b);
        }
        out.push(b'$');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rule::Mode;

    /// The reply body, and how many rows were annotated.
    fn run(body: &[u8], filter: bool) -> Result<(Vec<u8>, usize), BodyError> {
        let mut annotator = Annotator::new(Detector::new(Mode::Exact), FieldMap::default(), filter);
        let out = reply_bytes(&mut annotator, body)?;
        let matches = annotator.rows.iter().filter(|r| r.note.is_some()).count();
        Ok((out, matches))
    }

    fn suffix_of_empty_cells() -> String {
        ",".repeat(FIELDS.len() + 6) + "\r\n"
    }

    #[test]
    fn encodes_multivalues_with_dollars_doubled() {
        let mut out = Vec::new();
        encode_multivalue(&mut out, &["p$", "q", "", "$$"]);
        assert_eq!(out, b"$p$$$;$q$;$$;$$$$$$");
    }

    #[test]
    fn quotes_only_cells_that_need_it() {
        let mut out = Vec::new();
        for v in ["plain text", "a,b", "say \"hi\"", "two\nlines", "cr\r", ""] {
            write_cell(&mut out, v.as_bytes());
            out.push(b'|');
        }
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "plain text|\"a,b\"|\"say \"\"hi\"\"\"|\"two\nlines\"|\"cr\r\"||"
        );
    }

    #[test]
    fn passes_rows_through_byte_for_byte() {
        let body = b"\"_raw\",x,\"__mv_x\"\n\"a,\"\"b\"\"\nc\",\"\xff\",\n\"\",,\"$1$;$2$\"\n";
        let (out, matches) = run(body, false).unwrap();
        assert_eq!(matches, 0);
        let empty = suffix_of_empty_cells();
        let mut want = b"\"_raw\",x,\"__mv_x\"".to_vec();
        want.extend_from_slice(&annotator_header());
        want.extend_from_slice(b"\"a,\"\"b\"\"\nc\",\"\xff\",");
        want.extend_from_slice(empty.as_bytes());
        want.extend_from_slice(b"\"\",,\"$1$;$2$\"");
        want.extend_from_slice(empty.as_bytes());
        assert_eq!(out, want);
    }

    fn annotator_header() -> Vec<u8> {
        Annotator::new(Detector::new(Mode::Exact), FieldMap::default(), false).header_suffix
    }

    #[test]
    fn crlf_and_a_missing_last_line_end_give_the_same_reply() {
        let lf = run(b"a,process_name\n1,x\n2,y\n", false).unwrap();
        let crlf = run(b"a,process_name\r\n1,x\r\n2,y\r\n", false).unwrap();
        let bare = run(b"a,process_name\n1,x\n2,y", false).unwrap();
        assert_eq!(lf, crlf);
        assert_eq!(lf, bare);
    }

    #[test]
    fn annotates_matching_rows_and_filters() {
        let body = b"process_name,process,dest\nreg.exe,reg save HKLM\\SAM s,ws1\nx.exe,y,ws2\n";
        let (out, matches) = run(body, false).unwrap();
        assert_eq!(matches, 1);
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert!(lines[1].starts_with("reg.exe,reg save HKLM\\SAM s,ws1,Attempted Credential"));
        assert!(lines[1].contains(",exact,SAM,T1003,Credential Access,TA0006,"));
        assert_eq!(lines[2], format!("x.exe,y,ws2{}", ",".repeat(23)));
        let (filtered, _) = run(body, true).unwrap();
        let text = String::from_utf8(filtered).unwrap();
        assert_eq!(
            text.split("\r\n").count(),
            3,
            "header, one row, final empty"
        );
    }

    /// Accepts at most three bytes a call, as a pipe may take fewer bytes than offered.
    struct Trickle(Vec<u8>);

    impl Write for Trickle {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let n = buf.len().min(3);
            self.0.extend_from_slice(&buf[..n]);
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn replies_are_the_same_through_small_buffers_and_short_writes() {
        let long = "x".repeat(100);
        let body = format!(
            "process_name,process,dest\nreg.exe,reg save HKLM\\SAM s,ws1\nx.exe,{long},ws2\n"
        );
        let (whole, matches) = run(body.as_bytes(), false).unwrap();
        assert_eq!(matches, 1);
        let mut annotator = Annotator::new(Detector::new(Mode::Exact), FieldMap::default(), false);
        let reply = annotator.reply(body.as_bytes()).unwrap();
        for capacity in [1, 7, 64] {
            let mut out = io::BufWriter::with_capacity(capacity, Trickle(Vec::new()));
            reply.write_to(&mut out).unwrap();
            let out = out.into_inner().map_err(|_| "flush").unwrap().0;
            assert_eq!(out, whole, "buffer of {capacity} bytes");
        }
    }

    /// Gives `annotator` the bytes of `body` up to the last of `ends` in pieces ending
    /// there; returns how many rows it has planned.
    fn feed(
        annotator: &mut Annotator,
        body: &[u8],
        ends: impl IntoIterator<Item = usize>,
    ) -> usize {
        let mut start = 0;
        for end in ends {
            annotator.advance(start, &body[start..end]);
            start = end;
        }
        annotator.rows.len()
    }

    /// The reply to the whole `body`, after whatever `annotator` has been fed of it.
    fn reply_bytes(annotator: &mut Annotator, body: &[u8]) -> Result<Vec<u8>, BodyError> {
        let reply = annotator.reply(body)?;
        let mut out = Vec::new();
        reply.write_to(&mut out).unwrap();
        assert_eq!(out.len(), reply.len());
        Ok(out)
    }

    /// The ends of the pieces of `step` bytes that make up `body`.
    fn steps(body: &[u8], step: usize) -> impl Iterator<Item = usize> + '_ {
        (1..=body.len().div_ceil(step)).map(move |i| (i * step).min(body.len()))
    }

    #[test]
    fn planning_as_the_body_arrives_gives_the_same_reply() {
        let body = b"process_name,\"process\"\r\nreg.exe,\"reg save HKLM\\SAM \"\"s\"\"\"\nx,\"y\nz\"\n\ncmd.exe,reg save HKLM\\SYSTEM y\r\nreg.exe,\"reg save HKLM\\SECURITY\"";
        let (whole, _) = run(body, false).unwrap();
        let mut annotator = Annotator::new(Detector::new(Mode::Exact), FieldMap::default(), false);
        for step in 1..=body.len() {
            // Every row but the last, which has no line break, is planned on arrival.
            assert_eq!(
                feed(&mut annotator, body, steps(body, step)),
                3,
                "step {step}"
            );
            let out = reply_bytes(&mut annotator, body).unwrap();
            assert_eq!(
                String::from_utf8_lossy(&out),
                String::from_utf8_lossy(&whole),
                "step {step}"
            );
        }
        // Pieces that do not follow one another are left to the reply.
        feed(&mut annotator, body, [30]);
        annotator.advance(40, &body[40..]);
        assert!(annotator.progress.stalled);
        assert_eq!(reply_bytes(&mut annotator, body).unwrap(), whole);
        // An error seen early is reported by the reply, and the next body starts afresh.
        annotator.advance(0, b"a,b\n1,2\n3\n4");
        assert!(matches!(
            annotator.reply(b"a,b\n1,2\n3\n4,5\n"),
            Err(BodyError::Ragged { row: 3, .. })
        ));
        assert!(annotator.reply(b"a,b\n1,2\n").is_ok());
    }

    /// The reply to `body` (or the error) when it arrives cut at `cuts`; checks that
    /// every row wholly arrived before the last cut was planned on arrival.
    fn run_cut(body: &[u8], cuts: &[usize]) -> Result<Vec<u8>, BodyError> {
        let mut annotator = Annotator::new(Detector::new(Mode::Exact), FieldMap::default(), false);
        let mut ends: Vec<usize> = cuts.iter().map(|c| c % (body.len() + 1)).collect();
        ends.sort_unstable();
        let arrived = &body[..ends.last().copied().unwrap_or(0)];
        let planned = feed(&mut annotator, body, ends);
        if annotator.progress.error.is_none() {
            let mut scanner = Scanner::resume(arrived, 0, false);
            let mut rows = 0;
            while scanner.next_row(&mut annotator.cells).unwrap().is_some() {
                rows += 1;
            }
            assert_eq!(planned, rows.max(1) - 1, "rows planned on arrival");
        }
        reply_bytes(&mut annotator, body)
    }

    proptest::proptest! {
        #[test]
        fn bodies_cut_anywhere_are_planned_as_if_whole(
            rows in proptest::collection::vec(
                proptest::sample::select(&[
                    "a", ",", "\"", "\n", "\r\n", "\"\"", "reg.exe,", "cmd.exe,",
                    "reg save HKLM\\SAM x", "\"reg save HKLM\\SYSTEM \"\"y\"\"\"",
                ][..]),
                0..60,
            ),
            cuts in proptest::collection::vec(0..1usize << 16, 0..10),
        ) {
            let body = format!("process_name,process\n{}", rows.concat());
            let whole = run(body.as_bytes(), false).map(|(out, _)| out);
            proptest::prop_assert_eq!(run_cut(body.as_bytes(), &cuts), whole);
        }
    }

    #[test]
    fn a_row_longer_than_the_carry_is_planned_by_the_reply() {
        let mut body = b"process_name,process,x\nreg.exe,\"reg save HKLM\\SAM ".to_vec();
        body.resize(body.len() + MAX_CARRY + FIRST_TAKE, b'a');
        body.extend_from_slice(b"\",y\ncmd.exe,reg save HKLM\\SYSTEM s,z\nx,y,z\n");
        let (whole, matches) = run(&body, false).unwrap();
        assert_eq!(matches, 2);
        let mut annotator = Annotator::new(Detector::new(Mode::Exact), FieldMap::default(), false);
        // Pieces smaller than the cap, one just over it (the carry fills up), and one whose
        // own rest of the row is over it.
        for step in [100_000, MAX_CARRY / 2, MAX_CARRY + 1, MAX_CARRY + 1000] {
            assert_eq!(feed(&mut annotator, &body, steps(&body, step)), 0);
            assert!(annotator.progress.stalled, "step {step}");
            assert_eq!(annotator.carry.capacity(), 0, "step {step}");
            assert!(
                reply_bytes(&mut annotator, &body).unwrap() == whole,
                "step {step}"
            );
        }
    }

    #[test]
    fn empty_and_header_only_bodies() {
        assert_eq!(run(b"", false).unwrap().0, b"");
        assert_eq!(run(b"\n", false).unwrap().0, b"");
        let (out, _) = run(b"a,b\n", false).unwrap();
        let mut want = b"a,b".to_vec();
        want.extend_from_slice(&annotator_header());
        assert_eq!(out, want);
    }

    #[test]
    fn rejects_ragged_and_unterminated_bodies() {
        assert_eq!(
            run(b"a,b\n1,2\n3\n", false).unwrap_err(),
            BodyError::Ragged {
                row: 3,
                fields: 1,
                expected: 2
            }
        );
        assert_eq!(
            run(b"a,b\n1,\"2\n", false).unwrap_err(),
            BodyError::Unterminated { row: 2 }
        );
        assert_eq!(
            run(b"a,\"b", false).unwrap_err(),
            BodyError::Unterminated { row: 1 }
        );
        // An even number of quotes, yet the last field is still open.
        assert_eq!(
            run(b"x,y,z\n1,a\"b,\"c", false).unwrap_err(),
            BodyError::Unterminated { row: 2 }
        );
    }

    #[test]
    fn quotes_inside_plain_fields_are_plain_bytes_in_every_row() {
        // A CSV reader takes `a"b` as three bytes; the last row is no exception.
        let (out, _) = run(b"x,y\n1,a\"b\n2,c\"d", false).unwrap();
        let text = String::from_utf8(out).unwrap();
        let empty = suffix_of_empty_cells();
        assert!(
            text.ends_with(&format!("1,a\"b{empty}2,c\"d{empty}")),
            "{text}"
        );
    }

    #[test]
    fn refuses_fields_it_would_add() {
        for header in [&b"x,risk_score\n"[..], b"x,\"__mv_reg_hive\"\n"] {
            assert!(matches!(run(header, false), Err(BodyError::Clash(_))));
        }
    }
}
