//! The published rule read naively, without regular expressions: an independent oracle
//! for the exact mode, shared by the property tests and the `rule` fuzz target.

use reghivedump::fields::Event;
use reghivedump::rule::Hives;

fn starts_with_ignore_case(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.len() >= needle.len() && haystack[..needle.len()].eq_ignore_ascii_case(needle)
}

/// The hives an event dumps under the published rule, or `None` when it does not fire:
/// the process name is `reg.exe` or `cmd.exe` in any ASCII case, and the command line
/// holds `save` followed by an ASCII white space character and, anywhere, `HKLM\` or
/// `HKEY_LOCAL_MACHINE\` followed by `SAM`, `SECURITY` or `SYSTEM` (any ASCII case).
pub fn exact(event: &Event) -> Option<Hives> {
    let name = event.process_name?;
    if !(name.eq_ignore_ascii_case(b"reg.exe") || name.eq_ignore_ascii_case(b"cmd.exe")) {
        return None;
    }
    let line = event.cmd_line?;
    let save = (0..line.len()).any(|i| {
        starts_with_ignore_case(&line[i..], b"save")
            && matches!(
                line.get(i + 4),
                Some(b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
            )
    });
    if !save {
        return None;
    }
    let mut hives = Hives::default();
    for i in 0..line.len() {
        for root in [&b"hklm\\"[..], b"hkey_local_machine\\"] {
            if !starts_with_ignore_case(&line[i..], root) {
                continue;
            }
            let rest = &line[i + root.len()..];
            for (name, hive) in [
                (&b"security"[..], Hives::SECURITY),
                (b"sam", Hives::SAM),
                (b"system", Hives::SYSTEM),
            ] {
                if starts_with_ignore_case(rest, name) {
                    hives.insert(hive);
                }
            }
        }
    }
    (hives != Hives::default()).then_some(hives)
}
