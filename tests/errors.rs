//! Bad options and malformed input: a clear error reply, one line on stderr, exit 1,
//! and never a panic, a hang or the session key.

use crate::util::*;

/// Runs `input` at once and expects one error reply as the last reply, exit code 1 and
/// the same message on stderr. Returns the message.
fn expect_error(input: &[u8]) -> String {
    let (replies, ending) = run_stream(input);
    let last = replies.last().expect("an error reply");
    let json = last.json();
    assert_eq!(json["finished"], true, "{}", last.metadata);
    let message = json["error"]
        .as_str()
        .expect("an error message")
        .to_string();
    assert_eq!(
        json["inspector"]["messages"],
        serde_json::json!([["ERROR", message]])
    );
    assert!(
        last.metadata
            .starts_with(r#"{"finished":true,"inspector":"#),
        "inspector before error: {}",
        last.metadata
    );
    assert!(last.body.is_empty());
    assert_eq!(ending.code, Some(1));
    assert_eq!(ending.stderr, format!("reghivedump: error: {message}\n"));
    assert!(!ending.stderr.contains("panicked"));
    for reply in &replies {
        assert!(!reply.metadata.contains(SESSION_KEY));
    }
    message
}

#[test]
fn bad_options_are_answered_in_the_getinfo_reply() {
    let cases: [(&[&str], &str); 5] = [
        (&["bogus=1"], "unknown option 'bogus' (options: mode, filter, process_name_field, cmdline_field, dest_field, user_field)"),
        (&["mode=fuzzy"], "invalid value 'fuzzy' for mode: expected exact or extended"),
        (&["filter=perhaps"], "invalid value 'perhaps' for filter: expected true or false (t, true, 1, yes / f, false, 0, no)"),
        (&["process"], "unexpected argument 'process': options are written name=value (options: mode, filter, process_name_field, cmdline_field, dest_field, user_field)"),
        (&["mode=exact", "mode=exact"], "option 'mode' is given more than once"),
    ];
    for (args, want) in cases {
        let mut input = getinfo(args);
        input.extend(execute(true, b"a\n1\n"));
        let (replies, _) = run_stream(&input);
        assert_eq!(
            replies.len(),
            1,
            "{args:?}: no reply to execute after an error"
        );
        assert_eq!(expect_error(&input), want, "{args:?}");
    }
}

#[test]
fn malformed_requests_end_the_session_with_a_clear_message() {
    let mut ragged = getinfo(&[]);
    ragged.extend(execute(false, b"a,b\n1,2\n3\n"));
    let mut unterminated = getinfo(&[]);
    unterminated.extend(execute(true, b"a,b\n1,\"2\n"));
    let mut second_getinfo = getinfo(&[]);
    second_getinfo.extend(getinfo(&[]));
    let mut truncated = getinfo(&[]);
    truncated
        .extend_from_slice(b"chunked 1.0,37,100\n{\"action\":\"execute\",\"finished\":false}a,b\n");
    let mut clash = getinfo(&["filter=t"]);
    clash.extend(execute(true, b"risk_score,x\n5,1\n"));
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (execute(true, b"a\n1\n"), "the first request is not getinfo"),
        (chunk(r#"{"action":"getinfo"}"#, b"x"), "the getinfo request has a body"),
        (b"GET / HTTP/1.1\r\n\r\n".to_vec(), "malformed chunk header \"GET / HTTP/1.1\\r\\n\" (expected \"chunked 1.0,<metadata length>,<body length>\")"),
        (b"chunked 1.0,abc,0\n{}".to_vec(), "malformed chunk header \"chunked 1.0,abc,0\\n\" (expected \"chunked 1.0,<metadata length>,<body length>\")"),
        (b"chunked 1.0,2,99999999999\n{}".to_vec(), "chunk body length 99999999999 exceeds the limit of 1073741824 bytes"),
        (b"chunked 1.0,99999999,0\n{}".to_vec(), "chunk metadata length 99999999 exceeds the limit of 16777216 bytes"),
        (chunk("{\"action\":", b""), "chunk metadata is not valid JSON (line 1, column 10)"),
        (chunk("[1,2]", b""), "chunk metadata has an unexpected shape (line 1, column 2)"),
        (chunk(r#"{"action":"dance"}"#, b""), "unsupported action 'dance' in chunk metadata"),
        (ragged, "malformed CSV body: row 3 has 1 fields but the header has 2"),
        (unterminated, "malformed CSV body: row 2 has a quoted field that is never closed"),
        (second_getinfo, "a second getinfo request arrived"),
        (truncated, "input ended inside a chunk: body has 4 of 100 bytes"),
        (clash, "the events already have a field named 'risk_score', which this command adds; rename it first (| rename risk_score AS orig_risk_score)"),
    ];
    for (input, want) in cases {
        assert_eq!(expect_error(&input), want);
    }
}

#[test]
fn a_claimed_huge_chunk_is_waited_for_and_its_end_reported() {
    // Just under the limit: the command waits for bytes that never come, holding only
    // what arrived. The input then ends, and it says so.
    let input = b"chunked 1.0,2,1000000000\n{}abc";
    assert_eq!(
        expect_error(input),
        "input ended inside a chunk: body has 3 of 1000000000 bytes"
    );
}

/// Cutting a valid session at any byte: a clean exit only at a chunk boundary,
/// otherwise a clear error; never a hang or a panic.
#[test]
fn end_of_input_at_every_offset() {
    let mut session = getinfo(&[]);
    let boundary1 = session.len();
    session.extend(execute(
        true,
        b"process_name,process\nreg.exe,\"reg save HKLM\\SAM s\"\n",
    ));
    let boundary2 = session.len();
    for cut in 0..=session.len() {
        let (replies, ending) = run_stream(&session[..cut]);
        assert!(
            !ending.stderr.contains("panicked"),
            "cut {cut}: {}",
            ending.stderr
        );
        match cut {
            0 => assert_eq!((replies.len(), ending.code), (0, Some(0))),
            c if c == boundary1 => assert_eq!((replies.len(), ending.code), (1, Some(0))),
            c if c == boundary2 => assert_eq!((replies.len(), ending.code), (2, Some(0))),
            _ => {
                assert_eq!(ending.code, Some(1), "cut {cut}");
                assert!(
                    ending
                        .stderr
                        .starts_with("reghivedump: error: input ended inside a chunk"),
                    "cut {cut}: {}",
                    ending.stderr
                );
            }
        }
    }
}
