//! A quick first test for the extended rule, so that most events (svchost, conhost,
//! browsers) are dismissed before any normalisation or allocation.
//!
//! Every branch of the rule needs one of the words `save`, `export` (reg.exe's
//! sub-commands), `regedit` or `config` (the hive files' folder), and one of the hive
//! names `sam`, `security` or `system`. An ASCII line can only hold them if it holds
//! one of the [`WORD_TRIGRAMS`] and one of the [`HIVE_TRIGRAMS`], in any case, or if
//! something could hide them: a caret or a `~` (cmd.exe's escape, or a `%x:~0,0%`
//! substring), or a quote inside a word (`sa"ve`). The test looks for exactly that, in
//! one branch-free pass over the bytes that the compiler turns into vector code: a
//! literal search is slower here, since the words' first letters are so common that it
//! would stop at nearly every byte.

/// A three-letter piece of each word the rule needs: `save`, `export`, `config`,
/// `regedit`.
const WORD_TRIGRAMS: [&[u8; 3]; 4] = [b"sav", b"xpo", b"nfi", b"ged"];

/// A three-letter piece of each hive name: `sam`, `security`, `system`.
const HIVE_TRIGRAMS: [&[u8; 3]; 3] = [b"sam", b"ecu", b"yst"];

/// Whether an ASCII line may match: `false` means it certainly does not. Lines that
/// are not ASCII must not be judged by it.
pub fn may_match(line: &[u8]) -> bool {
    let n = line.len();
    if n < 3 {
        return false;
    }
    let (first, second, third) = (&line[..n - 2], &line[1..n - 1], &line[2..]);
    let (mut word, mut hive, mut hidden) = (false, false, false);
    for i in 0..n - 2 {
        // `| 0x20` lower-cases letters; it also maps `^` to `~`, which is wanted,
        // and a few control characters to quotes, which only costs a closer look.
        let (a, b, c) = (first[i] | 0x20, second[i] | 0x20, third[i] | 0x20);
        let is = |t: &[u8; 3]| (a == t[0]) & (b == t[1]) & (c == t[2]);
        word |= WORD_TRIGRAMS.iter().fold(false, |found, t| found | is(t));
        hive |= HIVE_TRIGRAMS.iter().fold(false, |found, t| found | is(t));
        let letter = |x: u8| x.wrapping_sub(b'a') < 26;
        let quote = (b == b'"') | (b == b'\'');
        hidden |=
            (b == b'~') | (quote & letter(a) & (c != b' ')) | (quote & letter(c) & (a != b' '));
    }
    (word & hive) | hidden
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_of_the_words_passes() {
        let pass = |line: &str| {
            assert!(may_match(line.as_bytes()), "{line}");
            assert!(may_match(line.to_uppercase().as_bytes()), "{line}");
        };
        for word in ["save", "export", "config", "regedit"] {
            for hive in ["sam", "security", "system"] {
                pass(&format!("{word} x\\{hive}"));
                pass(&format!("\"{hive}\"\"{word}\""));
                for (text, other) in [(word, hive), (hive, word)] {
                    for (at, _) in text.char_indices().skip(1) {
                        for hide in ["^", "\"", "\"\"", "'", "^\"", "\"^"] {
                            let hidden = format!("{}{hide}{}", &text[..at], &text[at..]);
                            pass(&format!("x {hidden} {other} y"));
                        }
                    }
                }
            }
        }
        pass("reg s%windir:~0,0%ave");
    }

    #[test]
    fn ordinary_lines_are_dismissed() {
        for line in [
            "",
            "sa",
            r"C:\Windows\system32\svchost.exe -k netsvcs -p -s Schedule",
            r#""C:\Program Files\Google\Chrome\Application\chrome.exe" --type=renderer"#,
            r#"msiexec /i "C:\x.msi" /qn"#,
            "sa ve ex port con fig",
            r"reg save HKLM\SOFTWARE\Contoso x",
            r"cmd.exe /c ipconfig /all >> config\envinfo.txt",
            "reg query HKLM\\SAM",
        ] {
            assert!(!may_match(line.as_bytes()), "{line}");
        }
    }
}
