//! Whole sessions through the real binary, checked byte for byte.

use crate::util::*;

const REQUIRED: &str = r#"{"type":"streaming","required_fields":["process_name","Image","NewProcessName","New_Process_Name","process_path","process","cmd_line","CommandLine","Process_Command_Line","dest_device_id","dest","Computer","Hostname","host","dest_user_id","user","User","SubjectUserName"]}"#;

fn empty_cells() -> String {
    ",".repeat(ANNOTATION_COLUMNS)
}

#[test]
fn getinfo_declares_a_streaming_command_and_the_fields_it_reads() {
    let mut s = Session::start();
    let reply = s.request(&getinfo(&[]));
    assert_eq!(
        String::from_utf8(reply.bytes()).unwrap(),
        format!("chunked 1.0,{},0\n{REQUIRED}", REQUIRED.len())
    );
    let ending = s.finish();
    assert_eq!(ending.code, Some(0), "{}", ending.stderr);
    assert_eq!(ending.stderr, "");
}

#[test]
fn extended_mode_also_asks_for_the_original_file_name() {
    let mut s = Session::start();
    let reply = s.request(&getinfo(&["mode=extended"]));
    let with_ofn = REQUIRED.replace(
        r#""SubjectUserName"]"#,
        r#""SubjectUserName","original_file_name","OriginalFileName"]"#,
    );
    assert_ne!(with_ofn, REQUIRED);
    assert_eq!(reply.metadata, with_ofn);
    assert_eq!(s.finish().code, Some(0));
}

#[test]
fn field_options_change_the_required_fields_and_filter_asks_for_whole_events() {
    let mut s = Session::start();
    let reply = s.request(&getinfo(&[
        "cmdline_field=cl",
        "process_name_field=img",
        "dest_field=d",
        "user_field=u",
    ]));
    assert_eq!(
        reply.metadata,
        r#"{"type":"streaming","required_fields":["img","cl","d","u"]}"#
    );
    assert_eq!(s.finish().code, Some(0));

    let mut s = Session::start();
    assert_eq!(
        s.request(&getinfo(&["filter=t"])).metadata,
        r#"{"type":"streaming"}"#
    );
    assert_eq!(s.finish().code, Some(0));
}

/// A session shaped like splunkd's: required fields plus `_chunked_idx`, over-eager
/// quoting, LF rows, a multivalue, changing headers, and a header-only last chunk.
#[test]
fn golden_session() {
    let mut s = Session::start();
    s.request(&getinfo(&[]));

    let body1 = b"process_name,process,dest,user,\"_chunked_idx\",\"__mv_process_name\",\"__mv_process\",\"__mv_dest\",\"__mv_user\",\"__mv__chunked_idx\"\n\
\"reg.exe\",\"reg save HKLM\\sam C:\\Temp\\sam.save\",\"ws-01\",\"CORP\\alice\",0,,,,,\n\
\"svchost.exe\",\"C:\\Windows\\system32\\svchost.exe -k netsvcs\",\"ws-01\",\"NT AUTHORITY\\SYSTEM\",1,,,,,\n";
    let reply = s.request(&execute(false, body1));
    let sam_message =
        "Malicious actor is dumping stored credentials from the registry sections SAM, \
Security, or System. Operation is performed at the device ws-01, by the account CORP\\alice via \
command reg save HKLM\\sam C:\\Temp\\sam.save";
    let want = format!(
        "process_name,process,dest,user,\"_chunked_idx\",\"__mv_process_name\",\"__mv_process\",\"__mv_dest\",\"__mv_user\",\"__mv__chunked_idx\",{ANNOTATION_HEADER}\r\n\
\"reg.exe\",\"reg save HKLM\\sam C:\\Temp\\sam.save\",\"ws-01\",\"CORP\\alice\",0,,,,,,\
Attempted Credential Dump From Registry via Reg exe,14038953-e5f2-4daf-acff-5452062baf03,exact,SAM,T1003,\
Credential Access,TA0006,Exploitation,Credential Dumping,63,70,90,\"{sam_message}\",\
\"ws-01\nCORP\\alice\",\"system\nuser\",\"reg save HKLM\\sam C:\\Temp\\sam.save\nreg.exe\nHKLM\\SAM\",\
\"command\nprocess_name\nregistry_path\",,,$ws-01$;$CORP\\alice$,$system$;$user$,\
$reg save HKLM\\sam C:\\Temp\\sam.save$;$reg.exe$;$HKLM\\SAM$,$command$;$process_name$;$registry_path$\r\n\
\"svchost.exe\",\"C:\\Windows\\system32\\svchost.exe -k netsvcs\",\"ws-01\",\"NT AUTHORITY\\SYSTEM\",1,,,,,{}\r\n",
        empty_cells()
    );
    assert_eq!(reply.metadata, r#"{"finished":false}"#);
    assert_eq!(String::from_utf8(reply.body).unwrap(), want);

    // The next chunk has another header, a multivalue process field, and a cmd.exe line.
    let body2 = "\"_chunked_idx\",Image,CommandLine,Computer,\"__mv_CommandLine\"\n\
0,\"C:\\Windows\\System32\\cmd.exe\",\"cmd /c reg save HKLM\\SYSTEM s & echo $x$\nsecond\",\"dc1\",\"$cmd /c reg save HKLM\\SYSTEM s & echo $$x$$$;$second$\"\n";
    let reply = s.request(&execute(false, body2.as_bytes()));
    let rows = csv_rows(&reply.body);
    assert_eq!(rows.len(), 2);
    let header: Vec<String> = rows[0]
        .iter()
        .map(|f| String::from_utf8_lossy(f).into())
        .collect();
    assert_eq!(
        header[..5],
        [
            "_chunked_idx",
            "Image",
            "CommandLine",
            "Computer",
            "__mv_CommandLine"
        ]
    );
    assert_eq!(header[5..].join(","), ANNOTATION_HEADER);
    let row = &rows[1];
    assert_eq!(
        row[4],
        b"$cmd /c reg save HKLM\\SYSTEM s & echo $$x$$$;$second$"
    );
    assert_eq!(row[5 + 2], b"exact");
    assert_eq!(row[5 + 3], b"SYSTEM");
    // One risk object (this chunk has no user field): a plain value, no __mv_ encoding.
    assert_eq!(row[5 + 13], b"dc1");
    assert_eq!(row[5 + 17 + 2], b"");
    assert_eq!(
        decode_multivalue(&row[5 + 21])[2],
        b"HKLM\\SYSTEM".to_vec(),
        "threat objects"
    );

    let reply = s.request(&execute(true, b"process_name,process\n"));
    assert_eq!(
        String::from_utf8(reply.bytes()).unwrap(),
        format!(
            "chunked 1.0,17,{}\n{{\"finished\":true}}process_name,process,{ANNOTATION_HEADER}\r\n",
            23 + ANNOTATION_HEADER.len()
        )
    );
    let ending = s.finish();
    assert_eq!(ending.code, Some(0), "{}", ending.stderr);
    assert_eq!(ending.stderr, "");
}

#[test]
fn values_come_back_unchanged_whatever_they_hold() {
    let values: [&[u8]; 8] = [
        b"comma, and \"quotes\"",
        b"line\nbreaks\r\nand CR\r",
        "Unicode: \u{e17}\u{1f600} \u{17f}ave".as_bytes(),
        b"$dollars$$ and ;",
        b"",
        b"   spaces   ",
        b"\xff\xfe not UTF-8",
        b"tab\tand NUL\0",
    ];
    let mut body = b"\"_raw\",\"_time\",process_name,process\n".to_vec();
    for (i, v) in values.iter().enumerate() {
        body.push(b'"');
        for &b in *v {
            if b == b'"' {
                body.push(b'"');
            }
            body.push(b);
        }
        body.extend_from_slice(
            format!("\",\"{i}.5\",\"reg.exe\",\"reg save HKLM\\SAM {i}\"\n").as_bytes(),
        );
    }
    let mut s = Session::start();
    s.request(&getinfo(&[]));
    let reply = s.request(&execute(true, &body));
    let rows = csv_rows(&reply.body);
    assert_eq!(rows.len(), values.len() + 1);
    for (i, v) in values.iter().enumerate() {
        let row = &rows[i + 1];
        assert_eq!(row[0], *v, "row {i}");
        assert_eq!(row[1], format!("{i}.5").as_bytes());
        assert_eq!(
            row[4],
            b"Attempted Credential Dump From Registry via Reg exe"
        );
    }
    assert_eq!(s.finish().code, Some(0));
}

#[test]
fn empty_bodies_get_empty_replies_and_finished_is_echoed() {
    let mut s = Session::start();
    s.request(&getinfo(&[]));
    for finished in [false, false, true] {
        let reply = s.request(&execute(finished, b""));
        assert_eq!(reply.metadata, format!("{{\"finished\":{finished}}}"));
        assert!(reply.body.is_empty());
    }
    // splunkd may keep sending after finished; the command replies until end of input.
    let reply = s.request(&chunk(r#"{"action":"execute"}"#, b""));
    assert_eq!(reply.metadata, r#"{"finished":false}"#);
    assert_eq!(s.finish().code, Some(0));
}

#[test]
fn filter_returns_only_matching_rows_with_the_header() {
    let body = b"process_name,process,x\nreg.exe,reg save HKLM\\security s,1\nnotepad.exe,x,2\ncmd.exe,reg save HKLM\\SAMPLE y,3\n";
    let mut s = Session::start();
    s.request(&getinfo(&["filter=true"]));
    let reply = s.request(&execute(false, body));
    let rows = csv_rows(&reply.body);
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[1][2], b"1");
    assert_eq!(rows[2][2], b"3");
    let reply = s.request(&execute(true, b"process_name,process\nx,y\n"));
    assert_eq!(
        String::from_utf8(reply.body).unwrap(),
        format!("process_name,process,{ANNOTATION_HEADER}\r\n")
    );
    assert_eq!(s.finish().code, Some(0));
}

#[test]
fn stray_line_breaks_between_requests_are_skipped() {
    let mut input = getinfo(&[]);
    input.extend_from_slice(b"\n\r\n");
    input.extend(execute(true, b"a\n1\n"));
    input.extend_from_slice(b"\n");
    let (replies, ending) = run_stream(&input);
    assert_eq!(replies.len(), 2);
    assert_eq!(ending.code, Some(0));
}

#[test]
fn many_chunks_and_rows_keep_order_and_count() {
    let mut s = Session::start();
    s.request(&getinfo(&[]));
    for chunk_no in 0..5 {
        let mut body = b"\"_chunked_idx\",process_name,process\n".to_vec();
        for i in 0..2000 {
            let (name, line) = if i % 500 == 7 {
                ("reg.exe", "reg save HKLM\\SAM x")
            } else {
                ("conhost.exe", "conhost.exe 0xffffffff -ForceV1")
            };
            body.extend_from_slice(format!("{i},{name},\"{line} {chunk_no}\"\n").as_bytes());
        }
        let reply = s.request(&execute(chunk_no == 4, &body));
        let rows = csv_rows(&reply.body);
        assert_eq!(rows.len(), 2001);
        for (i, row) in rows[1..].iter().enumerate() {
            assert_eq!(row[0], i.to_string().as_bytes());
            assert_eq!(!row[3].is_empty(), i % 500 == 7, "chunk {chunk_no} row {i}");
        }
    }
    assert_eq!(s.finish().code, Some(0));
}

/// Bodies of several megabytes are planned piece by piece while they arrive, on a second
/// thread, with rows split between pieces put together: each row must come back exactly
/// as it does alone in a small body, which is planned only once whole.
#[test]
fn large_bodies_come_back_as_their_rows_do_one_by_one() {
    let long_raw = format!(
        "\"<Event><Data Name='CommandLine'>{}</Data>\n<Data Name=\"\"User\"\">x</Data></Event>\"",
        "reg save hklm\\sa, ".repeat(300)
    );
    let rows = [
        format!("{long_raw},reg.exe,\"reg save HKLM\\SAM C:\\t\\sam.save\",alice"),
        "plain,notepad.exe,notepad.exe x.txt,bob".to_string(),
        "\"a\nb\",cmd.exe,\"cmd /c reg save HKLM\\SYSTEM s\",\"CORP\\carol\"".to_string(),
        format!("{long_raw},svchost.exe,\"svchost.exe -k \"\"netsvcs\"\"\",SYSTEM"),
        ",reg.exe,reg export HKLM\\SAM x,dave".to_string(),
    ];
    let header = "_raw,process_name,process,user";
    let mut s = Session::start();
    s.request(&getinfo(&[]));
    // Each row alone: a small body, planned in one go.
    let alone: Vec<Vec<u8>> = rows
        .iter()
        .map(|row| {
            let reply = s.request(&execute(false, format!("{header}\n{row}\n").as_bytes()));
            let at = reply.body.windows(2).position(|w| w == b"\r\n").unwrap() + 2;
            reply.body[at..].to_vec()
        })
        .collect();
    assert!(alone[0].windows(3).any(|w| w == b"SAM"), "row 0 matches");
    // The same rows, shuffled, with every line ending splunkd or a file may use.
    let mut state = 7u64;
    let mut next = |n: usize| {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) as usize % n
    };
    for (size, finished) in [(6_000_000, false), (2_500_000, true)] {
        let mut body = format!("{header}\n").into_bytes();
        let mut want = s.request(&execute(false, &body)).body;
        while body.len() < size {
            let i = next(rows.len());
            body.extend_from_slice(rows[i].as_bytes());
            body.extend_from_slice([&b"\n"[..], b"\r\n", b"\n\n"][next(3)]);
            want.extend_from_slice(&alone[i]);
        }
        let reply = s.request(&execute(finished, &body));
        let differs = reply.body.iter().zip(&want).position(|(a, b)| a != b);
        assert!(
            reply.body.len() == want.len() && differs.is_none(),
            "{size}: {} bytes, {} wanted, first difference at {differs:?}",
            reply.body.len(),
            want.len()
        );
    }
    let ending = s.finish();
    assert_eq!((ending.code, ending.stderr.as_str()), (Some(0), ""));
}
