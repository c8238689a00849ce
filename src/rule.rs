//! The detection rule: does an event dump a credential-bearing registry hive?
//!
//! The rule sees only an [`Event`]'s values; it knows nothing of Splunk, CSV or files.
//!
//! Exact mode is the published rule, below. Extended mode (`extended`) first dismisses
//! most lines with a quick test (`prefilter`), then undoes obfuscation (`normalize`)
//! and matches the structure of a dump; the published rule then only names the variant.

use std::fmt;
use std::str::FromStr;

use regex::bytes::{Regex, RegexBuilder};

use crate::fields::Event;
use extended::ExtendedRule;

mod extended;
mod normalize;
mod prefilter;

/// Which rule to apply.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Mode {
    /// The published rule, bit for bit.
    #[default]
    Exact,
    /// The structure of a hive dump after undoing obfuscation: catches what the
    /// published rule misses (`reg export`, renamed reg.exe, wrappers, look-alike
    /// characters, regedit, hive-file copies) and drops its false positives
    /// (`HKLM\SYSTEM\...` subkeys, `HKLM\SAMPLE`, words in an `echo`).
    Extended,
}

impl Mode {
    /// Every mode's name, for messages.
    pub const NAMES: &'static str = "exact or extended";

    /// Whether the rule reads the PE original file name, which still says reg.exe or
    /// regedit.exe after the program was renamed.
    pub fn reads_original_file_name(self) -> bool {
        self == Mode::Extended
    }

    /// The option value that selects this mode.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Exact => "exact",
            Mode::Extended => "extended",
        }
    }
}

impl FromStr for Mode {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "exact" => Ok(Mode::Exact),
            "extended" => Ok(Mode::Extended),
            _ => Err(()),
        }
    }
}

/// Which branch of the rule fired. In extended mode an event that the published rule
/// also flags is always [`Variant::Exact`], so `detection_variant=exact` keeps exactly
/// the published rule's hits and any other value says why a new one fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// The published rule fired.
    Exact,
    /// The process's own arguments 1 and 2 are `save` or `export` and a
    /// credential-bearing key: reg.exe by any name or path, or a renamed copy.
    Shape,
    /// A `reg` or `reg.exe` word followed by `save` or `export` and a
    /// credential-bearing key, inside a line that runs other commands (cmd.exe,
    /// PowerShell, PsExec, schtasks, wmic, a batch file written by `echo`).
    Wrapper,
    /// `regedit /e FILE KEY` (or `/a`, `-e`, `-a`) of a credential-bearing key.
    Regedit,
    /// A copy of the hive files themselves (`...\config\SAM`) from a volume shadow copy
    /// or with a copying tool such as esentutl or certutil; `reg load` excepted.
    HiveFile,
}

impl Variant {
    /// The value of the `detection_variant` field.
    pub fn name(self) -> &'static str {
        match self {
            Variant::Exact => "exact",
            Variant::Shape => "shape",
            Variant::Wrapper => "wrapper",
            Variant::Regedit => "regedit",
            Variant::HiveFile => "hive-file",
        }
    }
}

/// A set of the three credential-bearing hives.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Hives(u8);

impl Hives {
    /// The SAM hive: local account password hashes.
    pub const SAM: Hives = Hives(1);
    /// The SECURITY hive: LSA secrets and cached domain logons.
    pub const SECURITY: Hives = Hives(2);
    /// The SYSTEM hive: the boot key that decrypts the other two.
    pub const SYSTEM: Hives = Hives(4);

    /// Adds the hives of `other`.
    pub fn insert(&mut self, other: Hives) {
        self.0 |= other.0;
    }

    /// Whether every hive of `other` is in this set.
    pub fn contains(self, other: Hives) -> bool {
        self.0 & other.0 == other.0
    }

    /// The hive named by a key component such as `sam` (any ASCII case).
    pub fn from_name(name: &[u8]) -> Option<Hives> {
        [Hives::SAM, Hives::SECURITY, Hives::SYSTEM]
            .into_iter()
            .find(|h| h.name().as_bytes().eq_ignore_ascii_case(name))
    }

    /// The upper-case names of the hives in the set, in a fixed order.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        [Hives::SAM, Hives::SECURITY, Hives::SYSTEM]
            .into_iter()
            .filter(move |h| self.contains(*h))
            .map(Hives::name)
    }

    fn name(self) -> &'static str {
        match self {
            Hives::SAM => "SAM",
            Hives::SECURITY => "SECURITY",
            _ => "SYSTEM",
        }
    }
}

/// A positive verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Detection {
    /// The rule that gave it.
    pub mode: Mode,
    /// The branch that fired.
    pub variant: Variant,
    /// The hives the command line names.
    pub hives: Hives,
}

impl fmt::Display for Detection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.variant.name())?;
        for hive in self.hives.names() {
            write!(f, " {hive}")?;
        }
        Ok(())
    }
}

/// The compiled rule for one mode. Build it once and reuse it for every event.
#[derive(Debug)]
pub struct Detector {
    exact: ExactRule,
    /// Present in extended mode.
    extended: Option<ExtendedRule>,
}

impl Detector {
    /// Compiles the rule for `mode`.
    pub fn new(mode: Mode) -> Self {
        Detector {
            exact: ExactRule::new(),
            extended: (mode == Mode::Extended).then(ExtendedRule::new),
        }
    }

    /// Whether an event with this process name can match at all. In exact mode only
    /// `cmd.exe` and `reg.exe` can, so most events need no other field read.
    pub fn may_match_process(&self, name: Option<&[u8]>) -> bool {
        self.extended.is_some() || name.is_some_and(ExactRule::runs_as)
    }

    /// Applies the rule to one event.
    pub fn detect(&self, event: &Event) -> Option<Detection> {
        let Some(extended) = &self.extended else {
            return self.exact.detect(event);
        };
        let (variant, hives) = extended.detect(event)?;
        let variant = match self.exact.detect(event) {
            Some(_) => Variant::Exact,
            None => variant,
        };
        Some(Detection {
            mode: Mode::Extended,
            variant,
            hives,
        })
    }
}

/// The published rule ("Attempted Credential Dump From Registry via Reg exe"):
///
/// 1. the lower-cased process name equals `cmd.exe` or `reg.exe`, the whole field;
/// 2. the command line is present;
/// 3. `save\s+` occurs anywhere in it;
/// 4. `HKLM\` or `HKEY_LOCAL_MACHINE\` followed by `Security`, `SAM` or `System` occurs
///    anywhere, with no boundary after the hive name.
///
/// The rule was written for a JVM engine, whose `(?i)` and `\s` are ASCII-only, so both
/// patterns are compiled without Unicode: `ſave` (long s) or a no-break space must not
/// match where the original does not.
#[derive(Debug)]
struct ExactRule {
    save: Regex,
    key: Regex,
}

impl ExactRule {
    fn new() -> Self {
        let ascii = |pattern: &str| {
            RegexBuilder::new(pattern)
                .unicode(false)
                .case_insensitive(true)
                .build()
                .expect("the rule's patterns are valid")
        };
        ExactRule {
            save: ascii(r"save\s"),
            key: ascii(r"(?:hklm|hkey_local_machine)\\(security|sam|system)"),
        }
    }

    /// Rule 1: the process is `cmd.exe` or `reg.exe`.
    fn runs_as(name: &[u8]) -> bool {
        name.eq_ignore_ascii_case(b"reg.exe") || name.eq_ignore_ascii_case(b"cmd.exe")
    }

    fn detect(&self, event: &Event) -> Option<Detection> {
        if !Self::runs_as(event.process_name?) {
            return None;
        }
        let line = event.cmd_line?;
        if !self.save.is_match(line) {
            return None;
        }
        let mut hives = Hives::default();
        for caps in self.key.captures_iter(line) {
            hives.insert(Hives::from_name(&caps[1])?);
        }
        (hives != Hives::default()).then_some(Detection {
            mode: Mode::Exact,
            variant: Variant::Exact,
            hives,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exact(name: &str, line: &str) -> Option<Detection> {
        Detector::new(Mode::Exact).detect(&Event {
            process_name: Some(name.as_bytes()),
            cmd_line: Some(line.as_bytes()),
            ..Event::default()
        })
    }

    #[test]
    fn hand_checked_examples_of_the_published_rule() {
        let cases = [
            ("reg.exe", r"reg save HKLM\sam %temp%\sam", true),
            ("REG.EXE", r"REG SAVE hklm\SaM C:\x", true),
            (
                "c:\\windows\\system32\\reg.exe",
                r"reg save HKLM\sam x",
                false,
            ),
            ("reg.exe", r#"reg "save" HKLM\SAM x"#, false),
            ("reg.exe", r"reg export HKLM\sam x", false),
            ("reg.exe", r"reg save HKLM\\SAM x", false),
            ("reg.exe", r"reg save HKLM\SAMPLE x", true),
            (
                "reg.exe",
                r#"reg export HKLM\SYSTEM\Foo "C:\To save later\x.reg""#,
                true,
            ),
            ("powershell.exe", r"reg save HKLM\sam x", false),
            (
                "cmd.exe",
                r"cmd /c reg save HKEY_LOCAL_MACHINE\Security s",
                true,
            ),
        ];
        let detector = Detector::new(Mode::Exact);
        for (name, line, want) in cases {
            assert_eq!(exact(name, line).is_some(), want, "{name} / {line}");
            // The shortcut on the process name alone never drops a match.
            if want {
                assert!(detector.may_match_process(Some(name.as_bytes())), "{name}");
            }
        }
        assert!(!detector.may_match_process(Some(b"powershell.exe")));
        assert!(!detector.may_match_process(None));
        assert!(Detector::new(Mode::Extended).may_match_process(None));
    }

    #[test]
    fn case_folding_and_whitespace_are_ascii_only() {
        assert!(exact("reg.exe", "reg \u{17f}ave HKLM\\SAM x").is_none());
        assert!(exact("reg.exe", "reg save\u{a0}HKLM\\SAM x").is_none());
        assert!(exact("reg.exe", "reg save H\u{212a}LM\\SAM x").is_none());
        assert!(exact("reg.exe", "reg save\tHKLM\\SAM x").is_some());
    }

    #[test]
    fn a_missing_name_or_command_line_never_matches() {
        let d = Detector::new(Mode::Exact);
        let line = Some(&b"reg save HKLM\\SAM x"[..]);
        assert!(d
            .detect(&Event {
                cmd_line: line,
                ..Event::default()
            })
            .is_none());
        let name = Some(&b"reg.exe"[..]);
        assert!(d
            .detect(&Event {
                process_name: name,
                ..Event::default()
            })
            .is_none());
    }

    #[test]
    fn reports_every_hive_named() {
        let d = exact(
            "cmd.exe",
            r"cmd /c reg save HKLM\SYSTEM s & reg save hklm\security t",
        )
        .unwrap();
        assert_eq!(d.hives.names().collect::<Vec<_>>(), ["SECURITY", "SYSTEM"]);
        assert_eq!(d.to_string(), "exact SECURITY SYSTEM");
    }

    #[test]
    fn matches_bytes_that_are_not_utf8() {
        assert!(exact("reg.exe", "reg save HKLM\\SAM \u{fffd}").is_some());
        let d = Detector::new(Mode::Exact);
        let line = b"reg save HKLM\\SAM C:\\\xff\xfe";
        let ev = Event {
            process_name: Some(b"reg.exe"),
            cmd_line: Some(line),
            ..Event::default()
        };
        assert!(d.detect(&ev).is_some());
    }
}
