//! The benchmark driver: plays splunkd to one candidate command over one request stream.
//!
//! splunkd is C++ and moves bytes cheaply, so the driver must not be the slow end of the
//! pipe: it is Rust, std only, built by bench/run.py with `rustc -O` (not part of the crate).
//!
//! Modes (the JSON result goes to stdout):
//!
//! `drive protocol --stream FILE [--csv FIELD] [--stderr FILE] [--pipe-size N] -- ARGV...`
//!   Half-duplex, as splunkd drives a chunked command: write one request chunk, read exactly
//!   one complete reply chunk (`chunked 1.0,<meta>,<body>\n` then meta+body bytes, into one
//!   reused buffer), and only then write the next request. After the last reply: read the
//!   child's peak RSS, close its stdin, require end of output, reap it with its CPU times.
//!   A writer thread writes the requests and the main thread reads the replies, so a child
//!   that answers while it still reads (`cat`) cannot deadlock the driver; the channel
//!   between them keeps the half-duplex order. Every reply is summarised for the checks in
//!   run.py while the clock is stopped (the child is blocked reading stdin meanwhile):
//!   its metadata, whether it echoes the request, and with `--csv FIELD` what its CSV body
//!   holds (header, row count, ragged rows, the runs of `_serial`/`_chunked_idx`, the rows
//!   where FIELD is non-empty).
//!
//! `drive stream --stream FILE [--pipe-size N] -- ARGV...`
//!   The whole file into the child's stdin on one thread, its stdout drained on another:
//!   the pipe's pipelined throughput (for `cat`).
//!
//! `drive getinfo --stream FILE --runs N [--baseline PROG] -- ARGV...`
//!   N getinfo-only sessions (spawn, write the stream's first chunk, read the reply, close
//!   stdin, require end of output and exit 0), each timed; with `--baseline`, each one is
//!   preceded by a run of PROG with nothing to read (what spawning costs by itself).
//!
//! Measurements: wall time from just before spawn to after reaping, less the stopped
//! intervals; the child's user and system CPU from `wait4` (every thread of the child,
//! microsecond resolution; `/proc/<pid>/stat` only counts in 10 ms ticks); its peak RSS as
//! `VmHWM` from `/proc/<pid>/status`, read after the last reply while it waits for input
//! (`wait4`'s `ru_maxrss` would count the driver's own memory too: the child is spawned with
//! vfork semantics and the kernel keeps the larger of the pre-exec and post-exec peaks);
//! the driver's own CPU while the clock runs, from `getrusage`.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::raw::{c_int, c_long};
use std::os::unix::io::AsRawFd;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

#[repr(C)]
#[derive(Default, Clone, Copy)]
struct Timeval {
    sec: c_long,
    usec: c_long,
}

#[repr(C)]
#[derive(Default, Clone, Copy)]
struct Rusage {
    utime: Timeval,
    stime: Timeval,
    rest: [c_long; 14],
}

extern "C" {
    fn wait4(pid: c_int, status: *mut c_int, options: c_int, ru: *mut Rusage) -> c_int;
    fn getrusage(who: c_int, ru: *mut Rusage) -> c_int;
    fn fcntl(fd: c_int, cmd: c_int, ...) -> c_int;
}

const F_SETPIPE_SZ: c_int = 1031;
const RUSAGE_SELF: c_int = 0;

type Res<T> = Result<T, String>;

fn secs(t: Timeval) -> f64 {
    t.sec as f64 + t.usec as f64 * 1e-6
}

fn self_cpu() -> f64 {
    let mut ru = Rusage::default();
    unsafe { getrusage(RUSAGE_SELF, &mut ru) };
    secs(ru.utime) + secs(ru.stime)
}

/// Reap the child: (exit code or -signal, user s, sys s).
fn reap(child: &Child) -> Res<(i32, f64, f64)> {
    let mut status: c_int = 0;
    let mut ru = Rusage::default();
    loop {
        let r = unsafe { wait4(child.id() as c_int, &mut status, 0, &mut ru) };
        if r >= 0 {
            break;
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(format!("wait4: {e}"));
        }
    }
    let code = if status & 0x7f == 0 { (status >> 8) & 0xff } else { -(status & 0x7f) };
    Ok((code, secs(ru.utime), secs(ru.stime)))
}

/// Peak resident set size (VmHWM, KiB) of a live process.
fn read_hwm(pid: u32) -> Res<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).map_err(|e| e.to_string())?;
    s.lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| format!("no VmHWM for pid {pid}"))
}

fn set_pipe_size(size: usize, fds: &[c_int]) {
    if size > 0 {
        for &fd in fds {
            unsafe { fcntl(fd, F_SETPIPE_SZ, size as c_int) };
        }
    }
}

// ---------------------------------------------------------------------------
// chunks

/// Parses `chunked 1.0,<meta>,<body>\n` at the start of `b` (whitespace allowed around the
/// numbers, as splunklib accepts): Some((header length, meta length, body length)), None if
/// `b` holds no complete header yet, Err if it cannot become one.
fn parse_header(b: &[u8]) -> Res<Option<(usize, usize, usize)>> {
    let bad = || Err(format!("bad chunk header {:?}", String::from_utf8_lossy(&b[..b.len().min(80)])));
    let nl = match b.iter().take(128).position(|&c| c == b'\n') {
        Some(i) => i,
        None if b.len() >= 128 => return bad(),
        None => return Ok(None),
    };
    let line = match std::str::from_utf8(&b[..nl]) {
        Ok(s) => s,
        Err(_) => return bad(),
    };
    let rest = match line.strip_prefix("chunked") {
        Some(r) if r.starts_with(|c: char| c.is_ascii_whitespace()) => r.trim_start(),
        _ => return bad(),
    };
    let rest = match rest.strip_prefix("1.0") {
        Some(r) => r,
        None => return bad(),
    };
    let mut parts = rest.split(',');
    if parts.next().map(str::trim) != Some("") {
        return bad();
    }
    let mut num = || parts.next().and_then(|p| p.trim().parse::<usize>().ok());
    match (num(), num(), parts.next()) {
        (Some(m), Some(n), None) => Ok(Some((nl + 1, m, n))),
        _ => bad(),
    }
}

struct Chunk {
    off: usize,
    hdr: usize,
    meta: usize,
    body: usize,
}

impl Chunk {
    fn len(&self) -> usize {
        self.hdr + self.meta + self.body
    }
}

fn index_chunks(data: &[u8]) -> Res<Vec<Chunk>> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < data.len() {
        let (hdr, meta, body) = parse_header(&data[pos..])?
            .ok_or_else(|| format!("truncated chunk header at offset {pos}"))?;
        let c = Chunk { off: pos, hdr, meta, body };
        pos += c.len();
        if pos > data.len() {
            return Err("truncated last chunk".into());
        }
        out.push(c);
    }
    Ok(out)
}

/// Reads reply chunks from the child's stdout; bytes read past a reply are an error.
struct Replies {
    out: ChildStdout,
    head: Vec<u8>,
}

impl Replies {
    /// Reads one complete reply into `buf[..meta+body]`; returns (meta, body) lengths.
    fn read(&mut self, buf: &mut Vec<u8>) -> Res<(usize, usize)> {
        let mut tmp = [0u8; 256];
        let (hdr, meta, body) = loop {
            if let Some(h) = parse_header(&self.head)? {
                break h;
            }
            let n = self.out.read(&mut tmp).map_err(|e| format!("read: {e}"))?;
            if n == 0 {
                return Err("end of output before a reply".into());
            }
            self.head.extend_from_slice(&tmp[..n]);
        };
        let need = meta + body;
        if buf.len() < need {
            buf.resize(need, 0);
        }
        let have = (self.head.len() - hdr).min(need);
        buf[..have].copy_from_slice(&self.head[hdr..hdr + have]);
        let extra = self.head.len() - hdr - have;
        if extra > 0 {
            return Err(format!("{extra} bytes after a reply, before the next request"));
        }
        self.head.clear();
        let mut got = have;
        while got < need {
            match self.out.read(&mut buf[got..need]) {
                Ok(0) => return Err(format!("end of output inside a reply ({got} of {need} bytes)")),
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(format!("read: {e}")),
            }
        }
        Ok((meta, body))
    }

    fn rest(&mut self) -> Res<usize> {
        let mut sink = Vec::new();
        self.out.read_to_end(&mut sink).map_err(|e| format!("read: {e}"))?;
        Ok(self.head.len() + sink.len())
    }
}

// ---------------------------------------------------------------------------
// reply summaries

fn json_str(out: &mut String, b: &[u8]) {
    out.push('"');
    for c in String::from_utf8_lossy(b).chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn unquote(cell: &[u8]) -> Vec<u8> {
    if cell.len() >= 2 && cell[0] == b'"' {
        let inner = &cell[1..cell.len() - 1];
        let mut v = Vec::with_capacity(inner.len());
        let mut i = 0;
        while i < inner.len() {
            v.push(inner[i]);
            i += if inner[i] == b'"' { 2 } else { 1 };
        }
        v
    } else {
        cell.to_vec()
    }
}

/// Splits a CSV body (RFC 4180: `"` quotes, `""` inside quotes, rows end in LF or CRLF)
/// and calls `row(cells)` with the raw (still quoted) cells of each row. A line with no
/// bytes is a row of no cells. Err on a stray quote or an unterminated quoted cell.
fn scan_csv<'a>(body: &'a [u8], mut row: impl FnMut(&[&'a [u8]]) -> Res<()>) -> Res<()> {
    let mut cells: Vec<&[u8]> = Vec::new();
    let n = body.len();
    let mut i = 0;
    let mut line = 0usize;
    while i < n {
        // one row
        cells.clear();
        if body[i] == b'\n' || (body[i] == b'\r' && body.get(i + 1) == Some(&b'\n')) {
            i += if body[i] == b'\r' { 2 } else { 1 };
            row(&cells)?;
            line += 1;
            continue;
        }
        loop {
            let start = i;
            if i < n && body[i] == b'"' {
                i += 1;
                loop {
                    match body[i..].iter().position(|&c| c == b'"') {
                        None => return Err(format!("unterminated quoted cell in row {line}")),
                        Some(p) => {
                            i += p + 1;
                            if body.get(i) == Some(&b'"') {
                                i += 1;
                            } else {
                                break;
                            }
                        }
                    }
                }
            } else {
                while i < n && !matches!(body[i], b',' | b'\n' | b'\r' | b'"') {
                    i += 1;
                }
            }
            cells.push(&body[start..i]);
            match body.get(i) {
                None => break,
                Some(b',') => i += 1,
                Some(b'\n') => {
                    i += 1;
                    break;
                }
                Some(b'\r') if body.get(i + 1) == Some(&b'\n') => {
                    i += 2;
                    break;
                }
                Some(&c) => {
                    return Err(format!("unexpected {:?} in row {line}, cell {}", c as char, cells.len()))
                }
            }
            if i == n {
                // a trailing comma at the very end: one more, empty cell
                cells.push(&body[n..n]);
                break;
            }
        }
        row(&cells)?;
        line += 1;
    }
    Ok(())
}

/// What run.py needs to check a command's CSV reply body, as a JSON object.
fn csv_summary(body: &[u8], field: &str) -> String {
    let mut s = String::from("{");
    s.push_str(&format!("\"utf8\":{}", std::str::from_utf8(body).is_ok()));
    let mut header: Option<Vec<Vec<u8>>> = None;
    let (mut id_col, mut match_col) = (None, None);
    let mut rows = 0usize;
    let mut ragged: Option<(usize, usize)> = None;
    let mut id_bad: Option<usize> = None;
    let mut runs: Vec<(u64, u64)> = Vec::new();
    let mut matches: Vec<usize> = Vec::new();
    let res = scan_csv(body, |cells| {
        let Some(h) = &header else {
            let h: Vec<Vec<u8>> = cells.iter().map(|c| unquote(c)).collect();
            id_col = h.iter().position(|c| c == b"_serial")
                .or_else(|| h.iter().position(|c| c == b"_chunked_idx"));
            match_col = h.iter().position(|c| c == field.as_bytes());
            header = Some(h);
            return Ok(());
        };
        if cells.len() != h.len() && ragged.is_none() {
            ragged = Some((rows, cells.len()));
        }
        if let Some(c) = id_col.and_then(|c| cells.get(c)) {
            match std::str::from_utf8(&unquote(c)).ok().and_then(|v| v.parse::<u64>().ok()) {
                Some(v) => match runs.last_mut() {
                    Some((first, count)) if *first + *count == v => *count += 1,
                    _ => runs.push((v, 1)),
                },
                None => {
                    if id_bad.is_none() {
                        id_bad = Some(rows)
                    }
                }
            }
        }
        if let Some(c) = match_col.and_then(|c| cells.get(c)) {
            if !c.is_empty() && *c != b"\"\"" {
                matches.push(rows);
            }
        }
        rows += 1;
        Ok(())
    });
    if let Err(e) = res {
        s.push_str(",\"error\":");
        json_str(&mut s, e.as_bytes());
    }
    s.push_str(",\"header\":");
    match &header {
        None => s.push_str("null"),
        Some(h) => {
            s.push('[');
            for (i, c) in h.iter().enumerate() {
                if i > 0 {
                    s.push(',');
                }
                json_str(&mut s, c);
            }
            s.push(']');
        }
    }
    s.push_str(&format!(",\"rows\":{rows}"));
    match ragged {
        Some((r, n)) => s.push_str(&format!(",\"ragged\":[{r},{n}]")),
        None => s.push_str(",\"ragged\":null"),
    }
    match id_bad {
        Some(r) => s.push_str(&format!(",\"id_bad\":{r}")),
        None => s.push_str(",\"id_bad\":null"),
    }
    const MAX_RUNS: usize = 100;
    s.push_str(&format!(",\"id_runs_truncated\":{},\"id_runs\":[", runs.len() > MAX_RUNS));
    for (i, (a, n)) in runs.iter().take(MAX_RUNS).enumerate() {
        s.push_str(&format!("{}[{a},{n}]", if i > 0 { "," } else { "" }));
    }
    s.push_str("],\"match_rows\":[");
    for (i, r) in matches.iter().enumerate() {
        s.push_str(&format!("{}{r}", if i > 0 { "," } else { "" }));
    }
    s.push_str("]}");
    s
}

// ---------------------------------------------------------------------------
// modes

struct Opts {
    mode: String,
    stream: String,
    csv: Option<String>,
    stderr: Option<String>,
    pipe_size: usize,
    runs: usize,
    baseline: Option<String>,
    argv: Vec<String>,
}

fn parse_args() -> Res<Opts> {
    let mut args = std::env::args().skip(1);
    let mode = args.next().ok_or("usage: drive protocol|stream|getinfo --stream FILE [...] -- ARGV...")?;
    let mut o = Opts {
        mode,
        stream: String::new(),
        csv: None,
        stderr: None,
        pipe_size: 0,
        runs: 1,
        baseline: None,
        argv: Vec::new(),
    };
    while let Some(a) = args.next() {
        let mut val = || args.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--stream" => o.stream = val()?,
            "--csv" => o.csv = Some(val()?),
            "--stderr" => o.stderr = Some(val()?),
            "--pipe-size" => o.pipe_size = val()?.parse().map_err(|e| format!("--pipe-size: {e}"))?,
            "--runs" => o.runs = val()?.parse().map_err(|e| format!("--runs: {e}"))?,
            "--baseline" => o.baseline = Some(val()?),
            "--" => {
                o.argv = args.collect();
                break;
            }
            _ => return Err(format!("unknown argument {a}")),
        }
    }
    if o.stream.is_empty() || o.argv.is_empty() {
        return Err("--stream FILE and -- ARGV... are required".into());
    }
    Ok(o)
}

fn spawn(argv: &[String], stderr: Stdio, pipe_size: usize) -> Res<Child> {
    let child = Command::new(&argv[0])
        .args(&argv[1..])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .map_err(|e| format!("spawn {}: {e}", argv[0]))?;
    set_pipe_size(pipe_size, &[
        child.stdin.as_ref().unwrap().as_raw_fd(),
        child.stdout.as_ref().unwrap().as_raw_fd(),
    ]);
    Ok(child)
}

fn stderr_to(path: &Option<String>) -> Res<Stdio> {
    Ok(match path {
        Some(p) => Stdio::from(File::create(p).map_err(|e| format!("{p}: {e}"))?),
        None => Stdio::null(),
    })
}

enum Msg {
    Start(ChildStdin),
    Write(usize),
    Close,
}

fn protocol(o: &Opts) -> Res<String> {
    let data = std::fs::read(&o.stream).map_err(|e| format!("{}: {e}", o.stream))?;
    let chunks = index_chunks(&data)?;
    let largest = chunks.iter().map(|c| c.meta + c.body).max().unwrap_or(0);
    // One reply buffer, reused, its pages touched before the clock starts.
    let mut rbuf = vec![1u8; largest + largest / 8 + 4096];
    let data = Arc::new(data);
    let spans: Arc<Vec<(usize, usize)>> = Arc::new(chunks.iter().map(|c| (c.off, c.len())).collect());

    let (tx, rx) = mpsc::channel::<Msg>();
    let writer = {
        let (data, spans) = (data.clone(), spans.clone());
        thread::spawn(move || -> Res<()> {
            let mut stdin: Option<ChildStdin> = None;
            for msg in rx {
                match msg {
                    Msg::Start(s) => stdin = Some(s),
                    Msg::Write(k) => {
                        let (off, len) = spans[k];
                        if let Some(s) = stdin.as_mut() {
                            if let Err(e) = s.write_all(&data[off..off + len]) {
                                return Err(format!("writing request {k}: {e}"));
                            }
                        }
                    }
                    Msg::Close => stdin = None,
                }
            }
            Ok(())
        })
    };
    let stderr = stderr_to(&o.stderr)?;

    let t0 = Instant::now();
    let c0 = self_cpu();
    let mut child = spawn(&o.argv, stderr, o.pipe_size)?;
    tx.send(Msg::Start(child.stdin.take().unwrap())).unwrap();
    let mut rd = Replies { out: child.stdout.take().unwrap(), head: Vec::new() };
    let mut timed = Duration::ZERO;
    let mut dcpu = 0.0;
    let (mut mark, mut cmark) = (t0, c0);
    let mut summaries: Vec<String> = Vec::with_capacity(chunks.len());
    let mut failure: Option<String> = None;
    for (k, c) in chunks.iter().enumerate() {
        tx.send(Msg::Write(k)).unwrap();
        let (ml, bl) = match rd.read(&mut rbuf) {
            Ok(r) => r,
            Err(e) => {
                failure = Some(format!("reply {k}: {e}"));
                break;
            }
        };
        timed += mark.elapsed();
        dcpu += self_cpu() - cmark;
        // stopped: the child waits for the next request
        let req = &data[c.off + c.hdr..c.off + c.len()];
        let reply = &rbuf[..ml + bl];
        let mut s = String::from("{\"request\":");
        json_str(&mut s, &req[..c.meta]);
        s.push_str(",\"meta\":");
        json_str(&mut s, &reply[..ml]);
        s.push_str(&format!(
            ",\"body_bytes\":{bl},\"same_body\":{},\"same_chunk\":{}",
            reply[ml..] == req[c.meta..],
            ml == c.meta && reply == req
        ));
        if let Some(f) = &o.csv {
            s.push_str(",\"csv\":");
            s.push_str(&csv_summary(&reply[ml..], f));
        }
        s.push('}');
        summaries.push(s);
        mark = Instant::now();
        cmark = self_cpu();
    }
    let hwm = if failure.is_none() { read_hwm(child.id()) } else { Ok(0) };
    let mark2 = Instant::now();
    let cmark2 = self_cpu();
    tx.send(Msg::Close).unwrap();
    drop(tx);
    let extra = rd.rest();
    let reaped = reap(&child);
    timed += mark2.elapsed();
    dcpu += self_cpu() - cmark2;
    let wrote = writer.join().map_err(|_| "writer thread panicked".to_string())?;
    let (code, user, sys) = reaped?;
    if let Some(f) = failure {
        return Err(match wrote {
            Err(w) => format!("{f}; {w}; exit status {code}"),
            Ok(()) => format!("{f}; exit status {code}"),
        });
    }
    wrote?;
    let extra = extra?;
    if extra > 0 {
        return Err(format!("{extra} bytes after the last reply"));
    }
    if code != 0 {
        return Err(format!("exit status {code}"));
    }
    Ok(format!(
        "{{\"wall\":{:.6},\"user\":{user:.6},\"sys\":{sys:.6},\"rss_kib\":{},\"driver_cpu\":{dcpu:.6},\
         \"replies\":{},\"summaries\":[{}]}}",
        timed.as_secs_f64(),
        hwm?,
        summaries.len(),
        summaries.join(",")
    ))
}

fn stream(o: &Opts) -> Res<String> {
    let data = Arc::new(std::fs::read(&o.stream).map_err(|e| format!("{}: {e}", o.stream))?);
    let mut sink = vec![1u8; 1 << 20];
    let t0 = Instant::now();
    let c0 = self_cpu();
    let mut child = spawn(&o.argv, stderr_to(&o.stderr)?, o.pipe_size)?;
    let pid = child.id();
    let mut stdin = child.stdin.take().unwrap();
    let writer = {
        let data = data.clone();
        thread::spawn(move || -> Res<u64> {
            stdin.write_all(&data).map_err(|e| format!("write: {e}"))?;
            let hwm = read_hwm(pid);
            drop(stdin);
            hwm
        })
    };
    let mut out = child.stdout.take().unwrap();
    let mut got = 0usize;
    loop {
        match out.read(&mut sink) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(format!("read: {e}")),
        }
    }
    let (code, user, sys) = reap(&child)?;
    let wall = t0.elapsed().as_secs_f64();
    let dcpu = self_cpu() - c0;
    let hwm = writer.join().map_err(|_| "writer thread panicked".to_string())??;
    if code != 0 {
        return Err(format!("exit status {code}"));
    }
    Ok(format!(
        "{{\"wall\":{wall:.6},\"user\":{user:.6},\"sys\":{sys:.6},\"rss_kib\":{hwm},\
         \"driver_cpu\":{dcpu:.6},\"bytes_in\":{},\"bytes_out\":{got}}}",
        data.len()
    ))
}

/// One getinfo-only session: (seconds, reply metadata).
fn getinfo_once(argv: &[String], req: &[u8]) -> Res<(f64, Vec<u8>)> {
    let t0 = Instant::now();
    let mut child = spawn(argv, Stdio::null(), 0)?;
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(req).map_err(|e| format!("write getinfo: {e}"))?;
    let mut rd = Replies { out: child.stdout.take().unwrap(), head: Vec::new() };
    let mut buf = Vec::new();
    let (ml, _) = rd.read(&mut buf)?;
    drop(stdin);
    let extra = rd.rest()?;
    let (code, _, _) = reap(&child)?;
    let t = t0.elapsed().as_secs_f64();
    if code != 0 || extra > 0 {
        return Err(format!("getinfo-only run: exit status {code}, {extra} stray bytes"));
    }
    buf.truncate(ml);
    Ok((t, buf))
}

fn spawn_only(prog: &str) -> Res<f64> {
    let t0 = Instant::now();
    let mut child = spawn(&[prog.to_string()], Stdio::null(), 0)?;
    drop(child.stdin.take());
    let mut out = child.stdout.take().unwrap();
    let mut sink = Vec::new();
    out.read_to_end(&mut sink).map_err(|e| format!("read: {e}"))?;
    reap(&child)?;
    Ok(t0.elapsed().as_secs_f64())
}

fn getinfo(o: &Opts) -> Res<String> {
    let data = std::fs::read(&o.stream).map_err(|e| format!("{}: {e}", o.stream))?;
    let (hdr, meta, body) = parse_header(&data)?.ok_or("empty stream")?;
    let req = &data[..hdr + meta + body];
    let (mut runs, mut base) = (Vec::new(), Vec::new());
    let mut reply = Vec::new();
    for _ in 0..o.runs {
        if let Some(b) = &o.baseline {
            base.push(format!("{:.6}", spawn_only(b)?));
        }
        let (t, r) = getinfo_once(&o.argv, req)?;
        runs.push(format!("{t:.6}"));
        reply = r;
    }
    let mut s = format!("{{\"runs\":[{}],\"baseline\":[{}],\"reply\":", runs.join(","), base.join(","));
    json_str(&mut s, &reply);
    s.push('}');
    Ok(s)
}

fn main() {
    let result = parse_args().and_then(|o| match o.mode.as_str() {
        "protocol" => protocol(&o),
        "stream" => stream(&o),
        "getinfo" => getinfo(&o),
        m => Err(format!("unknown mode {m}")),
    });
    let mut out = io::stdout().lock();
    let code = match result {
        Ok(s) => {
            writeln!(out, "{s}").unwrap();
            0
        }
        Err(e) => {
            let mut s = String::from("{\"error\":");
            json_str(&mut s, e.as_bytes());
            s.push('}');
            writeln!(out, "{s}").unwrap();
            1
        }
    };
    out.flush().unwrap();
    std::process::exit(code);
}
