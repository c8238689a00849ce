//! Chunk framing over arbitrary bytes, delivered through a buffer of a fuzzed size so that
//! headers and blank lines are split across reads the way a pipe splits them.
//!
//! Checks: no panic; no chunk beyond the caps; every error prints as one line of
//! printable text; and the chunks read, written back with `write_chunk`, read back the same.

#![no_main]

use std::io::BufReader;

use libfuzzer_sys::fuzz_target;
use reghivedump::framing::{self, Chunk, ChunkReader, MAX_BODY_LEN, MAX_METADATA_LEN};

type Chunks = Vec<(Vec<u8>, Vec<u8>)>;

/// Reads every chunk up to the end or the first error.
fn read_all(input: &[u8], capacity: usize) -> (Chunks, Option<String>) {
    let mut reader = ChunkReader::new(BufReader::with_capacity(capacity, input));
    let mut chunk = Chunk::default();
    let mut chunks = Vec::new();
    loop {
        // The pieces of the body handed on while it arrives, if any: in order, none
        // empty, and all of it.
        let mut seen = 0;
        match reader.read_into(&mut chunk, |offset, piece| {
            assert_eq!(offset, seen);
            assert!(!piece.is_empty());
            seen += piece.len();
        }) {
            Ok(true) => {
                assert!(chunk.metadata().len() as u64 <= MAX_METADATA_LEN);
                assert!(chunk.body().len() as u64 <= MAX_BODY_LEN);
                assert!(seen == 0 || seen == chunk.body().len());
                chunks.push((chunk.metadata().to_vec(), chunk.body().to_vec()));
            }
            Ok(false) => return (chunks, None),
            Err(e) => return (chunks, Some(e.to_string())),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, input)) = data.split_first() else {
        return;
    };
    let capacity = usize::from(first % 16) + 1;
    let (chunks, error) = read_all(input, capacity);
    if let Some(message) = &error {
        assert!(
            message.bytes().all(|b| (b' '..=b'~').contains(&b)),
            "{message:?}"
        );
    }
    // A different buffer size must not change what is read.
    assert_eq!(read_all(input, 8192), (chunks.clone(), error));

    let mut written = Vec::new();
    for (metadata, body) in &chunks {
        framing::write_chunk(&mut written, metadata, body).unwrap();
    }
    assert_eq!(read_all(&written, capacity), (chunks, None));
});
