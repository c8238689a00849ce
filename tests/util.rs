//! A fake splunkd: it frames requests byte-exactly, talks to the real binary half-duplex
//! (one request, then exactly one reply) and parses every reply byte strictly.

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::Duration;

/// How long a reply may take before the test fails instead of hanging.
const REPLY_TIMEOUT: Duration = Duration::from_secs(60);

/// The annotation columns the command appends to every header, in order.
pub const ANNOTATION_HEADER: &str = "detection_name,detection_id,detection_variant,reg_hive,\
mitre_attack,mitre_tactic,mitre_tactic_id,kill_chain_phase,analytic_story,risk_score,\
risk_impact,risk_confidence,risk_message,risk_object,risk_object_type,threat_object,\
threat_object_type,__mv_reg_hive,__mv_mitre_attack,__mv_risk_object,__mv_risk_object_type,\
__mv_threat_object,__mv_threat_object_type";

/// Number of annotation columns.
pub const ANNOTATION_COLUMNS: usize = 23;

/// The command to test: the cargo-built binary, or the command line in
/// `REGHIVEDUMP_COMMAND` (split on spaces), for example an emulator and a cross build.
pub fn command() -> Command {
    match std::env::var("REGHIVEDUMP_COMMAND") {
        Ok(line) if !line.trim().is_empty() => {
            let mut words = line.split_whitespace();
            let mut cmd = Command::new(words.next().unwrap());
            cmd.args(words);
            cmd
        }
        _ => Command::new(env!("CARGO_BIN_EXE_reghivedump")),
    }
}

/// `../shared/testdata`, when this checkout has it beside it.
pub fn shared_testdata() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/testdata");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipped: {} is absent", dir.display());
        None
    }
}

/// One framed chunk.
pub fn chunk(metadata: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!("chunked 1.0,{},{}\n{metadata}", metadata.len(), body.len()).into_bytes();
    out.extend_from_slice(body);
    out
}

/// A getinfo request shaped like splunkd's, session key included.
pub fn getinfo(args: &[&str]) -> Vec<u8> {
    let meta = serde_json::json!({
        "action": "getinfo",
        "preview": false,
        "streaming_command_will_restart": false,
        "searchinfo": {
            "args": args,
            "raw_args": args,
            "dispatch_dir": "/opt/splunk/var/run/splunk/dispatch/1700000000.42",
            "sid": "1700000000.42",
            "app": "search",
            "owner": "admin",
            "username": "admin",
            "session_key": SESSION_KEY,
            "splunkd_uri": "https://127.0.0.1:8089",
            "splunk_version": "9.3.1",
            "search": "search%20index%3Dmain%20%7C%20reghivedump",
            "earliest_time": "0",
            "latest_time": "0",
            "command": "reghivedump",
            "maxresultrows": 50000
        }
    });
    chunk(&meta.to_string(), b"")
}

/// The session key every fake getinfo carries; it must never come back.
pub const SESSION_KEY: &str = "Splunk 7f3c1e0a9b8d4c2e6f5a4b3c2d1e0f9a";

/// An execute request.
pub fn execute(finished: bool, body: &[u8]) -> Vec<u8> {
    chunk(
        &format!(r#"{{"action":"execute","finished":{finished}}}"#),
        body,
    )
}

/// A reply chunk as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The metadata bytes, as text.
    pub metadata: String,
    /// The body bytes.
    pub body: Vec<u8>,
}

impl Reply {
    /// The metadata as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.metadata).expect("reply metadata is JSON")
    }

    /// The whole chunk as it was on the wire.
    pub fn bytes(&self) -> Vec<u8> {
        let mut out = format!(
            "chunked 1.0,{},{}\n{}",
            self.metadata.len(),
            self.body.len(),
            self.metadata
        )
        .into_bytes();
        out.extend_from_slice(&self.body);
        out
    }
}

/// What stdout held after the replies, and how the process ended.
#[derive(Debug)]
pub struct Ending {
    /// The exit code (`None` when killed by a signal).
    pub code: Option<i32>,
    /// The signal that killed the process, if one did.
    pub signal: Option<i32>,
    /// Everything written to stderr.
    pub stderr: String,
}

/// A running command, talked to like splunkd does.
pub struct Session {
    child: Child,
    stdin: Option<ChildStdin>,
    replies: Receiver<Result<Reply, String>>,
    stderr: thread::JoinHandle<String>,
}

impl Session {
    /// Starts the command in protocol mode.
    pub fn start() -> Session {
        let mut child = command()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the command starts");
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().unwrap();
        let mut stderr = child.stderr.take().unwrap();
        let (send, replies) = mpsc::channel();
        thread::spawn(move || {
            let mut stdout = BufReader::new(stdout);
            loop {
                match read_reply(&mut stdout) {
                    Ok(Some(reply)) => {
                        if send.send(Ok(reply)).is_err() {
                            return;
                        }
                    }
                    Ok(None) => return,
                    Err(e) => {
                        let _ = send.send(Err(e));
                        return;
                    }
                }
            }
        });
        let stderr = thread::spawn(move || {
            let mut text = Vec::new();
            let _ = stderr.read_to_end(&mut text);
            String::from_utf8_lossy(&text).into_owned()
        });
        Session {
            child,
            stdin,
            replies,
            stderr,
        }
    }

    /// The command's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Writes raw bytes to the command's stdin.
    pub fn send(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().expect("stdin is open");
        stdin.write_all(bytes).expect("the command reads its input");
        stdin.flush().unwrap();
    }

    /// Closes the command's stdin: the end of input, as when splunkd goes away.
    pub fn close_input(&mut self) {
        drop(self.stdin.take());
    }

    /// Sends a request and waits for its one reply.
    pub fn request(&mut self, bytes: &[u8]) -> Reply {
        self.send(bytes);
        self.next_reply().unwrap_or_else(|| {
            panic!(
                "no reply to {:?}",
                String::from_utf8_lossy(&bytes[..bytes.len().min(200)])
            )
        })
    }

    /// The next reply, or `None` if stdout ended.
    pub fn next_reply(&mut self) -> Option<Reply> {
        match self.replies.recv_timeout(REPLY_TIMEOUT) {
            Ok(Ok(reply)) => Some(reply),
            Ok(Err(e)) => panic!("malformed reply: {e}"),
            Err(mpsc::RecvTimeoutError::Disconnected) => None,
            Err(mpsc::RecvTimeoutError::Timeout) => panic!("no reply within {REPLY_TIMEOUT:?}"),
        }
    }

    /// Closes stdin, checks that nothing but whole replies came back, and waits for exit.
    pub fn finish(mut self) -> Ending {
        self.close_input();
        if let Some(extra) = self.next_reply() {
            panic!("unrequested reply: {extra:?}");
        }
        let status = self.child.wait().unwrap();
        let stderr = self.stderr.join().unwrap();
        assert!(
            !stderr.contains(SESSION_KEY),
            "session key on stderr: {stderr}"
        );
        Ending {
            code: status.code(),
            signal: status.signal(),
            stderr,
        }
    }
}

/// Reads one reply chunk, strictly: exact header syntax, exact lengths, nothing in
/// between. `None` at the end of the stream.
pub fn read_reply(input: &mut impl BufRead) -> Result<Option<Reply>, String> {
    let mut line = Vec::new();
    input
        .read_until(b'\n', &mut line)
        .map_err(|e| e.to_string())?;
    if line.is_empty() {
        return Ok(None);
    }
    let header = String::from_utf8_lossy(&line).into_owned();
    let lengths = header
        .strip_prefix("chunked 1.0,")
        .and_then(|rest| rest.strip_suffix('\n'))
        .ok_or_else(|| format!("bad header {header:?}"))?;
    let (meta, body) = lengths
        .split_once(',')
        .ok_or_else(|| format!("bad header {header:?}"))?;
    let number = |s: &str| -> Result<usize, String> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("bad length in {header:?}"));
        }
        s.parse().map_err(|e| format!("{e}"))
    };
    let mut metadata = vec![0; number(meta)?];
    let mut body = vec![0; number(body)?];
    input
        .read_exact(&mut metadata)
        .and_then(|()| input.read_exact(&mut body))
        .map_err(|e| format!("reply shorter than its header {header:?}: {e}"))?;
    let metadata = String::from_utf8(metadata).map_err(|e| e.to_string())?;
    Ok(Some(Reply { metadata, body }))
}

/// Runs a whole input stream at once (not half-duplex) and returns the replies and ending.
pub fn run_stream(input: &[u8]) -> (Vec<Reply>, Ending) {
    let mut session = Session::start();
    // The command may stop reading early (an error): a failed write is then expected.
    if let Some(stdin) = session.stdin.as_mut() {
        let _ = stdin.write_all(input);
    }
    drop(session.stdin.take());
    let mut replies = Vec::new();
    while let Some(reply) = session.next_reply() {
        replies.push(reply);
    }
    (replies, session.finish())
}

/// Runs the command in protocol mode on `input`, behind `wrapper` when it is not empty:
/// a program and its arguments (`prlimit --as=N`, `strace ...`), to which `--` and the
/// command line are appended. The input is written from another thread, so a command
/// that stops reading cannot deadlock the test.
pub fn run_wrapped(wrapper: &[OsString], input: &[u8]) -> Output {
    let program = command();
    let mut cmd = match wrapper.split_first() {
        Some((first, rest)) => {
            let mut cmd = Command::new(first);
            cmd.args(rest)
                .arg("--")
                .arg(program.get_program())
                .args(program.get_args());
            cmd
        }
        None => program,
    };
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{cmd:?} does not start: {e}"));
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap();
    output
}

/// Parses a CSV body into rows of byte fields.
pub fn csv_rows(body: &[u8]) -> Vec<Vec<Vec<u8>>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(body)
        .byte_records()
        .map(|r| r.expect("valid CSV").iter().map(<[u8]>::to_vec).collect())
        .collect()
}

/// Decodes Splunk's `$a$;$b$` multivalue encoding.
pub fn decode_multivalue(cell: &[u8]) -> Vec<Vec<u8>> {
    let mut values = Vec::new();
    let mut i = 0;
    while i < cell.len() {
        assert_eq!(cell[i], b'$', "value starts with $ in {cell:?}");
        i += 1;
        let mut value = Vec::new();
        loop {
            match (cell.get(i), cell.get(i + 1)) {
                (Some(b'$'), Some(b'$')) => {
                    value.push(b'$');
                    i += 2;
                }
                (Some(b'$'), _) => {
                    i += 1;
                    break;
                }
                (Some(&b), _) => {
                    value.push(b);
                    i += 1;
                }
                (None, _) => panic!("unterminated multivalue {cell:?}"),
            }
        }
        values.push(value);
        if i < cell.len() {
            assert_eq!(cell[i], b';');
            i += 1;
        }
    }
    values
}
