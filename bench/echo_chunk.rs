//! The half-duplex floor: the cheapest possible SCP v2 streaming command.
//!
//! It reads each request chunk whole (header, metadata, body), then answers it with
//! the same body unchanged: `{"type":"streaming"}` for getinfo and
//! `{"finished":<echoed>}` for execute. No CSV parsing, no rule. Any real command
//! must at least do this, so its time through the benchmark driver is the floor a
//! command can reach under the protocol's one-request-then-one-reply rule.
//!
//! It gives the kernel the same hints as reghivedump (`src/os.rs`): 1 MiB pipes, and a
//! body buffer reserved whole, advised to use huge pages and provided 1 MiB ahead of
//! each read, so that the floor is what the command would cost without its own work.
//!
//! Built by bench/run.py with `rustc -O` (no dependencies, not part of the crate).

use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::raw::{c_int, c_void};

extern "C" {
    fn fcntl(fd: c_int, cmd: c_int, ...) -> c_int;
    fn madvise(addr: *mut c_void, len: usize, advice: c_int) -> c_int;
}

const F_SETPIPE_SZ: c_int = 1031;
const MADV_HUGEPAGE: c_int = 14;
const MADV_POPULATE_WRITE: c_int = 23;
const PIECE: usize = 1 << 20;
const PAGE: usize = 4096;

/// Gives `advice` for the whole pages in the first `want` bytes of `buf`'s spare capacity.
fn advise(buf: &mut Vec<u8>, want: usize, advice: c_int) {
    let spare = buf.spare_capacity_mut();
    let start = spare.as_mut_ptr() as usize;
    let first = start.next_multiple_of(PAGE);
    let end = (start + spare.len().min(want)) / PAGE * PAGE;
    if end > first {
        unsafe { madvise(first as *mut c_void, end - first, advice) };
    }
}

fn main() {
    unsafe {
        fcntl(0, F_SETPIPE_SZ, 1 << 20);
        fcntl(1, F_SETPIPE_SZ, 1 << 20);
    }
    let stdin = io::stdin();
    let mut input = BufReader::with_capacity(1 << 16, stdin.lock());
    let mut output = io::stdout().lock();
    let mut line = Vec::new();
    let mut metadata = Vec::new();
    let mut body = Vec::new();
    loop {
        line.clear();
        if input.read_until(b'\n', &mut line).expect("read header") == 0 {
            return;
        }
        let text = std::str::from_utf8(&line).expect("ASCII header");
        let mut parts = text.trim_end().splitn(3, ',');
        assert_eq!(parts.next(), Some("chunked 1.0"), "bad header {text:?}");
        let meta_len: usize = parts.next().unwrap().parse().unwrap();
        let body_len: usize = parts.next().unwrap().parse().unwrap();
        metadata.resize(meta_len, 0);
        input.read_exact(&mut metadata).expect("read metadata");
        body.clear();
        if body.capacity() < body_len {
            body = Vec::with_capacity(body_len + body_len / 8);
            advise(&mut body, usize::MAX, MADV_HUGEPAGE);
        }
        while body.len() < body_len {
            advise(&mut body, PIECE, MADV_POPULATE_WRITE);
            let piece = (body_len - body.len()).min(PIECE) as u64;
            let n = (&mut input).take(piece).read_to_end(&mut body).expect("read body");
            assert!(n > 0, "end of input inside a body");
        }
        let meta = String::from_utf8_lossy(&metadata);
        let reply: &[u8] = if meta.contains("\"getinfo\"") {
            b"{\"type\":\"streaming\"}"
        } else if meta.contains("\"finished\":true") {
            b"{\"finished\":true}"
        } else {
            b"{\"finished\":false}"
        };
        let ok = write!(output, "chunked 1.0,{},{}\n", reply.len(), body.len())
            .and_then(|()| output.write_all(reply))
            .and_then(|()| output.write_all(&body))
            .and_then(|()| output.flush());
        if ok.is_err() {
            return;
        }
    }
}
