//! Chunk framing of Splunk's chunked protocol (SCP v2).
//!
//! Every message in both directions is `chunked 1.0,<metadata_length>,<body_length>\n`
//! followed by exactly that many bytes of JSON metadata and body, with nothing in between
//! and nothing after. Lengths count bytes, never characters. This module knows nothing
//! about what the metadata or the body mean.

use std::alloc::{self, Layout};
use std::fmt;
use std::io::{self, BufRead, Read, Write};
use std::sync::mpsc;
use std::thread;

use crate::os;

/// Largest metadata block accepted. A getinfo request carries the search string and a
/// few paths; 16 MiB is far beyond anything splunkd sends and keeps a lying header from
/// costing memory.
pub const MAX_METADATA_LEN: u64 = 16 << 20;

/// Largest body accepted. splunkd sends at most `maxresultrows` (50,000) events per
/// chunk; even at 20 KB per event that is 1 GB, so a larger claim is treated as garbage.
pub const MAX_BODY_LEN: u64 = 1 << 30;

/// How many bytes are read, at most, before a piece is handed on (see
/// [`ChunkReader::read_into`]) and the pages for the next are provided.
pub const PIECE: usize = 1 << 20;

/// Longest header line accepted: `chunked 1.0,` plus two numbers and some spacing.
const MAX_HEADER_LEN: u64 = 128;

/// When storage for a whole part cannot be had (an address-space limit, a claim far
/// beyond what the machine has), the storage starts at this size and grows as bytes
/// actually arrive.
const FIRST_STORAGE: usize = 64 << 20;

/// One chunk. The buffers are reused from chunk to chunk to avoid reallocating.
#[derive(Default)]
pub struct Chunk {
    metadata: Part,
    body: Part,
}

impl Chunk {
    /// The JSON metadata bytes.
    pub fn metadata(&self) -> &[u8] {
        self.metadata.bytes()
    }

    /// The body bytes (CSV for execute requests, empty for getinfo).
    pub fn body(&self) -> &[u8] {
        self.body.bytes()
    }
}

/// A part of a chunk (metadata or body): storage that is zero-filled when allocated and
/// kept for the next chunk, so that it grows to the largest part of the session, and how
/// much of it the part fills.
///
/// The storage is initialised so that a piece can be read with plain `read` calls as
/// large as the pipe holds: reading into a `Vec`'s spare capacity (`read_to_end`) starts
/// at 8 KiB per call and doubles, seven calls per MiB, each one waking splunkd. Large
/// zeroed storage costs nothing up front: the allocator maps fresh pages, which the
/// kernel makes real only when written.
#[derive(Default)]
struct Part {
    storage: Vec<u8>,
    len: usize,
}

impl Part {
    fn bytes(&self) -> &[u8] {
        &self.storage[..self.len]
    }
}

/// Shows the sizes only: the storage may hold an earlier request's metadata, session key
/// included, beyond the part's length.
impl fmt::Debug for Chunk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Chunk")
            .field("metadata_len", &self.metadata.len)
            .field("body_len", &self.body.len)
            .finish()
    }
}

/// Why a chunk could not be read.
#[derive(Debug)]
pub enum FrameError {
    /// The header line is not `chunked 1.0,<n>,<n>`.
    BadHeader(String),
    /// A length is larger than this command accepts.
    TooLarge {
        /// "metadata" or "body".
        part: &'static str,
        /// The length the header claimed.
        claimed: u64,
        /// The limit.
        limit: u64,
    },
    /// The input ended inside a header line.
    TruncatedHeader,
    /// The input ended inside a chunk's metadata or body.
    Truncated {
        /// "metadata" or "body".
        part: &'static str,
        /// Bytes expected.
        expected: u64,
        /// Bytes received.
        received: u64,
    },
    /// No memory for a chunk's metadata or body.
    NoMemory {
        /// "metadata" or "body".
        part: &'static str,
        /// The bytes asked for.
        bytes: u64,
    },
    /// Reading the input failed.
    Io(io::Error),
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::BadHeader(shown) => {
                write!(f, "malformed chunk header {shown} (expected \"chunked 1.0,<metadata length>,<body length>\")")
            }
            FrameError::TooLarge {
                part,
                claimed,
                limit,
            } => write!(
                f,
                "chunk {part} length {claimed} exceeds the limit of {limit} bytes"
            ),
            FrameError::TruncatedHeader => f.write_str("input ended inside a chunk header"),
            FrameError::Truncated {
                part,
                expected,
                received,
            } => write!(
                f,
                "input ended inside a chunk: {part} has {received} of {expected} bytes"
            ),
            FrameError::NoMemory { part, bytes } => {
                write!(f, "cannot allocate {bytes} bytes for a chunk {part}")
            }
            FrameError::Io(e) => write!(f, "cannot read input: {e}"),
        }
    }
}

impl std::error::Error for FrameError {}

/// Reads chunks from a buffered byte stream.
pub struct ChunkReader<R> {
    inner: R,
    line: Vec<u8>,
}

impl<R: BufRead> ChunkReader<R> {
    /// Wraps a reader. It should be buffered: the header is read byte-wise.
    pub fn new(inner: R) -> Self {
        ChunkReader {
            inner,
            line: Vec::with_capacity(MAX_HEADER_LEN as usize),
        }
    }

    /// Reads the next chunk into `chunk`, reusing its buffers. Returns `Ok(false)` at a
    /// clean end of input (nothing but stray line breaks after the last chunk).
    ///
    /// A body longer than one [`PIECE`] is also given to `on_piece`, piece by piece in
    /// order (where the piece starts in the body, and its bytes), on a second thread while
    /// the rest arrives, so that the caller can work on it meanwhile. Smaller bodies, and
    /// bodies whose storage must grow as they arrive, are not: `on_piece` is a head
    /// start, and the caller must be able to do without it.
    pub fn read_into(
        &mut self,
        chunk: &mut Chunk,
        mut on_piece: impl FnMut(usize, &[u8]) + Send,
    ) -> Result<bool, FrameError> {
        if !self.skip_line_breaks()? {
            return Ok(false);
        }
        self.line.clear();
        let n = (&mut self.inner)
            .take(MAX_HEADER_LEN)
            .read_until(b'\n', &mut self.line)
            .map_err(FrameError::Io)?;
        if self.line.last() != Some(&b'\n') {
            return Err(if n as u64 == MAX_HEADER_LEN {
                FrameError::BadHeader(shown(&self.line))
            } else {
                FrameError::TruncatedHeader
            });
        }
        let (meta_len, body_len) =
            parse_header(&self.line).ok_or_else(|| FrameError::BadHeader(shown(&self.line)))?;
        check_len("metadata", meta_len, MAX_METADATA_LEN)?;
        check_len("body", body_len, MAX_BODY_LEN)?;
        read_exact_into(
            &mut self.inner,
            "metadata",
            meta_len,
            &mut chunk.metadata,
            None,
        )?;
        read_exact_into(
            &mut self.inner,
            "body",
            body_len,
            &mut chunk.body,
            Some(&mut on_piece),
        )?;
        Ok(true)
    }

    /// Skips `\r` and `\n` bytes before a header; returns false at end of input.
    fn skip_line_breaks(&mut self) -> Result<bool, FrameError> {
        loop {
            let buf = match self.inner.fill_buf() {
                Ok(buf) => buf,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(FrameError::Io(e)),
            };
            if buf.is_empty() {
                return Ok(false);
            }
            let skip = buf
                .iter()
                .take_while(|&&b| b == b'\r' || b == b'\n')
                .count();
            let more = skip < buf.len();
            self.inner.consume(skip);
            if more {
                return Ok(true);
            }
        }
    }
}

fn check_len(part: &'static str, claimed: u64, limit: u64) -> Result<(), FrameError> {
    if claimed > limit {
        return Err(FrameError::TooLarge {
            part,
            claimed,
            limit,
        });
    }
    Ok(())
}

/// Called with each piece of a body as it arrives: where the piece starts in the body,
/// and its bytes.
type OnPiece<'f> = dyn for<'a> FnMut(usize, &'a [u8]) + Send + 'f;

/// Reads exactly `len` bytes into `part`, piece by piece; fails on early end of input.
///
/// Memory follows the data, never the claim: storage for the whole part is allocated
/// (with an eighth more, so that the next, slightly larger, body fits), but its pages are
/// made real only as pieces arrive, each just before it is read (see [`os`]).
///
/// When the whole part fits its storage and is longer than one piece, `on_piece` is given
/// each piece on a second thread as soon as it has been read, while this thread reads
/// the next: the work on a body overlaps its arrival, which is otherwise spent waiting
/// for splunkd. It is not called otherwise.
fn read_exact_into<R: Read>(
    reader: &mut R,
    part_name: &'static str,
    len: u64,
    part: &mut Part,
    mut on_piece: Option<&mut OnPiece<'_>>,
) -> Result<(), FrameError> {
    // `check_len` has bounded `len` far below `usize::MAX`.
    let len = len as usize;
    let no_memory = |bytes: usize| FrameError::NoMemory {
        part: part_name,
        bytes: bytes as u64,
    };
    part.len = 0;
    if part.storage.len() < len {
        // The old bytes are not needed: freed before the new storage is allocated.
        part.storage = Vec::new();
        part.storage = zeroed(len + len / 8)
            .or_else(|| zeroed(len.min(FIRST_STORAGE)))
            .ok_or_else(|| no_memory(len.min(FIRST_STORAGE)))?;
        os::advise_huge_pages(&mut part.storage);
    }
    while part.len < len {
        if part.storage.len() == part.len {
            // Only when storage for the whole part could not be had: doubled, copying
            // the bytes received so far.
            let size = (part.len * 2).min(len);
            let mut larger = zeroed(size).ok_or_else(|| no_memory(size))?;
            larger[..part.len].copy_from_slice(part.bytes());
            part.storage = larger;
        }
        let end = part.storage.len().min(len);
        let target = &mut part.storage[part.len..end];
        // Handed on only when the whole part is read into storage that need not grow,
        // so that a piece's offset in `target` is its offset in the part.
        let received = match on_piece.as_mut() {
            Some(on_piece) if part.len == 0 && end == len && len > PIECE => {
                read_overlapped(reader, target, on_piece)
            }
            _ => read_pieces(reader, target, |_, _| {}),
        }
        .map_err(FrameError::Io)?;
        part.len += received;
        if part.len < end {
            return Err(FrameError::Truncated {
                part: part_name,
                expected: len as u64,
                received: part.len as u64,
            });
        }
    }
    Ok(())
}

/// Reads `target` full piece by piece, calling `arrived` with each piece read (its
/// offset in `target` and its bytes); returns the bytes read, fewer at end of input.
///
/// Pieces end on [`PIECE`] boundaries of the address space, so that the page hints for
/// the pieces, given for the whole 64 KiB blocks inside each, leave out only the partial
/// blocks at the two ends of `target`.
fn read_pieces<'a, R: Read>(
    reader: &mut R,
    mut target: &'a mut [u8],
    mut arrived: impl FnMut(usize, &'a [u8]),
) -> io::Result<usize> {
    let mut offset = 0;
    while !target.is_empty() {
        let to_boundary = PIECE - target.as_ptr() as usize % PIECE;
        let len = to_boundary.min(target.len());
        let (piece, rest) = std::mem::take(&mut target).split_at_mut(len);
        os::provide(piece);
        let received = fill(reader, piece)?;
        let piece: &'a [u8] = piece;
        if received > 0 {
            arrived(offset, &piece[..received]);
        }
        offset += received;
        if received < piece.len() {
            break;
        }
        target = rest;
    }
    Ok(offset)
}

/// [`read_pieces`], with each piece handed to `on_piece` on a second thread while this one
/// reads the next. Without a second thread (the system refuses one), reads without
/// calling `on_piece`.
fn read_overlapped<R: Read>(
    reader: &mut R,
    target: &mut [u8],
    on_piece: &mut OnPiece<'_>,
) -> io::Result<usize> {
    thread::scope(|scope| {
        let (send, receive) = mpsc::channel::<(usize, &[u8])>();
        let worker = thread::Builder::new()
            .name("plan".into())
            .spawn_scoped(scope, move || {
                for (offset, piece) in receive {
                    on_piece(offset, piece);
                }
            });
        match worker {
            // Dropping the sender when reading ends lets the worker finish.
            Ok(_) => read_pieces(reader, target, move |offset, piece| {
                let _ = send.send((offset, piece));
            }),
            Err(_) => read_pieces(reader, target, |_, _| {}),
        }
    })
}

/// Reads into `buf` until it is full or the input ends; returns the bytes read.
fn fill<R: Read>(reader: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            // A reader claiming more than it was given room for is not believed.
            Ok(n) => filled += n.min(buf.len() - filled),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// `bytes` zero bytes, or `None` where the allocator has no room for them (`vec![0;
/// bytes]` would abort the process instead). Large storage comes from fresh pages, which
/// are zero without being written.
#[allow(unsafe_code)]
fn zeroed(bytes: usize) -> Option<Vec<u8>> {
    #[cfg(test)]
    if bytes > tests::ALLOCATION_LIMIT.get() {
        return None;
    }
    if bytes == 0 {
        return Some(Vec::new());
    }
    let layout = Layout::array::<u8>(bytes).ok()?;
    // SAFETY: `layout` has a non-zero size. A non-null pointer comes from the global
    // allocator with the layout of a `Vec<u8>` of capacity `bytes`, and `alloc_zeroed` has
    // initialised all of its bytes, so the vector owns it and may use all `bytes`.
    unsafe {
        let ptr = alloc::alloc_zeroed(layout);
        (!ptr.is_null()).then(|| Vec::from_raw_parts(ptr, bytes, bytes))
    }
}

/// Parses `chunked 1.0,<meta>,<body>` followed by `\n` or `\r\n`, with the spacing that
/// splunklib's reader tolerates (`chunked\s+1.0\s*,\s*(\d+)\s*,\s*(\d+)\s*\n`).
fn parse_header(line: &[u8]) -> Option<(u64, u64)> {
    let rest = line.strip_prefix(b"chunked")?;
    if !rest.first()?.is_ascii_whitespace() {
        return None;
    }
    let rest = rest.trim_ascii_start().strip_prefix(b"1.0")?;
    let mut parts = rest.split(|&b| b == b',');
    if !parts.next()?.trim_ascii().is_empty() {
        return None;
    }
    let meta = parse_len(parts.next()?)?;
    let body = parse_len(parts.next()?)?;
    match parts.next() {
        None => Some((meta, body)),
        Some(_) => None,
    }
}

/// A decimal length: ASCII digits only (no sign), surrounding spaces allowed.
fn parse_len(field: &[u8]) -> Option<u64> {
    let digits = field.trim_ascii();
    if digits.is_empty() || digits.len() > 19 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    digits.iter().try_fold(0u64, |n, &d| {
        n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}

/// A bad header as it may be shown to a user: printable ASCII only, at most 40 bytes.
fn shown(line: &[u8]) -> String {
    let mut out = String::from("\"");
    for &b in line.iter().take(40) {
        out.extend(std::ascii::escape_default(b).map(char::from));
    }
    if line.len() > 40 {
        out.push_str("...");
    }
    out.push('"');
    out
}

/// Writes a chunk header for the given lengths.
pub fn write_header<W: Write>(out: &mut W, metadata_len: usize, body_len: usize) -> io::Result<()> {
    writeln!(out, "chunked 1.0,{metadata_len},{body_len}")
}

/// Writes a whole chunk: header, metadata and body, and nothing else.
pub fn write_chunk<W: Write>(out: &mut W, metadata: &[u8], body: &[u8]) -> io::Result<()> {
    write_header(out, metadata.len(), body.len())?;
    out.write_all(metadata)?;
    out.write_all(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    thread_local! {
        /// Larger storage than this cannot be had, in the tests that say so.
        pub static ALLOCATION_LIMIT: Cell<usize> = const { Cell::new(usize::MAX) };
    }

    type Chunks = Vec<(Vec<u8>, Vec<u8>)>;

    fn read_all(input: &[u8]) -> Result<Chunks, FrameError> {
        let mut reader = ChunkReader::new(input);
        let mut chunk = Chunk::default();
        let mut out = Vec::new();
        while reader.read_into(&mut chunk, |_, _| {})? {
            out.push((chunk.metadata().to_vec(), chunk.body().to_vec()));
        }
        Ok(out)
    }

    #[test]
    fn reads_back_to_back_chunks_by_byte_count() {
        let input = "chunked 1.0,2,3\n{}abcchunked 1.0,4,0\n{\"\"}";
        let chunks = read_all(input.as_bytes()).unwrap();
        assert_eq!(
            chunks,
            vec![
                (b"{}".to_vec(), b"abc".to_vec()),
                (b"{\"\"}".to_vec(), Vec::new())
            ]
        );
    }

    #[test]
    fn lengths_count_bytes_not_characters() {
        let input = "chunked 1.0,2,5\n{}\u{e17}t\nchunked 1.0,2,0\n{}";
        let chunks = read_all(input.as_bytes()).unwrap();
        assert_eq!(chunks[0].1, "\u{e17}t\n".as_bytes());
        assert_eq!(chunks.len(), 2);
    }

    #[test]
    fn tolerates_line_breaks_and_spacing_around_headers() {
        let input = b"\r\n\nchunked  1.0 , 2 ,1\r\n{}x\n\n";
        let chunks = read_all(input).unwrap();
        assert_eq!(chunks, vec![(b"{}".to_vec(), b"x".to_vec())]);
    }

    #[test]
    fn short_reads_are_completed() {
        // A reader that hands out one byte per call, like a slow pipe.
        struct Trickle<'a>(&'a [u8]);
        impl Read for Trickle<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if self.0.is_empty() || buf.is_empty() {
                    return Ok(0);
                }
                buf[0] = self.0[0];
                self.0 = &self.0[1..];
                Ok(1)
            }
        }
        let input = b"chunked 1.0,2,5\n{}hellochunked 1.0,2,0\n{}";
        let mut reader = ChunkReader::new(io::BufReader::with_capacity(1, Trickle(input)));
        let mut chunk = Chunk::default();
        assert!(reader.read_into(&mut chunk, |_, _| {}).unwrap());
        assert_eq!(chunk.body(), b"hello");
        assert!(reader.read_into(&mut chunk, |_, _| {}).unwrap());
        assert!(chunk.body().is_empty());
        assert!(!reader.read_into(&mut chunk, |_, _| {}).unwrap());
    }

    /// Reads a chunk; returns the result and the pieces handed on, put together.
    fn read_handing_on(
        reader: &mut ChunkReader<&[u8]>,
        chunk: &mut Chunk,
    ) -> (Result<bool, FrameError>, Vec<u8>) {
        let mut seen = Vec::new();
        let result = reader.read_into(chunk, |offset, piece| {
            assert_eq!(offset, seen.len());
            assert!(!piece.is_empty() && piece.len() <= PIECE);
            seen.extend_from_slice(piece);
        });
        (result, seen)
    }

    #[test]
    fn bodies_longer_than_a_piece_are_handed_on_piece_by_piece() {
        let body: Vec<u8> = (0..5 * PIECE / 2).map(|i| (i % 251) as u8).collect();
        let mut input = format!("chunked 1.0,2,{}\n{{}}", body.len()).into_bytes();
        input.extend_from_slice(&body);
        input.extend_from_slice(b"chunked 1.0,2,3\n{}abc");
        let mut reader = ChunkReader::new(&input[..]);
        let mut chunk = Chunk::default();
        let (result, seen) = read_handing_on(&mut reader, &mut chunk);
        assert!(result.unwrap());
        assert_eq!(chunk.body(), body);
        assert!(seen == body, "the pieces make up the body");
        // A body of one piece is only read: the caller deals with it whole.
        let (result, seen) = read_handing_on(&mut reader, &mut chunk);
        assert!(result.unwrap());
        assert_eq!((chunk.body(), seen.len()), (&b"abc"[..], 0));
        // Input ending inside a body being handed on.
        let mut input = format!("chunked 1.0,2,{}\n{{}}", 3 * PIECE).into_bytes();
        input.extend_from_slice(&body[..2 * PIECE]);
        let mut reader = ChunkReader::new(&input[..]);
        let (result, seen) = read_handing_on(&mut reader, &mut chunk);
        assert_eq!(
            result.unwrap_err().to_string(),
            format!(
                "input ended inside a chunk: body has {} of {} bytes",
                2 * PIECE,
                3 * PIECE
            )
        );
        assert!(seen == body[..2 * PIECE]);
    }

    #[test]
    fn bodies_whose_storage_grows_are_not_handed_on() {
        // Storage for the whole body (and an eighth) cannot be had, but the first storage
        // can, and then storage for the whole body: it grows once, copying what it holds,
        // and the last part read is not the start of the body.
        let len = FIRST_STORAGE + 3 * PIECE;
        let body = vec![b'a'; len];
        let mut input = format!("chunked 1.0,2,{len}\n{{}}").into_bytes();
        input.extend_from_slice(&body);
        let mut chunk = Chunk::default();
        ALLOCATION_LIMIT.set(len);
        let (result, seen) = read_handing_on(&mut ChunkReader::new(&input[..]), &mut chunk);
        ALLOCATION_LIMIT.set(usize::MAX);
        assert!(result.unwrap());
        assert!(chunk.body() == body);
        assert_eq!(seen.len(), 0);
    }

    #[test]
    fn empty_input_is_a_clean_end() {
        assert!(read_all(b"").unwrap().is_empty());
        assert!(read_all(b"\n\r\n").unwrap().is_empty());
    }

    #[test]
    fn rejects_malformed_headers() {
        for bad in [
            &b"chunked 1.0,2\n{}"[..],
            b"chunked 1.0,-2,0\n{}",
            b"chunked 1.0,2,0,0\n{}",
            b"chunked 2.0,2,0\n{}",
            b"chunked1.0,2,0\n{}",
            b"chunked 1.0,0x2,0\n{}",
            b"chunked 1.0,,0\n{}",
            b"hello\n",
            b"chunked 1.0,99999999999999999999,0\n",
        ] {
            match read_all(bad) {
                Err(FrameError::BadHeader(_)) => {}
                other => panic!("{:?}: {other:?}", String::from_utf8_lossy(bad)),
            }
        }
    }

    #[test]
    fn a_header_without_end_is_bounded() {
        let long = vec![b'7'; 1000];
        assert!(matches!(read_all(&long), Err(FrameError::BadHeader(_))));
        assert!(matches!(
            read_all(b"chunked 1.0,2"),
            Err(FrameError::TruncatedHeader)
        ));
    }

    #[test]
    fn rejects_lengths_over_the_limits_without_reading() {
        let input = format!("chunked 1.0,2,{}\n{{}}", MAX_BODY_LEN + 1);
        assert!(matches!(
            read_all(input.as_bytes()),
            Err(FrameError::TooLarge { part: "body", .. })
        ));
        let input = format!("chunked 1.0,{},0\n", MAX_METADATA_LEN + 1);
        assert!(matches!(
            read_all(input.as_bytes()),
            Err(FrameError::TooLarge {
                part: "metadata",
                ..
            })
        ));
    }

    #[test]
    fn reports_input_ending_inside_a_chunk() {
        let err = read_all(b"chunked 1.0,2,10\n{}abc").unwrap_err();
        assert_eq!(
            err.to_string(),
            "input ended inside a chunk: body has 3 of 10 bytes"
        );
        assert!(matches!(
            read_all(b"chunked 1.0,20,0\n{}"),
            Err(FrameError::Truncated {
                part: "metadata",
                ..
            })
        ));
    }

    #[test]
    fn bad_headers_are_shown_escaped_and_shortened() {
        let err = read_all(b"\x01GET / HTTP/1.1 and a great deal more text than that\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("malformed chunk header \"\\x01GET / HTTP/1.1"),
            "{err}"
        );
        assert!(err.contains("...\""), "{err}");
    }

    #[test]
    fn writes_exact_chunks() {
        let mut out = Vec::new();
        write_chunk(&mut out, b"{\"finished\":true}", "\u{e17}\n".as_bytes()).unwrap();
        assert_eq!(
            out,
            "chunked 1.0,17,4\n{\"finished\":true}\u{e17}\n".as_bytes()
        );
    }
}
