//! The extended rule: the structure of a hive dump, found after undoing the spellings
//! that hide it.
//!
//! reg.exe dumps a key with `reg save KEY FILE` or `reg export KEY FILE`: the
//! sub-command is always the first argument and the key the second, whatever reg.exe is
//! called or wherever it lies. So the rule looks for a `save` or `export` word directly
//! followed by a credential-bearing key (see [`sensitive_key`]):
//!
//! - as arguments 1 and 2 of any process (the [`Variant::Shape`] branch);
//! - behind a `reg` or `reg.exe` word anywhere in a line that runs other commands:
//!   cmd.exe, PowerShell, PsExec, schtasks, wmic, or an `echo` into a batch file
//!   ([`Variant::Wrapper`]);
//!
//! and also for `regedit /e FILE KEY` ([`Variant::Regedit`]) and for copies of the hive
//! files themselves ([`Variant::HiveFile`]).

use regex::bytes::{Regex, RegexBuilder};

use super::normalize::{inner_words, is_compound, normalize, words};
use super::prefilter::may_match;
use super::{Hives, Variant};
use crate::fields::{basename, Event};

/// Words with which a process copies or reads out a file: the hive-file branch needs
/// one of them, or a shadow-copy path, so that listing or changing the ACL of a hive
/// file (`icacls ...\config\SAM`, a common check for CVE-2021-36934) does not fire.
const COPIERS: [&[u8]; 17] = [
    b"copy",
    b"xcopy",
    b"robocopy",
    b"esentutl",
    b"certutil",
    b"expand",
    b"extrac32",
    b"makecab",
    b"print",
    b"type",
    b"copy-item",
    b"cpi",
    b"cp",
    b"7z",
    b"rar",
    b"tar",
    b"wbadmin",
];

/// The compiled extended rule.
#[derive(Debug)]
pub struct ExtendedRule {
    /// A hive file, `...\config\SAM` or `...\config\RegBack\SAM`, and the shadow-copy
    /// device it is read from, if any, in the same word.
    hive_file: Regex,
}

impl ExtendedRule {
    /// Compiles the rule.
    pub fn new() -> Self {
        ExtendedRule {
            hive_file: RegexBuilder::new(
                r"(harddiskvolumeshadowcopy[^ \x1f]*)?[\\/]config[\\/]+(?:regback[\\/]+)?(sam|security|system)(?:[^a-z0-9_.]|$)",
            )
            .unicode(false)
            .build()
            .expect("the rule's patterns are valid"),
        }
    }

    /// The branch that matches an event and the hives it names, or `None`.
    pub fn detect(&self, event: &Event) -> Option<(Variant, Hives)> {
        let line = event.cmd_line?;
        let process = Process::of(event);
        // A renamed regedit.exe may export without any word the quick test looks for.
        if line.is_ascii() && !may_match(line) && !process.regedit {
            return None;
        }
        let text = normalize(line);
        let mut found = Found::default();
        found.scan(words(&text), Some(process));
        if let Some(verdict) = found.verdict() {
            return Some(verdict);
        }
        // The pattern starts with an optional part, so the regex engine has no literal
        // to look for first: looking for `config` here keeps most lines off it.
        if found.reg_load || !text.windows(6).any(|w| w == b"config") {
            return None;
        }
        let mut hives = Hives::default();
        for caps in self.hive_file.captures_iter(&text) {
            if let Some(hive) = Hives::from_name(&caps[2]) {
                if found.copier || caps.get(1).is_some() {
                    hives.insert(hive);
                }
            }
        }
        (hives != Hives::default()).then_some((Variant::HiveFile, hives))
    }
}

/// What the event says its process is, by name, image path or PE original file name.
#[derive(Debug, Clone, Copy, Default)]
struct Process {
    reg: bool,
    regedit: bool,
}

impl Process {
    fn of(event: &Event) -> Self {
        let programs = [event.process_name, event.original_file_name].map(|p| p.map(program));
        let is = |name: &[u8]| {
            programs
                .iter()
                .flatten()
                .any(|p| p.eq_ignore_ascii_case(name))
        };
        Process {
            reg: is(b"reg"),
            regedit: is(b"regedit"),
        }
    }
}

/// What the words of one line showed.
#[derive(Debug, Default)]
struct Found {
    shape: Hives,
    regedit: Hives,
    wrapper: Hives,
    /// A word that copies files.
    copier: bool,
    /// `reg load`: mounting a hive file for offline servicing, not dumping one.
    reg_load: bool,
}

/// How far a `regedit` word's arguments have got towards an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Regedit {
    Idle,
    /// After `regedit` and any other switches.
    Program,
    /// After `/e` (or `-e`, `/a`, `-a`).
    Export,
    /// After the file name: the next word is the key.
    File,
}

impl Found {
    /// Scans one sequence of words. `process` is given for the words of the command
    /// line itself and `None` for the inner words of a compound word.
    fn scan<'a>(&mut self, words: impl Iterator<Item = &'a [u8]>, process: Option<Process>) {
        let own = process.unwrap_or_default();
        let mut regedit = if own.regedit {
            Regedit::Program
        } else {
            Regedit::Idle
        };
        // The two words before this one, and the programs they name.
        let mut before: [(&[u8], &[u8]); 2] = [(b"", b""); 2];
        for (i, word) in words.enumerate() {
            let program = program(word);
            if process.is_some() && is_compound(word) {
                self.scan(inner_words(word), None);
            }
            if is_verb(before[1].0) {
                if let Some(hives) = sensitive_key(word) {
                    // The program's own arguments 1 and 2, or 0 and 1 when the command
                    // line of a reg.exe process was logged without its program.
                    if process.is_some() && (i == 2 || (i == 1 && own.reg)) {
                        self.shape.insert(hives);
                    } else if before[0].1 == b"reg" {
                        self.wrapper.insert(hives);
                    }
                }
            }
            if before[1].1 == b"reg" && word == b"load" {
                self.reg_load = true;
            }
            if COPIERS.contains(&program) {
                self.copier = true;
            }
            regedit = match regedit {
                Regedit::Program if is_export_switch(word) => Regedit::Export,
                Regedit::Program if is_switch(word) => Regedit::Program,
                // A renamed regedit.exe: its program word has any name.
                Regedit::Program if i == 0 && own.regedit => Regedit::Program,
                Regedit::Export => Regedit::File,
                Regedit::File => {
                    if let Some(hives) = sensitive_key(word) {
                        self.regedit.insert(hives);
                    }
                    Regedit::Idle
                }
                _ => Regedit::Idle,
            };
            if program == b"regedit" {
                regedit = Regedit::Program;
            }
            before = [before[1], (word, program)];
        }
    }

    /// The strongest reg.exe or regedit branch that matched, with every hive they name.
    fn verdict(&self) -> Option<(Variant, Hives)> {
        let mut hives = self.shape;
        hives.insert(self.regedit);
        hives.insert(self.wrapper);
        let variant = [
            (self.shape, Variant::Shape),
            (self.regedit, Variant::Regedit),
            (self.wrapper, Variant::Wrapper),
        ]
        .into_iter()
        .find(|(h, _)| *h != Hives::default())?
        .1;
        Some((variant, hives))
    }
}

/// A reg.exe sub-command that writes a key out to a file.
fn is_verb(word: &[u8]) -> bool {
    word == b"save" || word == b"export"
}

fn is_switch(word: &[u8]) -> bool {
    word.len() > 1 && matches!(word[0], b'/' | b'-')
}

/// regedit's `/e` (export as Unicode text) or `/a` (export as ANSI text).
fn is_export_switch(word: &[u8]) -> bool {
    matches!(word, b"/e" | b"-e" | b"/a" | b"-a")
}

/// The program a word or a process name names: its last path component without a
/// `.exe` extension in any case. A normalised word is lower-case already.
fn program(word: &[u8]) -> &[u8] {
    let base = basename(word);
    match base.len().checked_sub(4) {
        Some(n) if base[n..].eq_ignore_ascii_case(b".exe") => &base[..n],
        _ => base,
    }
}

/// The hive a registry key lies in, if it is credential-bearing: `SAM` or `SECURITY`
/// at any depth (every subkey holds hashes or secrets), and `SYSTEM` only as the whole
/// hive (its boot key decrypts the others; its subkeys are routine backups).
///
/// The root is `HKLM` or `HKEY_LOCAL_MACHINE`, also as PowerShell writes it (`HKLM:`,
/// `Registry::HKLM`) and behind a remote computer's name (`\\host\HKLM\SAM`).
/// Separators may be `\` or `/`, and repeated.
fn sensitive_key(word: &[u8]) -> Option<Hives> {
    let mut parts = word
        .split(|&b| b == b'\\' || b == b'/')
        .filter(|p| !p.is_empty());
    let mut root = parts.next()?;
    if !is_root(root) && matches!(word[0], b'\\' | b'/') {
        root = parts.next()?;
    }
    if !is_root(root) {
        return None;
    }
    let hive = Hives::from_name(parts.next()?)?;
    (hive != Hives::SYSTEM || parts.next().is_none()).then_some(hive)
}

fn is_root(part: &[u8]) -> bool {
    let part = part.strip_prefix(b"registry::").unwrap_or(part);
    let part = part.strip_suffix(b":").unwrap_or(part);
    part == b"hklm" || part == b"hkey_local_machine"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detect_as(name: Option<&str>, original: Option<&str>, line: &str) -> Option<String> {
        let event = Event {
            process_name: name.map(str::as_bytes),
            original_file_name: original.map(str::as_bytes),
            cmd_line: Some(line.as_bytes()),
            ..Event::default()
        };
        ExtendedRule::new().detect(&event).map(|(variant, hives)| {
            let mut text = variant.name().to_string();
            for hive in hives.names() {
                text.push(' ');
                text.push_str(hive);
            }
            text
        })
    }

    fn detect(name: &str, line: &str) -> Option<String> {
        detect_as(Some(name), None, line)
    }

    #[track_caller]
    fn check(cases: &[(&str, &str, Option<&str>)]) {
        for (name, line, want) in cases {
            assert_eq!(detect(name, line).as_deref(), *want, "{name} / {line}");
        }
    }

    #[test]
    fn keys_that_carry_credentials() {
        let key = |k: &str| sensitive_key(k.as_bytes()).map(|h| h.names().collect::<Vec<_>>());
        assert_eq!(key(r"hklm\sam"), Some(vec!["SAM"]));
        assert_eq!(
            key(r"hkey_local_machine\security\policy\secrets"),
            Some(vec!["SECURITY"])
        );
        assert_eq!(key(r"hklm\sam\sam\domains\account"), Some(vec!["SAM"]));
        assert_eq!(key(r"hklm\system"), Some(vec!["SYSTEM"]));
        assert_eq!(key(r"hklm\system\"), Some(vec!["SYSTEM"]));
        assert_eq!(key(r"hklm\\sam"), Some(vec!["SAM"]));
        assert_eq!(key(r"hklm/sam"), Some(vec!["SAM"]));
        assert_eq!(key(r"hklm:\sam"), Some(vec!["SAM"]));
        assert_eq!(
            key(r"registry::hkey_local_machine\security"),
            Some(vec!["SECURITY"])
        );
        assert_eq!(key(r"\\dc01\hklm\sam"), Some(vec!["SAM"]));
        assert_eq!(key(r"\hklm\sam\"), Some(vec!["SAM"]));
        for benign in [
            r"hklm\system\currentcontrolset\services\x",
            r"hklm\sample",
            r"hklm\system_offline",
            r"hklm\securityaudit",
            r"hklm\software\microsoft\systemcertificates",
            r"hkcu\sam",
            r"sam",
            r"dc01\hklm\sam",
            r"c:\hklm\sam",
            r"hklm",
        ] {
            assert_eq!(key(benign), None, "{benign}");
        }
    }

    #[test]
    fn the_programs_own_arguments_whatever_it_is_called() {
        check(&[
            (
                "reg.exe",
                r"reg export HKLM\security %temp%\security",
                Some("shape SECURITY"),
            ),
            (
                r"C:\Windows\SysWOW64\reg.exe",
                r#""C:\Windows\SysWOW64\reg.exe" save HKLM\SYSTEM y"#,
                Some("shape SYSTEM"),
            ),
            (
                "regsvc.exe",
                r"regsvc.exe save HKLM\SECURITY z.dat",
                Some("shape SECURITY"),
            ),
            (
                "notes.exe",
                r"C:\Program Files\x\notes.exe save HKLM\SAM x",
                None,
            ),
            (
                "x.exe",
                r#""C:\Program Files\x\x.exe" save HKLM\SAM x"#,
                Some("shape SAM"),
            ),
            (
                "reg.exe",
                r"reg save HKLM\SYSTEM\CurrentControlSet\Services\X x",
                None,
            ),
            ("reg.exe", r"reg save HKLM\SAMPLE x", None),
            ("reg.exe", r#"reg save "HKLM\SYSTEM Backup" x"#, None),
            ("reg.exe", r"reg query HKLM\SAM", None),
            ("reg.exe", r"reg save HKCU x", None),
        ]);
    }

    #[test]
    fn a_reg_process_logged_without_its_program_word() {
        assert_eq!(
            detect("reg.exe", r"save HKLM\SAM x").as_deref(),
            Some("shape SAM")
        );
        assert_eq!(
            detect_as(Some("svc.exe"), Some("REG.EXE"), r"save HKLM\SAM x").as_deref(),
            Some("shape SAM")
        );
        assert_eq!(detect("svc.exe", r"save HKLM\SAM x"), None);
    }

    #[test]
    fn spellings_that_hide_the_words() {
        check(&[
            ("reg.exe", r#"reg sa"ve" HKLM\SAM x"#, Some("shape SAM")),
            ("reg.exe", r#"reg "save" "HKLM\S"AM x"#, Some("shape SAM")),
            (
                "cmd.exe",
                r"cmd.exe /c r^eg s^ave HK^LM\S^AM x",
                Some("wrapper SAM"),
            ),
            (
                "cmd.exe",
                r"cmd /c reg s%windir:~0,0%ave HKLM\S%windir:~0,0%AM x",
                Some("wrapper SAM"),
            ),
            (
                "reg.exe",
                "reg \u{2e2}ave hk\u{2ea}m\\\u{2e2}y\u{2e2}tem y",
                Some("shape SYSTEM"),
            ),
            ("reg.exe", "reg e\u{2e3}port HKLM\\SAM x", Some("shape SAM")),
            (
                "reg.exe",
                "reg sa\u{34f}ve HKLM\\SYSTEM y",
                Some("shape SYSTEM"),
            ),
            (
                "reg.exe",
                "reg save H\u{212a}LM\\\u{17f}AM x",
                Some("shape SAM"),
            ),
            ("reg.exe", "reg save\u{2003}HKLM\\SAM x", Some("shape SAM")),
            (
                "reg.exe",
                "r\u{435}g \u{455}\u{430}ve HKLM\\\u{405}\u{410}M x",
                Some("shape SAM"),
            ),
            (
                "reg.exe",
                "reg s\u{200b}ave HKLM\\SAM\u{feff} x",
                Some("shape SAM"),
            ),
            ("reg.exe", "REG\tSAVE\t\tHKLM\\SAM x", Some("shape SAM")),
            ("reg.exe", r"reg save HKLM\\SAM x", Some("shape SAM")),
            ("reg.exe", r"reg save HKLM/SAM x", Some("shape SAM")),
            ("reg.exe", r"reg save HKLM:\SAM x", Some("shape SAM")),
            ("reg.exe", r"reg save \\DC01\HKLM\SAM x", Some("shape SAM")),
        ]);
    }

    #[test]
    fn reg_inside_lines_that_run_other_commands() {
        check(&[
            (
                "cmd.exe",
                r#"cmd.exe /c "reg export HKLM\security %temp%\security""#,
                Some("wrapper SECURITY"),
            ),
            (
                "PsExec.exe",
                r"PsExec.exe -accepteula -s reg save HKLM\security\policy\secrets x",
                Some("wrapper SECURITY"),
            ),
            (
                "powershell.exe",
                r#"powershell -nop -c "reg.exe save HKLM\SAM $env:TEMP\s; reg.exe save HKLM\SYSTEM y""#,
                Some("wrapper SAM SYSTEM"),
            ),
            (
                "schtasks.exe",
                r#"schtasks /create /tn u /tr "reg save HKLM\SAM C:\s""#,
                Some("wrapper SAM"),
            ),
            (
                "wmic.exe",
                r#"wmic process call create "C:\Windows\System32\reg.exe save HKLM\SECURITY s""#,
                Some("wrapper SECURITY"),
            ),
            (
                "cmd.exe",
                r"cmd /c whoami&reg save HKLM\SAM x",
                Some("wrapper SAM"),
            ),
            (
                "cmd.exe",
                r"cmd /c (reg save HKLM\SAM x)",
                Some("wrapper SAM"),
            ),
            (
                "powershell.exe",
                r#"powershell -c "& {reg save 'HKLM\SAM' x}""#,
                Some("wrapper SAM"),
            ),
            (
                "powershell.exe",
                r#"powershell -c "reg save \"HKLM\SAM\" x""#,
                Some("wrapper SAM"),
            ),
            (
                "cmd.exe",
                r"cmd /Q /c echo reg save HKLM\SYSTEM C:\t\s ^> \\h\C$\o 2^>^&1 > C:\x.bat",
                Some("wrapper SYSTEM"),
            ),
        ]);
    }

    #[test]
    fn words_that_only_mention_a_dump() {
        check(&[
            (
                "cmd.exe",
                r"cmd.exe /c echo Remember to save HKLM\SYSTEM before patching >> n.txt",
                None,
            ),
            (
                "cmd.exe",
                r#"cmd.exe /c notepad "C:\Docs\how to save HKLM\System keys.txt""#,
                None,
            ),
            (
                "cmd.exe",
                r#"cmd.exe /c notepad "C:\Docs\reg save HKLM\SAM.txt""#,
                None,
            ),
            ("cmd.exe", r#"cmd /c "reg save" HKLM\SAM x"#, None),
            (
                "reg.exe",
                r"reg export HKLM\SOFTWARE\Samsung\Kies k.reg",
                None,
            ),
            (
                "reg.exe",
                r#"reg export "HKLM\SYSTEM\CurrentControlSet\Services\W32Time" "C:\To save later\w.reg""#,
                None,
            ),
        ]);
    }

    #[test]
    fn regedit_exports() {
        check(&[
            (
                "regedit.exe",
                r"regedit.exe /e C:\Users\Public\sam.reg HKEY_LOCAL_MACHINE\SAM",
                Some("regedit SAM"),
            ),
            (
                "regedit.exe",
                r#"regedit /s -a "C:\o u t.reg" "HKLM\SECURITY""#,
                Some("regedit SECURITY"),
            ),
            (
                "cmd.exe",
                r"cmd /c regedit /e x.reg HKLM\SYSTEM",
                Some("regedit SYSTEM"),
            ),
            (
                "regedit.exe",
                r"regedit.exe /s C:\Deploy\settings.reg",
                None,
            ),
            (
                "regedit.exe",
                r"regedit /e x.reg HKLM\SYSTEM\CurrentControlSet",
                None,
            ),
            ("regedit.exe", r"regedit x.reg /e HKLM\SAM", None),
        ]);
        assert_eq!(
            detect_as(
                Some("ed.exe"),
                Some("REGEDIT.EXE"),
                r"ed.exe /e x.reg HKLM\SAM"
            )
            .as_deref(),
            Some("regedit SAM")
        );
        assert_eq!(detect("x.exe", r"/e x.reg HKLM\SAM"), None);
    }

    #[test]
    fn copies_of_the_hive_files() {
        check(&[
            (
                "esentutl.exe",
                r"esentutl.exe /y /vss %SystemRoot%/system32/config/SAM /d %temp%/SAM",
                Some("hive-file SAM"),
            ),
            (
                "certutil.exe",
                r#"certutil -f -encodehex "\\?\GLOBALROOT\Device\HarddiskVolumeShadowCopy1\Windows\System32\config\SAM" C:\t\s 2"#,
                Some("hive-file SAM"),
            ),
            (
                "cmd.exe",
                r"copy \\?\GLOBALROOT\Device\HarddiskVolumeShadowCopy1\Windows\System32\config\SYSTEM C:\x",
                Some("hive-file SYSTEM"),
            ),
            (
                "powershell.exe",
                r#"powershell [IO.File]::Copy("\\?\GLOBALROOT\Device\HarddiskVolumeShadowCopy3\Windows\System32\config\SECURITY", "C:\x")"#,
                Some("hive-file SECURITY"),
            ),
            (
                "cmd.exe",
                r"xcopy C:\Windows\System32\config\RegBack\SAM C:\x",
                Some("hive-file SAM"),
            ),
            ("icacls.exe", r"icacls C:\Windows\System32\config\SAM", None),
            (
                "reg.exe",
                r"reg load HKLM\SYSTEM_OFFLINE D:\Windows\System32\config\SYSTEM",
                None,
            ),
            (
                "reg.exe",
                r"reg load HKLM\X \\?\GLOBALROOT\Device\HarddiskVolumeShadowCopy1\Windows\System32\config\SYSTEM",
                None,
            ),
            (
                "cmd.exe",
                r"copy C:\Windows\System32\config\SAM.LOG1 C:\x",
                None,
            ),
            ("cmd.exe", r"copy C:\app\config\system.ini C:\x", None),
            (
                "cmd.exe",
                r"cmd /c gpresult /v 1> config\gpresult.txt",
                None,
            ),
        ]);
    }

    #[test]
    fn pathological_lines_finish() {
        for unit in ["save ", "^\"", "reg save ", "\"a b", "\\", "hklm\\sam\\"] {
            let line = unit.repeat((1 << 20) / unit.len());
            let _ = detect("reg.exe", &line);
            let _ = detect("cmd.exe", &format!("{line}\u{2e2}"));
        }
    }
}
