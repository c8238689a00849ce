//! An execute body of arbitrary bytes through `Annotator::advance`, `Annotator::reply`
//! and `Reply::write_to`. The first input byte selects filtering (its low bit) and the
//! size of the pieces the body also arrives in (the other bits: 1 to 8,510 bytes); the
//! rest is the body.
//!
//! Checks: the body planned as it arrives in pieces gets the same reply, or the same
//! error, as the whole body; and whenever it is accepted: the reply is exactly as long as
//! planned; it is
//! CSV that reads back row for row; every input row comes back (or, filtering, every
//! matching row) with its fields unchanged and in order; and the annotation cells are
//! filled exactly when the rule fires on that row.

#![no_main]

use std::cell::RefCell;
use std::io::Read;

use libfuzzer_sys::fuzz_target;
use reghivedump::annotate::FIELDS;
use reghivedump::fields::FieldMap;
use reghivedump::records::{Annotator, BodyError};
use reghivedump::rule::{Detector, Mode};

/// The annotation columns: the plain fields and the `__mv_` companions of the lists.
const ANNOTATION_COLUMNS: usize = 23;

/// The rule on its own, and an annotator without and with filtering, built once:
/// compiling the rule per input would dominate.
struct Fixture {
    detector: Detector,
    annotators: [Annotator; 2],
}

thread_local! {
    static FIXTURE: RefCell<Fixture> = RefCell::new(Fixture {
        detector: Detector::new(Mode::Exact),
        annotators: [false, true]
            .map(|filter| Annotator::new(Detector::new(Mode::Exact), FieldMap::default(), filter)),
    });
}

/// The rows of a body as the `csv` crate reads them. It drops a byte order mark at the
/// very start of its input, where the command, like splunklib, reads one as part of the
/// first field name; behind a blank line, which both skip, the mark is a plain byte.
fn records(body: &[u8]) -> Vec<csv::ByteRecord> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader((&b"\n"[..]).chain(body))
        .byte_records()
        .map(|r| r.expect("a byte slice reads without error"))
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, body)) = data.split_first() else {
        return;
    };
    let filter = first & 1 == 1;
    let step = 1 + usize::from(first >> 1) * 67;
    FIXTURE.with_borrow_mut(|fixture| check(fixture, filter, step, body));
});

/// The reply body to `body`, given to `annotator` first in pieces of `step` bytes if
/// `step` is not 0.
fn reply(annotator: &mut Annotator, step: usize, body: &[u8]) -> Result<Vec<u8>, BodyError> {
    if step > 0 {
        for (i, piece) in body.chunks(step).enumerate() {
            annotator.advance(i * step, piece);
        }
    }
    let reply = annotator.reply(body)?;
    let mut out = Vec::new();
    reply.write_to(&mut out).unwrap();
    assert_eq!(out.len(), reply.len(), "planned length");
    Ok(out)
}

fn check(fixture: &mut Fixture, filter: bool, step: usize, body: &[u8]) {
    let annotator = &mut fixture.annotators[usize::from(filter)];
    let whole = reply(annotator, 0, body);
    assert_eq!(reply(annotator, step, body), whole, "in pieces of {step}");
    let Ok(out) = whole else {
        return;
    };

    let input = records(body);
    let output = records(&out);
    let Some((header, rows)) = input.split_first() else {
        assert!(out.is_empty());
        return;
    };
    let width = header.len();
    let columns =
        FieldMap::default().resolve(|name| header.iter().position(|h| h == name.as_bytes()));
    let mut kept = Vec::new();
    for row in rows {
        let event = columns.event(|&i| row.get(i));
        let matched = fixture.detector.detect(&event).is_some();
        if matched || !filter {
            kept.push((row, matched));
        }
    }
    assert_eq!(output.len(), kept.len() + 1, "rows out: {out:?}");
    let out_header = &output[0];
    assert_eq!(out_header.len(), width + ANNOTATION_COLUMNS);
    assert!(out_header.iter().take(width).eq(header.iter()));
    assert!(out_header
        .iter()
        .skip(width)
        .take(FIELDS.len())
        .eq(FIELDS.iter().map(|f| f.name.as_bytes())));
    for (got, (want, matched)) in output[1..].iter().zip(kept) {
        assert_eq!(got.len(), width + ANNOTATION_COLUMNS);
        assert!(got.iter().take(width).eq(want.iter()), "{got:?} / {want:?}");
        assert_eq!(!got[width].is_empty(), matched);
    }
}
