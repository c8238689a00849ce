//! Protocol mode: the session splunkd runs, from the getinfo request to end of input.

use std::io::{BufRead, Write};

use crate::error::Error;
use crate::framing::{self, Chunk, ChunkReader};
use crate::options::Config;
use crate::protocol::{self, Request};
use crate::records::Annotator;
use crate::rule::Detector;

/// Serves one session: reads requests from `input`, writes one reply per request to
/// `output`, and reports a failure on `log` (splunkd copies stderr into search.log).
/// Returns the process exit code: 0 at the end of input or when the reader of the
/// replies has gone, 1 after an error, which is also sent to splunkd as an error reply.
pub fn run<R: BufRead, W: Write, L: Write>(input: R, mut output: W, mut log: L) -> i32 {
    match serve(ChunkReader::new(input), &mut output) {
        Ok(()) => 0,
        Err(e) if e.is_closed_output() => 0,
        Err(e) => {
            if !matches!(e, Error::Output(_)) {
                // Best effort: if splunkd cannot read this either, stderr still tells.
                let reply = protocol::error_reply(&e.to_string());
                let _ =
                    framing::write_chunk(&mut output, &reply, b"").and_then(|()| output.flush());
            }
            let _ = writeln!(log, "reghivedump: error: {e}");
            1
        }
    }
}

fn serve<R: BufRead, W: Write>(mut reader: ChunkReader<R>, out: &mut W) -> Result<(), Error> {
    let mut chunk = Chunk::default();
    if !reader.read_into(&mut chunk, |_, _| {})? {
        return Ok(());
    }
    let Request::Getinfo { args } = Request::parse(chunk.metadata())? else {
        return Err(Error::Sequence("the first request is not getinfo"));
    };
    if !chunk.body().is_empty() {
        return Err(Error::Sequence("the getinfo request has a body"));
    }
    let config = Config::from_search_args(&args)?;
    framing::write_chunk(
        out,
        &protocol::getinfo_reply(config.required_fields().as_deref()),
        b"",
    )?;
    out.flush()?;

    // Compiled when the first events arrive: getinfo-only probes never pay for it.
    let mut annotator: Option<Annotator> = None;
    let new_annotator = || {
        Annotator::new(
            Detector::new(config.mode),
            config.fields.clone(),
            config.filter,
        )
    };
    // Rows are planned as the body arrives, while splunkd is still writing the rest.
    while reader.read_into(&mut chunk, |offset, piece| {
        annotator
            .get_or_insert_with(new_annotator)
            .advance(offset, piece)
    })? {
        let Request::Execute { finished } = Request::parse(chunk.metadata())? else {
            return Err(Error::Sequence("a second getinfo request arrived"));
        };
        let reply = annotator
            .get_or_insert_with(new_annotator)
            .reply(chunk.body())?;
        let metadata = protocol::execute_reply(finished);
        framing::write_header(out, metadata.len(), reply.len())?;
        out.write_all(metadata)?;
        reply.write_to(out)?;
        out.flush()?;
    }
    Ok(())
}
