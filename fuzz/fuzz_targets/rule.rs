//! The rule's entry point, `Detector::detect`, over events of arbitrary bytes, for every
//! mode whose name `Mode::NAMES` lists (a new mode is picked up without editing this).
//!
//! The input is the event's values separated by 0x1F (unit separator): process name,
//! command line, device, user, original file name. An empty value is absent, as the field
//! map makes it.
//!
//! Checks: no panic, in detection or in building the annotation; and in exact mode the
//! verdict and hives equal the test suite's naive, regex-free reading of the published
//! rule (`tests/oracle.rs`).

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use reghivedump::annotate;
use reghivedump::fields::Event;
use reghivedump::rule::{Detector, Mode};

#[path = "../../tests/oracle.rs"]
mod oracle;

/// A compiled detector for every mode, built once: compiling per input would dominate.
fn detectors() -> &'static [(Mode, Detector)] {
    static DETECTORS: OnceLock<Vec<(Mode, Detector)>> = OnceLock::new();
    DETECTORS.get_or_init(|| {
        let modes: Vec<(Mode, Detector)> = Mode::NAMES
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
            .filter_map(|name| name.parse().ok())
            .map(|mode| (mode, Detector::new(mode)))
            .collect();
        assert!(!modes.is_empty(), "no mode in {:?}", Mode::NAMES);
        modes
    })
}

fuzz_target!(|data: &[u8]| {
    let mut values = data
        .splitn(5, |&b| b == 0x1f)
        .map(|v| (!v.is_empty()).then_some(v));
    let mut next = || values.next().flatten();
    let event = Event {
        process_name: next(),
        cmd_line: next(),
        dest: next(),
        user: next(),
        original_file_name: next(),
    };
    for (mode, detector) in detectors() {
        let detection = detector.detect(&event);
        if let Some(detection) = &detection {
            let _ = annotate::annotate(detection, &event);
            let _ = detection.to_string();
        }
        if *mode == Mode::Exact {
            assert_eq!(
                detection.map(|d| d.hives),
                oracle::exact(&event),
                "{event:?}"
            );
        }
    }
});
