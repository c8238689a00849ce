//! Faults through the real binary: lying lengths, a reader that goes away, a writer that
//! goes silent, signals, hostile bytes and sizes. Each ends with a clear message and the
//! documented exit code (docs/security.md), never a panic or a hang.
//!
//! End of input at every byte offset is in `errors.rs`.

use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::thread;
use std::time::Duration;

use crate::util::*;

/// A session that stops after `input` and must fail with exit code 1 and `message`,
/// both in the error reply and on stderr.
fn expect_failure(input: &[u8], message: &str) {
    let (replies, ending) = run_stream(input);
    let last = replies.last().expect("an error reply");
    assert_eq!(last.json()["error"], message, "{:?}", ending.stderr);
    assert_eq!(ending.code, Some(1));
    assert_eq!(ending.stderr, format!("reghivedump: error: {message}\n"));
}

#[test]
fn absurd_and_non_numeric_lengths_are_refused_by_name() {
    let bad = |header: &str| {
        format!(
            "malformed chunk header \"{header}\" (expected \"chunked 1.0,<metadata length>,<body length>\")"
        )
    };
    let cases = [
        ("chunked 1.0,-1,0\n", bad("chunked 1.0,-1,0\\n")),
        ("chunked 1.0,+2,0\n", bad("chunked 1.0,+2,0\\n")),
        ("chunked 1.0,2e3,0\n", bad("chunked 1.0,2e3,0\\n")),
        ("chunked 1.0,0x10,0\n", bad("chunked 1.0,0x10,0\\n")),
        ("chunked 1.0,2,1.5\n", bad("chunked 1.0,2,1.5\\n")),
        (
            "chunked 1.0,\u{661},0\n",
            bad("chunked 1.0,\\xd9\\xa1,0\\n"),
        ),
        (
            "chunked 1.0,18446744073709551616,0\n",
            bad("chunked 1.0,18446744073709551616,0\\n"),
        ),
        // u64::MAX itself: twenty digits are more than any length this command takes.
        (
            "chunked 1.0,2,18446744073709551615\n",
            bad("chunked 1.0,2,18446744073709551615\\n"),
        ),
        (
            "chunked 1.0,2,9999999999999999999\n",
            "chunk body length 9999999999999999999 exceeds the limit of 1073741824 bytes"
                .to_string(),
        ),
        (
            "chunked 1.0,16777217,0\n",
            "chunk metadata length 16777217 exceeds the limit of 16777216 bytes".to_string(),
        ),
        (
            "chunked 1.0,2,1073741825\n",
            "chunk body length 1073741825 exceeds the limit of 1073741824 bytes".to_string(),
        ),
    ];
    for (header, message) in cases {
        // The same header as the first chunk and after a good getinfo.
        expect_failure(header.as_bytes(), &message);
        let mut input = getinfo(&[]);
        input.extend_from_slice(header.as_bytes());
        expect_failure(&input, &message);
    }
}

/// The start of an execute request whose header claims `claimed` body bytes, of which
/// only `sent` follow.
fn partial_execute(claimed: usize, sent: &[u8]) -> Vec<u8> {
    let metadata = r#"{"action":"execute","finished":true}"#;
    let mut out = format!("chunked 1.0,{},{claimed}\n{metadata}", metadata.len()).into_bytes();
    out.extend_from_slice(sent);
    out
}

/// Runs the binary with its address space limited to `megabytes`, so that allocating
/// what a header claims, rather than what arrives, would abort it.
fn run_limited(megabytes: u64, input: &[u8]) -> Output {
    let wrapper = ["prlimit".into(), format!("--as={}", megabytes << 20).into()];
    run_wrapped(&wrapper, input)
}

#[test]
fn a_claimed_chunk_costs_only_the_bytes_that_arrive() {
    // 1,000,000,000 bytes claimed (under the 1 GiB cap), 3 sent, in 256 MiB of address
    // space: a reader that trusted the claim could not even allocate it.
    let mut input = getinfo(&[]);
    input.extend(partial_execute(1_000_000_000, b"a,b"));
    let output = run_limited(256, &input);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_eq!(
        stderr,
        "reghivedump: error: input ended inside a chunk: body has 3 of 1000000000 bytes\n"
    );
    // Over the cap: refused before anything is read, whatever follows.
    let output = run_limited(256, b"chunked 1.0,2,9999999999999\n{}");
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "reghivedump: error: chunk body length 9999999999999 exceeds the limit of 1073741824 bytes\n"
    );
}

#[test]
fn a_body_beyond_the_storage_that_can_be_had_grows_with_its_bytes() {
    // 600,000,000 bytes claimed in 512 MiB of address space: storage for the whole claim
    // cannot be had, so it starts at 64 MiB and doubles as the 100 MB that are sent
    // arrive, keeping every byte.
    let mut input = getinfo(&[]);
    input.extend(partial_execute(600_000_000, &vec![b'a'; 100_000_000]));
    let output = run_limited(512, &input);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "reghivedump: error: input ended inside a chunk: body has 100000000 of 600000000 bytes\n"
    );
}

/// The peak resident memory of a process, in bytes, from `/proc/<pid>/status`.
fn peak_resident(pid: u32) -> u64 {
    let status =
        std::fs::read_to_string(format!("/proc/{pid}/status")).expect("the process exists");
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .expect("VmHWM");
    let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib << 10
}

#[test]
fn a_claimed_chunk_is_not_resident_until_its_bytes_arrive() {
    // 1,000,000,000 bytes claimed, 3 MB sent, no limit on address space: storage for the
    // whole claim may be set aside, but only what arrived may become memory.
    let mut s = Session::start();
    s.request(&getinfo(&[]));
    s.send(&partial_execute(1_000_000_000, &vec![b'a'; 3 << 20]));
    assert_blocked(s.pid(), "inside a claimed 1 GB body");
    let peak = peak_resident(s.pid());
    assert!(peak < 32 << 20, "{peak} bytes resident for 3 MB received");
    s.close_input();
    let reply = s.next_reply().expect("an error reply");
    let message = "input ended inside a chunk: body has 3145728 of 1000000000 bytes";
    assert!(reply.metadata.contains(message), "{}", reply.metadata);
    let ending = s.finish();
    assert_eq!(ending.code, Some(1));
    assert_eq!(ending.stderr, format!("reghivedump: error: {message}\n"));
}

#[test]
fn a_reader_that_goes_away_ends_the_command_quietly() {
    let mut input = getinfo(&[]);
    for _ in 0..20 {
        input.extend(execute(
            false,
            b"process_name,process\nreg.exe,reg save HKLM\\SAM x\n",
        ));
    }
    let mut child = command()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let mut stdin = child.stdin.take().unwrap();
    let _ = stdin.write_all(&input);
    drop(stdin);
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&output.stderr), "");

    // `scan ... | head` likewise.
    let sample = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/app/lookups/reghivedump_sample_events.csv"
    );
    let mut child = command()
        .args(["scan", "--format", "csv", sample])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&output.stderr), "");
}

/// The process state letter and the CPU time it has used, in clock ticks, from
/// `/proc/<pid>/stat`.
fn state_and_cpu(pid: u32) -> (char, u64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("the process exists");
    // The command name in parentheses may hold spaces; the fields after it do not.
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
    let ticks = |i: usize| fields[i].parse::<u64>().unwrap();
    (fields[0].chars().next().unwrap(), ticks(11) + ticks(12))
}

/// Asserts that the process sleeps, blocked on its input, and burns no CPU meanwhile.
fn assert_blocked(pid: u32, when: &str) {
    thread::sleep(Duration::from_millis(200));
    let (_, before) = state_and_cpu(pid);
    thread::sleep(Duration::from_secs(1));
    let (state, after) = state_and_cpu(pid);
    assert_eq!(state, 'S', "{when}: the command should sleep on its input");
    // A busy loop would use about 100 ticks in that second.
    assert!(
        after - before <= 5,
        "{when}: {} ticks of CPU while idle",
        after - before
    );
}

#[test]
fn silent_input_is_waited_for_without_spinning() {
    let mut s = Session::start();
    assert_blocked(s.pid(), "before getinfo");
    s.request(&getinfo(&[]));
    assert_blocked(s.pid(), "between requests");
    s.send(&partial_execute(20, b"a,b\n"));
    assert_blocked(s.pid(), "inside a body");
    // The rest arrives: the command goes on where it was.
    s.send(b"1,2\n3,4\n5,6\n7,8\n");
    let reply = s.next_reply().expect("a reply once the body is whole");
    assert_eq!(csv_rows(&reply.body).len(), 5);
    let ending = s.finish();
    assert_eq!((ending.code, ending.stderr.as_str()), (Some(0), ""));
}

/// Sends the signal `name` (TERM, PIPE) to `pid`, with the shell's built-in kill, which
/// every system has, unlike a kill program.
fn signal(pid: u32, name: &str) {
    let status = Command::new("sh")
        .args(["-c", "kill -s \"$0\" \"$1\"", name, &pid.to_string()])
        .status()
        .expect("sh runs");
    assert!(status.success());
}

/// Waits until the process has ended (a zombie, or gone), failing after 30 s.
fn wait_for_end(pid: u32) {
    for _ in 0..3000 {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Err(_) => return,
            Ok(_) if state_and_cpu(pid).0 == 'Z' => return,
            Ok(_) => thread::sleep(Duration::from_millis(10)),
        }
    }
    panic!("process {pid} still runs 30 s after the signal");
}

#[test]
fn sigterm_ends_the_command_wherever_it_waits() {
    const SIGTERM: i32 = 15;
    let waits: [&[u8]; 3] = [b"", b"chunked 1.0,37,", &partial_execute(20, b"a,b\n")];
    for partial in waits {
        let mut s = Session::start();
        s.request(&getinfo(&[]));
        s.send(partial);
        thread::sleep(Duration::from_millis(100));
        signal(s.pid(), "TERM");
        wait_for_end(s.pid());
        let ending = s.finish();
        assert_eq!((ending.code, ending.signal), (None, Some(SIGTERM)));
        assert_eq!(ending.stderr, "");
    }
}

#[test]
fn sigpipe_is_ignored_and_the_session_goes_on() {
    let mut s = Session::start();
    s.request(&getinfo(&[]));
    signal(s.pid(), "PIPE");
    let reply = s.request(&execute(
        true,
        b"process_name,process\nreg.exe,reg save HKLM\\SAM x\n",
    ));
    assert_eq!(
        csv_rows(&reply.body)[1][2],
        b"Attempted Credential Dump From Registry via Reg exe"
    );
    let ending = s.finish();
    assert_eq!(ending.code, Some(0), "{}", ending.stderr);
}

/// Quotes a CSV cell as splunkd does: always, with quotes doubled.
fn quoted(value: &[u8]) -> Vec<u8> {
    let mut out = vec![b'"'];
    for &b in value {
        if b == b'"' {
            out.push(b'"');
        }
        out.push(b);
    }
    out.push(b'"');
    out
}

#[test]
fn invalid_utf8_passes_through_byte_for_byte_where_the_rule_reads_and_where_not() {
    // Lone continuation bytes, an overlong encoding, an encoded surrogate, a truncated
    // sequence, NUL: in the fields the rule reads and in others.
    let line = b"reg save HKLM\\SAM C:\\\x80\xc0\xaf\xed\xa0\x80\xe2\x82 \0x".to_vec();
    let name = b"reg.exe".to_vec();
    let other = b"\xff\xfe\"q\"\r\n,\xf4\x90\x80\x80".to_vec();
    let mut row = Vec::new();
    for (i, cell) in [&name, &line, &other].into_iter().enumerate() {
        if i > 0 {
            row.push(b',');
        }
        row.extend(quoted(cell));
    }
    let mut body = b"process_name,process,\"\xff_raw\"\n".to_vec();
    body.extend_from_slice(&row);
    body.push(b'\n');
    let mut s = Session::start();
    s.request(&getinfo(&[]));
    let reply = s.request(&execute(true, &body));
    let text_rows: Vec<&[u8]> = reply.body.split(|&b| b == b'\n').collect();
    assert!(reply
        .body
        .starts_with(b"process_name,process,\"\xff_raw\","));
    // The row's bytes come back first, exactly; the annotation follows.
    let row_start = reply
        .body
        .windows(row.len())
        .position(|w| w == row)
        .expect("the row, unchanged");
    assert_eq!(reply.body[row_start + row.len()], b',');
    assert!(text_rows.len() > 2);
    let rows = csv_rows(&reply.body);
    assert_eq!(rows[1][..3], [name.clone(), line.clone(), other.clone()]);
    assert_eq!(
        rows[1][3],
        b"Attempted Credential Dump From Registry via Reg exe"
    );
    assert!(
        rows[1][3 + 12].ends_with(&line),
        "risk_message carries the raw bytes"
    );
    assert_eq!(
        decode_multivalue(&rows[1][3 + 21])[0],
        line,
        "threat_object"
    );
    assert_eq!(s.finish().code, Some(0));
}

#[test]
fn a_10_mb_field_comes_back_whole() {
    // Ten megabytes of what the patterns look for, none of it completing a match, then
    // a match at the very end.
    let mut line = b"reg save ".to_vec();
    while line.len() < 10_000_000 {
        line.extend_from_slice(b"hklm\\sa\"hkey_local_machine\\syst,save");
    }
    line.extend_from_slice(b" HKLM\\SYSTEM");
    let mut body = b"process_name,process,x\nreg.exe,".to_vec();
    body.extend(quoted(&line));
    body.extend_from_slice(b",after\nnotepad.exe,");
    body.extend(quoted(&line));
    body.extend_from_slice(b",after\n");
    let mut s = Session::start();
    s.request(&getinfo(&[]));
    let reply = s.request(&execute(true, &body));
    let rows = csv_rows(&reply.body);
    assert_eq!(rows.len(), 3);
    assert_eq!(
        rows[1][..3],
        [b"reg.exe".to_vec(), line.clone(), b"after".to_vec()]
    );
    assert_eq!(rows[1][3 + 3], b"SYSTEM");
    assert_eq!(rows[2][1], line);
    assert!(rows[2][3..].iter().all(Vec::is_empty));
    let ending = s.finish();
    assert_eq!((ending.code, ending.stderr.as_str()), (Some(0), ""));
}

#[test]
fn a_thousand_columns_come_back_in_place() {
    // 500 fields and their 500 `__mv_` companions, as splunkd lays them out.
    let mut names: Vec<String> = (0..498).map(|i| format!("f{i}")).collect();
    names.extend(["process_name".into(), "process".into()]);
    let mv: Vec<String> = names.iter().map(|n| format!("__mv_{n}")).collect();
    names.extend(mv);
    let mut values: Vec<String> = (0..498).map(|i| format!("v{i}")).collect();
    values.extend(["reg.exe".into(), "reg save HKLM\\SECURITY s".into()]);
    values.extend((0..500).map(|i| {
        if i % 7 == 0 {
            format!("$a{i}$;$b$")
        } else {
            String::new()
        }
    }));
    let body = format!(
        "{}\n{}\n{}\n",
        names.join(","),
        values.join(","),
        values.join(",")
    );
    let mut s = Session::start();
    s.request(&getinfo(&["filter=t"]));
    let reply = s.request(&execute(true, body.as_bytes()));
    let rows = csv_rows(&reply.body);
    assert_eq!(rows.len(), 3);
    for row in &rows {
        assert_eq!(row.len(), 1000 + ANNOTATION_COLUMNS);
    }
    let header: Vec<String> = rows[0]
        .iter()
        .map(|f| String::from_utf8_lossy(f).into())
        .collect();
    assert_eq!(header[..1000], names[..]);
    for row in &rows[1..] {
        let got: Vec<String> = row
            .iter()
            .map(|f| String::from_utf8_lossy(f).into())
            .collect();
        assert_eq!(got[..1000], values[..]);
        assert_eq!(got[1000 + 3], "SECURITY");
    }
    let ending = s.finish();
    assert_eq!((ending.code, ending.stderr.as_str()), (Some(0), ""));
}
