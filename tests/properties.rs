//! Property tests: any records, with any field names and values, split into any chunks,
//! come back unchanged and in order, with the annotation exactly where the rule fires.
//!
//! Tables have at least two columns: a row of one empty field is an empty line, which no
//! CSV reader (splunkd's included) can tell from a blank line, and splunkd never sends
//! one, since every field comes with its `__mv_` companion. Rows are written by the `csv`
//! crate and the replies read back by it, so values are compared, not bytes. The rule is
//! checked against the naive oracle in `oracle.rs`, the field mapping against the
//! library's own `FieldMap`.

use std::io::BufReader;

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{select, Index};
use reghivedump::annotate::{DETECTION_NAME, FIELDS};
use reghivedump::fields::FieldMap;
use reghivedump::records::encode_multivalue;

use crate::oracle;
use crate::util::*;

/// Field names the rule reads, so that the rule has something to fire on.
const RULE_FIELDS: [&str; 8] = [
    "process_name",
    "Image",
    "process",
    "CommandLine",
    "dest",
    "user",
    "_chunked_idx",
    "_raw",
];

/// Process names and image paths, near misses included.
const PROCESS_NAMES: [&str; 9] = [
    "reg.exe",
    "REG.EXE",
    "cmd.exe",
    "Cmd.Exe",
    "C:\\Windows\\System32\\reg.exe",
    "/usr/bin/cmd.exe",
    "reg.exe ",
    "reg",
    "powershell.exe",
];

/// Pieces of command lines, near misses included: each of the rule's parts, in every
/// case, with Unicode look-alikes.
const SAVES: [&str; 4] = ["save", "SAVE", "sAvE", "\u{17f}ave"];
const SPACES: [&str; 6] = [" ", "\t", "\n", "\x0b", "\u{a0}", ""];
const ROOTS: [&str; 5] = [
    "HKLM\\",
    "hkey_local_machine\\",
    "hKlM\\",
    "HKLM\\\\",
    "HKLM/",
];
const HIVES: [&str; 6] = ["SAM", "security", "System", "SAMPLE", "sys", "H\u{212a}LM"];
const NOISE: [&str; 8] = ["reg ", " ", "x", "\"", ",", "$", "\0", "\r\n"];

fn pieces(list: &'static [&'static str], most: usize) -> impl Strategy<Value = String> {
    vec(select(list), 0..=most).prop_map(|parts| parts.concat())
}

/// A command line built around the rule's parts, so that it fires often and misses
/// narrowly otherwise.
fn cmd_line() -> impl Strategy<Value = Vec<u8>> {
    (
        pieces(&NOISE, 3),
        select(&SAVES[..]),
        select(&SPACES[..]),
        pieces(&NOISE, 2),
        select(&ROOTS[..]),
        select(&HIVES[..]),
        pieces(&NOISE, 2),
        prop::option::of((select(&ROOTS[..]), select(&HIVES[..]))),
    )
        .prop_map(|(a, save, space, b, root, hive, c, more)| {
            let (root2, hive2) = more.unwrap_or_default();
            format!("{a}{save}{space}{b}{root}{hive}{c}{root2}{hive2}").into_bytes()
        })
}

fn is_annotation(name: &[u8]) -> bool {
    let plain = name.strip_prefix(b"__mv_").unwrap_or(name);
    FIELDS.iter().any(|f| f.name.as_bytes() == plain)
}

/// Bytes that CSV and the multivalue encoding treat specially, and any byte at all.
fn byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        select(&b"\",\r\n$;\0 \t\xff\xc3\xa9"[..]),
        b'a'..=b'z',
        any::<u8>(),
    ]
}

fn name() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        4 => select(&RULE_FIELDS[..]).prop_map(|n| n.as_bytes().to_vec()),
        2 => select(&RULE_FIELDS[..]).prop_map(|n| format!("__mv_{n}").into_bytes()),
        1 => vec(byte(), 0..8).prop_map(|n| [&b"__mv_"[..], &n].concat()),
        1 => Just(Vec::new()),
        2 => vec(byte(), 0..12),
    ]
    .prop_filter("the command refuses fields it adds", |n| !is_annotation(n))
    .boxed()
}

fn value() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        3 => vec(byte(), 0..24),
        3 => select(&PROCESS_NAMES[..]).prop_map(|n| n.as_bytes().to_vec()),
        3 => cmd_line(),
        1 => vec(vec(byte(), 0..6), 0..4).prop_map(|items| {
            let mut cell = Vec::new();
            encode_multivalue(&mut cell, &items);
            cell
        }),
        1 => (byte(), 1000..100_000usize).prop_map(|(b, n)| vec![b; n]),
    ]
    .boxed()
}

/// One chunk's table: a header and rows of the same width.
#[derive(Debug, Clone)]
struct Table {
    names: Vec<Vec<u8>>,
    rows: Vec<Vec<Vec<u8>>>,
}

fn table() -> impl Strategy<Value = Table> {
    (2..7usize).prop_flat_map(|width| {
        (vec(name(), width), vec(vec(value(), width), 0..12))
            .prop_map(|(names, rows)| Table { names, rows })
    })
}

/// How a chunk's body is written: splunkd quotes eagerly and ends lines with LF; other
/// writers quote minimally or end lines with CRLF. A table without rows may also be sent
/// as an empty body.
#[derive(Debug, Clone, Copy)]
struct Style {
    quote_always: bool,
    crlf: bool,
    empty_if_no_rows: bool,
}

fn style() -> impl Strategy<Value = Style> {
    (any::<bool>(), any::<bool>(), any::<bool>()).prop_map(
        |(quote_always, crlf, empty_if_no_rows)| Style {
            quote_always,
            crlf,
            empty_if_no_rows,
        },
    )
}

fn body(table: &Table, style: Style) -> Vec<u8> {
    if table.rows.is_empty() && style.empty_if_no_rows {
        return Vec::new();
    }
    let mut writer = csv::WriterBuilder::new()
        .quote_style(if style.quote_always {
            csv::QuoteStyle::Always
        } else {
            csv::QuoteStyle::Necessary
        })
        .terminator(if style.crlf {
            csv::Terminator::CRLF
        } else {
            csv::Terminator::Any(b'\n')
        })
        .from_writer(Vec::new());
    writer.write_record(&table.names).unwrap();
    for row in &table.rows {
        writer.write_record(row).unwrap();
    }
    writer.into_inner().unwrap()
}

/// A whole session: options, then tables cut into chunks at the given row indices, each chunk
/// written in its own style.
#[derive(Debug, Clone)]
struct Stream {
    filter: bool,
    chunks: Vec<(Table, Style)>,
}

fn session() -> impl Strategy<Value = Stream> {
    let cut_table = (table(), vec(any::<Index>(), 0..4)).prop_map(|(table, cuts)| {
        let mut at: Vec<usize> = cuts.iter().map(|i| i.index(table.rows.len() + 1)).collect();
        at.sort_unstable();
        let mut start = 0;
        let mut pieces = Vec::new();
        for end in at.into_iter().chain([table.rows.len()]) {
            pieces.push(Table {
                names: table.names.clone(),
                rows: table.rows[start..end].to_vec(),
            });
            start = end;
        }
        pieces
    });
    (any::<bool>(), vec(cut_table, 1..3), vec(style(), 12)).prop_map(|(filter, tables, styles)| {
        Stream {
            filter,
            chunks: tables
                .into_iter()
                .flatten()
                .zip(styles.into_iter().cycle())
                .collect(),
        }
    })
}

impl Stream {
    fn input(&self) -> Vec<u8> {
        let mut input = getinfo(if self.filter { &["filter=t"] } else { &[] });
        for (i, (table, style)) in self.chunks.iter().enumerate() {
            input.extend(execute(i + 1 == self.chunks.len(), &body(table, *style)));
        }
        input
    }
}

/// The replies a session must get, checked against `replies`: one per request, each
/// execute reply with the rows of its request (all, or with `filter` only the matching
/// ones), their values unchanged, and the annotation filled exactly when the rule fires.
fn check(session: &Stream, replies: &[Reply]) -> Result<(), TestCaseError> {
    prop_assert_eq!(replies.len(), session.chunks.len() + 1);
    let annotation: Vec<&str> = ANNOTATION_HEADER.split(',').collect();
    for (i, ((table, style), reply)) in session.chunks.iter().zip(&replies[1..]).enumerate() {
        let finished = i + 1 == session.chunks.len();
        prop_assert_eq!(&reply.metadata, &format!("{{\"finished\":{finished}}}"));
        if table.rows.is_empty() && style.empty_if_no_rows {
            prop_assert!(reply.body.is_empty());
            continue;
        }
        let rows = csv_rows(&reply.body);
        let width = table.names.len();
        prop_assert_eq!(&rows[0][..width], &table.names[..]);
        prop_assert!(rows[0][width..]
            .iter()
            .eq(annotation.iter().map(|a| a.as_bytes())));
        let columns = FieldMap::default()
            .resolve(|name| table.names.iter().position(|n| n == name.as_bytes()));
        let mut out = rows[1..].iter();
        for row in &table.rows {
            let event = columns.event(|&c| Some(&row[c][..]));
            let hives = oracle::exact(&event);
            if session.filter && hives.is_none() {
                continue;
            }
            let got = out.next().expect("a reply row for every request row");
            prop_assert_eq!(got.len(), width + ANNOTATION_COLUMNS);
            prop_assert_eq!(&got[..width], &row[..]);
            let cells = &got[width..];
            match hives {
                None => prop_assert!(cells.iter().all(Vec::is_empty), "{:?}", cells),
                Some(hives) => {
                    let names: Vec<&str> = hives.names().collect();
                    prop_assert_eq!(&cells[0], DETECTION_NAME.as_bytes());
                    prop_assert_eq!(&cells[3], &names.join("\n").into_bytes());
                    let mv = if names.len() > 1 {
                        let mut cell = Vec::new();
                        encode_multivalue(&mut cell, &names);
                        cell
                    } else {
                        Vec::new()
                    };
                    prop_assert_eq!(&cells[17], &mv);
                    let message = &cells[12];
                    let line = event.cmd_line.unwrap_or_default();
                    prop_assert!(
                        message.ends_with(line),
                        "risk_message ends with the command line"
                    );
                }
            }
        }
        prop_assert!(out.next().is_none(), "no extra rows");
    }
    Ok(())
}

/// Runs a session in this process, as the binary does, and returns its replies.
fn serve(input: &[u8]) -> Vec<Reply> {
    let mut out = Vec::new();
    let mut log = Vec::new();
    let code = reghivedump::command::run(input, &mut out, &mut log);
    assert_eq!(
        (code, String::from_utf8_lossy(&log).as_ref()),
        (0, ""),
        "exit code and log"
    );
    let mut reader = BufReader::new(&out[..]);
    let mut replies = Vec::new();
    while let Some(reply) = read_reply(&mut reader).expect("well-formed replies") {
        replies.push(reply);
    }
    replies
}

proptest! {
    #[test]
    fn any_records_in_any_chunks_come_back_with_annotations_where_the_rule_fires(
        session in session()
    ) {
        check(&session, &serve(&session.input()))?;
    }
}

proptest! {
    // Fewer cases through the real binary: each one starts a process.
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn the_binary_keeps_the_same_promise(session in session()) {
        let (replies, ending) = run_stream(&session.input());
        prop_assert_eq!(ending.code, Some(0), "{}", ending.stderr);
        prop_assert_eq!(ending.stderr, "");
        check(&session, &replies)?;
    }
}
