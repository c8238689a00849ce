//! The half-duplex floor: the cheapest possible SCP v2 streaming command.
//!
//! It reads each request chunk whole (header, metadata, body), then answers it with
//! the same body unchanged: `{"type":"streaming"}` for getinfo and
//! `{"finished":<echoed>}` for execute. No CSV parsing, no rule. Any real command
//! must at least do this, so its time through the benchmark driver is the floor a
//! command can reach under the protocol's one-request-then-one-reply rule.
//!
//! Built by bench/run.py with `rustc -O` (no dependencies, not part of the crate).

use std::io::{self, BufRead, BufReader, Read, Write};

fn main() {
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
        body.resize(body_len, 0);
        input.read_exact(&mut body).expect("read body");
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
