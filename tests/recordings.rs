//! Byte streams recorded from real splunkd (../shared/testdata/splunk-sdk-recordings),
//! replayed with this command's own getinfo: every request gets one reply, and every row
//! comes back with every field unchanged.

use std::io::Read;

use crate::util::*;

fn recording(name: &str) -> Option<Vec<u8>> {
    let path = shared_testdata()?.join("splunk-sdk-recordings").join(name);
    let file = std::fs::File::open(&path).expect("recording is readable");
    let mut bytes = Vec::new();
    flate2::read::GzDecoder::new(file)
        .read_to_end(&mut bytes)
        .expect("recording is gzip");
    Some(bytes)
}

/// Replays the execute requests of a recording and checks every reply. Returns the
/// number of rows seen.
fn replay(name: &str) -> Option<usize> {
    let stream = recording(name)?;
    let mut requests = Vec::new();
    let mut rest = &stream[..];
    while let Some(request) = read_reply(&mut rest).expect("the recording is well framed") {
        requests.push(request);
    }
    assert_eq!(requests[0].json()["action"], "getinfo");
    let mut s = Session::start();
    s.request(&getinfo(&[]));
    let mut rows_seen = 0;
    for request in &requests[1..] {
        let meta = request.json();
        assert_eq!(meta["action"], "execute");
        let reply = s.request(&request.bytes());
        assert_eq!(
            reply.json(),
            serde_json::json!({"finished": meta["finished"]})
        );
        let input = csv_rows(&request.body);
        let output = csv_rows(&reply.body);
        assert_eq!(output.len(), input.len(), "{name}: rows in and out");
        for (i, (inp, out)) in input.iter().zip(&output).enumerate() {
            assert_eq!(out.len(), inp.len() + ANNOTATION_COLUMNS);
            assert_eq!(out[..inp.len()], inp[..], "{name}: row {i}");
            if i == 0 {
                let names: Vec<&str> = ANNOTATION_HEADER.split(',').collect();
                assert_eq!(
                    out[inp.len()..],
                    names
                        .iter()
                        .map(|n| n.as_bytes().to_vec())
                        .collect::<Vec<_>>()[..]
                );
            } else {
                assert!(
                    out[inp.len()..].iter().all(Vec::is_empty),
                    "{name}: row {i} annotated"
                );
            }
        }
        rows_seen += input.len().saturating_sub(1);
    }
    let ending = s.finish();
    assert_eq!(ending.code, Some(0), "{}", ending.stderr);
    Some(rows_seen)
}

#[test]
fn countmatches_multilingual_text_with_embedded_newlines() {
    if let Some(rows) = replay("scpv2/Splunk-6.3/countmatches.input.gz") {
        assert_eq!(rows, 500);
    }
}

#[test]
fn sum_map_fifty_thousand_rows_in_one_chunk() {
    if let Some(rows) = replay("scpv2/Splunk-6.3/sum.map.input.gz") {
        assert_eq!(rows, 50_000);
    }
}

#[test]
fn multibyte_nine_execute_chunks() {
    if let Some(rows) = replay("custom_search/multibyte_input.gz") {
        assert_eq!(
            rows,
            6638 + 5861 + 1 + 6574 + 5926 + 6412 + 6088 + 1741 + 1441
        );
    }
}

#[test]
fn the_raw_recording_runs_start_to_end() {
    // The recorded getinfo carries another command's arguments, which this command
    // rejects by name: the way splunkd would show a mistyped search.
    let Some(stream) = recording("scpv2/Splunk-6.3/countmatches.input.gz") else {
        return;
    };
    let (replies, ending) = run_stream(&stream);
    assert_eq!(replies.len(), 1);
    assert_eq!(
        replies[0].json()["error"],
        "unknown option 'fieldname' (options: mode, filter, process_name_field, cmdline_field, dest_field, user_field)"
    );
    assert_eq!(ending.code, Some(1));
}
