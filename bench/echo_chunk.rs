//! The half-duplex floor: the cheapest possible SCP v2 streaming command.
//!
//! It reads each request chunk whole (header, metadata, body), then answers it with
//! the same body unchanged: `{"type":"streaming"}` for getinfo and
//! `{"finished":<echoed>}` for execute. No CSV parsing, no rule. Any real command
//! must at least do this, so its time through the benchmark driver is the floor a
//! command can reach under the protocol's one-request-then-one-reply rule.
//!
//! It reads and asks the kernel the way reghivedump does (`src/framing.rs`, `src/os.rs`):
//! 1 MiB pipes; the body read into zero-filled storage, allocated whole and never shrunk,
//! in pieces that end on 1 MiB boundaries of the address space, each piece's pages
//! provided just before it is read, and huge pages asked for on x86_64. So the floor is
//! what the command would cost without its own work (which the command does on a second
//! thread while the body arrives, and this one does not do at all). It writes the body
//! in one call: gathering it through a 128 KiB buffer, as the command gathers its rows,
//! measured the same within the machine's noise.
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
/// A multiple of every base page size Linux uses.
const ALIGN: usize = 64 << 10;

/// Gives `advice` for the whole `ALIGN` blocks within `buf`.
fn advise(buf: &mut [u8], advice: c_int) {
    let start = buf.as_mut_ptr() as usize;
    let first = start.next_multiple_of(ALIGN);
    let end = (start + buf.len()) / ALIGN * ALIGN;
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
    let mut storage: Vec<u8> = Vec::new();
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
        if storage.len() < body_len {
            drop(std::mem::take(&mut storage));
            storage = vec![0; body_len + body_len / 8];
            if cfg!(target_arch = "x86_64") {
                advise(&mut storage, MADV_HUGEPAGE);
            }
        }
        let mut filled = 0;
        while filled < body_len {
            let at = storage[filled..].as_ptr() as usize;
            let end = (filled + PIECE - at % PIECE).min(body_len);
            advise(&mut storage[filled..end], MADV_POPULATE_WRITE);
            input.read_exact(&mut storage[filled..end]).expect("read body");
            filled = end;
        }
        let body = &storage[..body_len];
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
            .and_then(|()| output.write_all(body))
            .and_then(|()| output.flush());
        if ok.is_err() {
            return;
        }
    }
}
