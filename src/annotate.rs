//! The fields added to a matching event: what fired, how it maps to MITRE ATT&CK, and the
//! risk and threat objects that Splunk Enterprise Security's risk-based alerting reads.
//!
//! Values are plain bytes: a command line that is not valid UTF-8 is carried into
//! `risk_message` and `threat_object` exactly as it arrived.

use std::borrow::Cow;

use crate::fields::Event;
use crate::rule::{Detection, Hives, Mode};

/// The published rule's name.
pub const DETECTION_NAME: &str = "Attempted Credential Dump From Registry via Reg exe";

/// The published rule's id in Splunk Security Content.
pub const DETECTION_ID: &str = "14038953-e5f2-4daf-acff-5452062baf03";

/// An added field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// Its name.
    pub name: &'static str,
    /// Whether it can hold several values, and so has a `__mv_` companion column.
    pub multivalue: bool,
}

const fn field(name: &'static str, multivalue: bool) -> Field {
    Field { name, multivalue }
}

/// The added fields, in output order.
pub const FIELDS: [Field; 17] = [
    field("detection_name", false),
    field("detection_id", false),
    field("detection_variant", false),
    field("reg_hive", true),
    field("mitre_attack", true),
    field("mitre_tactic", false),
    field("mitre_tactic_id", false),
    field("kill_chain_phase", false),
    field("analytic_story", false),
    field("risk_score", false),
    field("risk_impact", false),
    field("risk_confidence", false),
    field("risk_message", false),
    field("risk_object", true),
    field("risk_object_type", true),
    field("threat_object", true),
    field("threat_object_type", true),
];

/// One added field's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value<'a> {
    /// A single text value.
    Text(Cow<'a, [u8]>),
    /// A whole number.
    Number(u32),
    /// A multivalue field (possibly with one value or none).
    List(Vec<Cow<'a, [u8]>>),
}

/// The values of the added fields for a detection, in the order of [`FIELDS`].
pub fn annotate<'a>(detection: &Detection, event: &Event<'a>) -> [Value<'a>; 17] {
    let text = |s: &'static str| Value::Text(Cow::Borrowed(s.as_bytes()));
    let unknown = |v: Option<&'a [u8]>| v.unwrap_or(b"unknown");
    let cmd_line = event.cmd_line.unwrap_or_default();

    let mut message =
        b"Malicious actor is dumping stored credentials from the registry sections SAM, \
Security, or System. Operation is performed at the device "
            .to_vec();
    message.extend_from_slice(unknown(event.dest));
    message.extend_from_slice(b", by the account ");
    message.extend_from_slice(unknown(event.user));
    message.extend_from_slice(b" via command ");
    message.extend_from_slice(cmd_line);

    let mut risk_objects = Vec::new();
    let mut risk_types = Vec::new();
    for (value, kind) in [(event.dest, "system"), (event.user, "user")] {
        if let Some(value) = value {
            risk_objects.push(Cow::Borrowed(value));
            risk_types.push(Cow::Borrowed(kind.as_bytes()));
        }
    }

    let mut threats = Vec::new();
    let mut threat_types = Vec::new();
    for (value, kind) in [
        (event.cmd_line, "command"),
        (event.process_name, "process_name"),
    ] {
        if let Some(value) = value {
            threats.push(Cow::Borrowed(value));
            threat_types.push(Cow::Borrowed(kind.as_bytes()));
        }
    }
    for hive in detection.hives.names() {
        threats.push(Cow::Owned(format!("HKLM\\{hive}").into_bytes()));
        threat_types.push(Cow::Borrowed(&b"registry_path"[..]));
    }

    [
        text(DETECTION_NAME),
        text(DETECTION_ID),
        text(detection.variant.name()),
        Value::List(
            detection
                .hives
                .names()
                .map(|h| Cow::Borrowed(h.as_bytes()))
                .collect(),
        ),
        Value::List(
            techniques(detection)
                .into_iter()
                .map(|t| Cow::Borrowed(t.as_bytes()))
                .collect(),
        ),
        text("Credential Access"),
        text("TA0006"),
        text("Exploitation"),
        text("Credential Dumping"),
        Value::Number(63),
        Value::Number(70),
        Value::Number(90),
        Value::Text(Cow::Owned(message)),
        Value::List(risk_objects),
        Value::List(risk_types),
        Value::List(threats),
        Value::List(threat_types),
    ]
}

/// MITRE ATT&CK techniques. The published rule maps to T1003 (OS Credential Dumping)
/// alone, and exact mode keeps that. Extended mode adds the sub-techniques the hives
/// name: T1003.002 (Security Account Manager) for SAM, and for SYSTEM, whose boot key
/// is what decrypts the SAM hashes; T1003.004 (LSA Secrets) for SECURITY.
fn techniques(detection: &Detection) -> Vec<&'static str> {
    let mut out = vec!["T1003"];
    if detection.mode == Mode::Extended {
        let hives = detection.hives;
        if hives.contains(Hives::SAM) || hives.contains(Hives::SYSTEM) {
            out.push("T1003.002");
        }
        if hives.contains(Hives::SECURITY) {
            out.push("T1003.004");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rule::Variant;

    fn texts(value: &Value) -> Vec<String> {
        match value {
            Value::Text(t) => vec![String::from_utf8_lossy(t).into_owned()],
            Value::Number(n) => vec![n.to_string()],
            Value::List(l) => l
                .iter()
                .map(|v| String::from_utf8_lossy(v).into_owned())
                .collect(),
        }
    }

    #[test]
    fn fills_every_field_for_a_full_event() {
        let mut hives = Hives::SAM;
        hives.insert(Hives::SYSTEM);
        let detection = Detection {
            mode: Mode::Exact,
            variant: Variant::Exact,
            hives,
        };
        let event = Event {
            process_name: Some(b"reg.exe"),
            cmd_line: Some(b"reg save HKLM\\SAM s"),
            dest: Some(b"ws1"),
            user: Some(b"CORP\\ann"),
            original_file_name: None,
        };
        let values = annotate(&detection, &event);
        let got: Vec<Vec<String>> = values.iter().map(texts).collect();
        assert_eq!(got[0], [DETECTION_NAME]);
        assert_eq!(got[2], ["exact"]);
        assert_eq!(got[3], ["SAM", "SYSTEM"]);
        assert_eq!(got[4], ["T1003"]);
        assert_eq!(got[9..12], [["63"], ["70"], ["90"]]);
        assert_eq!(
            got[12],
            [
                "Malicious actor is dumping stored credentials from the registry sections SAM, \
Security, or System. Operation is performed at the device ws1, by the account CORP\\ann via \
command reg save HKLM\\SAM s"
            ]
        );
        assert_eq!(got[13], ["ws1", "CORP\\ann"]);
        assert_eq!(got[14], ["system", "user"]);
        assert_eq!(
            got[15],
            [
                "reg save HKLM\\SAM s",
                "reg.exe",
                "HKLM\\SAM",
                "HKLM\\SYSTEM"
            ]
        );
        assert_eq!(
            got[16],
            ["command", "process_name", "registry_path", "registry_path"]
        );
        for (field, value) in FIELDS.iter().zip(&values) {
            assert_eq!(
                field.multivalue,
                matches!(value, Value::List(_)),
                "{}",
                field.name
            );
        }
    }

    #[test]
    fn extended_mode_adds_the_sub_techniques_of_the_hives_named() {
        let mitre = |mode, variant, hives: &[Hives]| {
            let mut set = Hives::default();
            for h in hives {
                set.insert(*h);
            }
            let detection = Detection {
                mode,
                variant,
                hives: set,
            };
            let event = Event::default();
            texts(&annotate(&detection, &event)[4])
        };
        let all = [Hives::SAM, Hives::SECURITY, Hives::SYSTEM];
        assert_eq!(mitre(Mode::Exact, Variant::Exact, &all), ["T1003"]);
        assert_eq!(
            mitre(Mode::Extended, Variant::Exact, &all),
            ["T1003", "T1003.002", "T1003.004"]
        );
        assert_eq!(
            mitre(Mode::Extended, Variant::Shape, &[Hives::SYSTEM]),
            ["T1003", "T1003.002"]
        );
        assert_eq!(
            mitre(Mode::Extended, Variant::HiveFile, &[Hives::SECURITY]),
            ["T1003", "T1003.004"]
        );
    }

    #[test]
    fn missing_device_and_user_are_said_to_be_unknown() {
        let detection = Detection {
            mode: Mode::Exact,
            variant: Variant::Exact,
            hives: Hives::SAM,
        };
        let event = Event {
            cmd_line: Some(b"x"),
            ..Event::default()
        };
        let values = annotate(&detection, &event);
        let message = texts(&values[12]).remove(0);
        assert!(message.contains("device unknown, by the account unknown via command x"));
        assert_eq!(values[13], Value::List(vec![]));
    }
}
