//! What the command must never do, whatever it is fed: let the session key or other
//! search secrets out, open a network connection, or write a file in protocol mode.
//!
//! Every session runs under `strace` when it is installed: the trace shows each network
//! call, each file opened and each write, with its bytes, so "no connection, no file
//! written, no secret written anywhere" is checked on what the kernel saw, not on what
//! the code appears to do. Without strace, only stdout and stderr are checked, and the
//! syscall test says it was skipped.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::util::*;

/// What search metadata carries that must stay inside: the session key, and the job's
/// paths, address and search string.
const SECRETS: [&str; 4] = [
    SESSION_KEY,
    "/opt/splunk/var/run/splunk/dispatch/1700000000.42",
    "https://127.0.0.1:8089",
    "search%20index%3Dmain",
];

/// Sessions that end normally and in each kind of error after metadata with the key.
fn sessions() -> Vec<(&'static str, Vec<u8>)> {
    let key = serde_json::to_string(SESSION_KEY).unwrap();
    let matching = b"process_name,process,user\nreg.exe,reg save HKLM\\SAM s,ann\n";
    let mut normal = getinfo(&[]);
    normal.extend(execute(false, matching));
    normal.extend(execute(true, b""));
    let mut second_getinfo = getinfo(&[]);
    second_getinfo.extend(getinfo(&[]));
    let mut broken_json = getinfo(&[]);
    broken_json.extend(chunk(
        &format!(r#"{{"action":"execute","searchinfo":{{"session_key":{key},"#),
        b"",
    ));
    let mut bad_body = getinfo(&[]);
    bad_body.extend(execute(true, b"a,b\n1\n"));
    vec![
        ("a normal session", normal),
        ("bad options", getinfo(&["bogus=1"])),
        ("a second getinfo", second_getinfo),
        ("broken JSON holding the key", broken_json),
        (
            "args of the wrong shape",
            chunk(
                &format!(
                    r#"{{"action":"getinfo","searchinfo":{{"session_key":{key},"args":{key}}}}}"#
                ),
                b"",
            ),
        ),
        ("a ragged body", bad_body),
    ]
}

/// Whether `strace` can be run, said once per test that needs it.
fn strace_available() -> bool {
    if std::env::var_os("REGHIVEDUMP_COMMAND").is_some() {
        eprintln!("skipped: REGHIVEDUMP_COMMAND is set, and strace would trace the emulator");
        return false;
    }
    match Command::new("strace").arg("-V").output() {
        Ok(out) if out.status.success() => true,
        _ => {
            eprintln!("skipped: strace is not installed (apt-get install strace)");
            false
        }
    }
}

/// The syscalls traced: every network call, every call on file names, and every call
/// that writes bytes to a descriptor.
const TRACED: &str = "trace=%network,%file,write,writev,pwrite64,pwritev,pwritev2,\
sendfile,splice,copy_file_range,ftruncate,fallocate,memfd_create";

/// Runs the command in protocol mode on `input`, under strace when `trace` is set, and
/// returns its output and the trace lines.
fn observe(input: &[u8], trace: bool) -> (Output, Vec<String>) {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    let trace_file = std::env::temp_dir().join(format!(
        "reghivedump-strace-{}-{}.txt",
        std::process::id(),
        RUNS.fetch_add(1, Ordering::Relaxed)
    ));
    let wrapper: Vec<OsString> = if trace {
        let mut args: Vec<OsString> = ["strace", "-f", "-qq", "-s", "1000000", "-e", TRACED, "-o"]
            .map(OsString::from)
            .to_vec();
        args.push(trace_file.clone().into());
        args
    } else {
        Vec::new()
    };
    let output = run_wrapped(&wrapper, input);
    let lines = if trace {
        let text = std::fs::read_to_string(&trace_file).expect("strace wrote its trace");
        std::fs::remove_file(&trace_file).unwrap();
        text.lines().map(str::to_string).collect()
    } else {
        Vec::new()
    };
    (output, lines)
}

#[test]
fn secrets_never_reach_stdout_stderr_or_any_write() {
    let traced = strace_available();
    for (what, input) in sessions() {
        let (output, trace) = observe(&input, traced);
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!stdout.is_empty(), "{what}: a reply");
        for secret in SECRETS {
            assert!(
                !stdout.contains(secret),
                "{what}: {secret} on stdout: {stdout}"
            );
            assert!(
                !stderr.contains(secret),
                "{what}: {secret} on stderr: {stderr}"
            );
            for line in trace.iter().filter(|l| syscall(l).starts_with("write")) {
                assert!(!line.contains(secret), "{what}: {secret} written: {line}");
            }
        }
    }
}

/// The syscall a strace line records (`1234  openat(...) = 3`, or
/// `1234  <... write resumed>...`); empty for signal and exit lines.
fn syscall(line: &str) -> &str {
    let rest = line.split_once(' ').map_or("", |(_, r)| r.trim_start());
    let rest = rest.strip_prefix("<... ").unwrap_or(rest);
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    &rest[..end]
}

/// Whether a traced call is allowed in protocol mode: reading the program, its libraries
/// and /proc (the dynamic loader and the runtime do), and writing to stdout and stderr.
/// Anything else (a socket, a file opened for writing, a rename, a write to another
/// descriptor) is not.
fn allowed(line: &str) -> bool {
    let call = syscall(line);
    let args = line.split_once('(').map_or("", |(_, a)| a);
    match call {
        "" => true,
        "execve" | "access" | "faccessat" | "faccessat2" | "newfstatat" | "stat" | "lstat"
        | "statx" | "readlink" | "readlinkat" | "statfs" => true,
        "open" | "openat" => ![
            "O_WRONLY",
            "O_RDWR",
            "O_CREAT",
            "O_TRUNC",
            "O_APPEND",
            "O_TMPFILE",
        ]
        .iter()
        .any(|flag| args.contains(flag)),
        "write" | "writev" => args.starts_with("1,") || args.starts_with("2,"),
        _ => false,
    }
}

#[test]
fn protocol_mode_opens_no_connection_and_writes_no_file() {
    if !strace_available() {
        return;
    }
    for (what, input) in sessions() {
        let (output, trace) = observe(&input, true);
        assert!(
            trace.iter().any(|l| syscall(l) == "write"),
            "{what}: the trace holds the replies: {trace:?}"
        );
        let refused: Vec<&String> = trace.iter().filter(|l| !allowed(l)).collect();
        assert!(refused.is_empty(), "{what}: {refused:#?}");
        assert!(output.status.code().is_some());
    }
}

#[test]
fn the_syscall_check_would_see_a_file_written() {
    // The same check on a command that does write a file and open a socket, so that a
    // trace parsed wrongly cannot pass for a clean one.
    if !strace_available() {
        return;
    }
    let scratch: PathBuf =
        std::env::temp_dir().join(format!("reghivedump-probe-{}", std::process::id()));
    let script = format!(
        "echo x > {0}; rm -f {0}; exec 3<>/dev/tcp/127.0.0.1/9; true",
        scratch.display()
    );
    let trace_file =
        std::env::temp_dir().join(format!("reghivedump-probe-{}.txt", std::process::id()));
    let status = Command::new("strace")
        .args(["-f", "-qq", "-e", TRACED, "-o"])
        .arg(&trace_file)
        .args(["--", "bash", "-c", &script])
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let text = std::fs::read_to_string(&trace_file).unwrap();
    std::fs::remove_file(&trace_file).unwrap();
    let refused: Vec<&str> = text.lines().filter(|l| !allowed(l)).map(syscall).collect();
    for call in ["openat", "unlinkat", "socket", "connect"] {
        assert!(refused.contains(&call), "{call} not caught in {refused:?}");
    }
}

/// The kernel hints that a session of a few MB gives, as strace shows them: pipe sizes
/// set and pages advised.
fn hints_given(args: &[&str]) -> Vec<String> {
    let rows = "svchost.exe,\"C:\\Windows\\System32\\svchost.exe -k netsvcs\"\n".repeat(100_000);
    let mut input = getinfo(&[]);
    input.extend(execute(
        true,
        format!("process_name,process\n{rows}").as_bytes(),
    ));
    let trace_file = std::env::temp_dir().join(format!(
        "reghivedump-hints-{}-{}.txt",
        std::process::id(),
        args.len()
    ));
    let mut child = Command::new("strace")
        .args(["-f", "-qq", "-e", "trace=fcntl,madvise", "-o"])
        .arg(&trace_file)
        .arg("--")
        .arg(env!("CARGO_BIN_EXE_reghivedump"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("strace runs");
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        use std::io::Write;
        stdin.write_all(&input).unwrap();
    });
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(output.status.success());
    let mut replies = &output.stdout[..];
    let mut count = 0;
    while read_reply(&mut replies)
        .expect("well-formed replies")
        .is_some()
    {
        count += 1;
    }
    assert_eq!(count, 2, "a reply to getinfo and one to execute");
    let text = std::fs::read_to_string(&trace_file).expect("strace wrote its trace");
    std::fs::remove_file(&trace_file).unwrap();
    // The C library's own `madvise` calls (MADV_DONTNEED when a thread's stack is
    // freed) are not the command's hints.
    text.lines()
        .filter(|l| {
            ["F_SETPIPE_SZ", "MADV_HUGEPAGE", "MADV_POPULATE_WRITE"]
                .iter()
                .any(|hint| l.contains(hint))
        })
        .map(str::to_string)
        .collect()
}

#[test]
fn no_kernel_hints_means_none_are_given() {
    if !strace_available() {
        return;
    }
    let given = hints_given(&[]);
    for hint in ["F_SETPIPE_SZ", "MADV_POPULATE_WRITE"] {
        assert!(
            given.iter().any(|l| l.contains(hint)),
            "no {hint} in {given:?}"
        );
    }
    assert_eq!(hints_given(&["--no-kernel-hints"]), Vec::<String>::new());
}
