//! Undoes the spellings that change how a command line looks without changing what it
//! runs, so the extended rule can match its structure rather than its bytes.
//!
//! The result is lower-case, mostly ASCII text in which the shell's quoting is already
//! applied: quote characters are gone, and whitespace or command separators that were
//! inside quotes become [`QUOTED_SPACE`]. So `cmd /c "reg save HKLM\SAM x"` gives the
//! [`words`] `cmd`, `/c` and one quoted word, whose [`inner_words`] are split again, the
//! way the inner command is split again when it runs.

use std::borrow::Cow;

use unicode_normalization::char::decompose_compatible;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

/// Stands for whitespace or a command separator that was quoted. It is a control
/// character that no command line carries, and it never occurs in the output otherwise.
pub const QUOTED_SPACE: u8 = 0x1f;

/// Normalises `line`:
///
/// - Unicode is folded towards ASCII: compatibility decomposition (NFKD), which maps
///   modifier letters (`ˢ`), full-width forms, the long s `ſ`, the Kelvin sign and odd
///   spaces; then combining marks, format characters (zero-width joiners, bidi controls,
///   soft hyphens), private-use and unassigned code points are dropped; then the Latin
///   look-alikes of [`look_alike`] are mapped, and dashes become `-`;
/// - ASCII letters are lower-cased;
/// - cmd.exe's escape character `^` is dropped, and so are substrings of length zero
///   (`%windir:~0,0%`);
/// - `"` groups words as Windows' argument parser does (a `"` after an odd number of
///   backslashes is a literal quote, and is dropped too); PowerShell's `'` and the
///   typographic quotes are dropped;
/// - whitespace and the separators `& | < > ; ( ) { }` become a space outside quotes
///   and [`QUOTED_SPACE`] inside.
///
/// Runs in time linear in the line's length.
pub fn normalize(line: &[u8]) -> Vec<u8> {
    let text: Cow<str> = String::from_utf8_lossy(line);
    let mut out = Writer {
        out: Vec::with_capacity(text.len()),
        quoted: false,
        backslashes: 0,
    };
    let mut rest: &str = &text;
    while let Some(c) = rest.chars().next() {
        if c == '%' {
            if let Some(len) = empty_substring(rest) {
                rest = &rest[len..];
                continue;
            }
        }
        rest = &rest[c.len_utf8()..];
        if c.is_ascii() {
            out.push(c);
        } else {
            decompose_compatible(c, |d| {
                if let Some(folded) = fold(d) {
                    out.push(folded);
                }
            });
        }
    }
    out.out
}

/// The length of a cmd.exe substring expansion of length zero at the start of `text`,
/// such as `%windir:~0,0%`: it always expands to nothing, so it can split a word
/// without changing it. Only the variable's name is scanned, and it ends at the next
/// `%`, so a line is still read in linear time.
fn empty_substring(text: &str) -> Option<usize> {
    let body = &text[1..];
    let end = body.find(|c: char| c == '%' || c.is_whitespace())?;
    let (name, offset) = body[..end].split_once(":~")?;
    let offset = offset.strip_suffix(",0")?;
    let digits = offset.strip_prefix('-').unwrap_or(offset);
    let valid =
        !name.is_empty() && !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
    (valid && body[end..].starts_with('%')).then_some(end + 2)
}

/// The words of a normalised line, as its program's argument parser sees them.
pub fn words(line: &[u8]) -> impl Iterator<Item = &[u8]> {
    line.split(|&b| b == b' ').filter(|w| !w.is_empty())
}

/// Whether a word held quoted whitespace or separators: a command line of its own
/// when a shell or a task scheduler runs it.
pub fn is_compound(word: &[u8]) -> bool {
    word.contains(&QUOTED_SPACE)
}

/// The words of a compound word, as the command it holds is split when it runs.
pub fn inner_words(word: &[u8]) -> impl Iterator<Item = &[u8]> {
    word.split(|&b| b == b' ' || b == QUOTED_SPACE)
        .filter(|w| !w.is_empty())
}

/// Appends characters, applying the quoting rules.
struct Writer {
    out: Vec<u8>,
    quoted: bool,
    /// Backslashes just before the current character, for the `\"` rule.
    backslashes: usize,
}

impl Writer {
    fn push(&mut self, c: char) {
        let escaped = self.backslashes % 2 == 1;
        self.backslashes = if c == '\\' { self.backslashes + 1 } else { 0 };
        match c {
            '^' | '\'' => {}
            '"' if escaped => {}
            '"' => self.quoted = !self.quoted,
            c if is_separator(c) => self.out.push(if self.quoted { QUOTED_SPACE } else { b' ' }),
            c if c.is_ascii() => self.out.push(c.to_ascii_lowercase() as u8),
            c => {
                let mut buf = [0; 4];
                self.out
                    .extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
}

/// Whitespace (and control characters, [`QUOTED_SPACE`] among them) and the
/// characters with which cmd.exe and PowerShell separate commands or group them.
fn is_separator(c: char) -> bool {
    c.is_whitespace()
        || c.is_ascii_control()
        || matches!(c, '&' | '|' | '<' | '>' | ';' | '(' | ')' | '{' | '}')
}

/// One character of a compatibility decomposition: `None` to drop it, else what it
/// stands for.
fn fold(c: char) -> Option<char> {
    if c.is_ascii() || c.is_whitespace() {
        return Some(c);
    }
    match c.general_category() {
        GeneralCategory::NonspacingMark
        | GeneralCategory::SpacingMark
        | GeneralCategory::EnclosingMark
        | GeneralCategory::Format
        | GeneralCategory::PrivateUse
        | GeneralCategory::Unassigned => None,
        GeneralCategory::DashPunctuation => Some('-'),
        GeneralCategory::InitialPunctuation | GeneralCategory::FinalPunctuation
            if matches!(c, '\u{201c}'..='\u{201f}') =>
        {
            Some('"')
        }
        GeneralCategory::InitialPunctuation | GeneralCategory::FinalPunctuation => Some('\''),
        _ => Some(look_alike(c).unwrap_or(c)),
    }
}

/// The ASCII letter or sign that a character is drawn like, for the letters that
/// spell the rule's words (`reg`, `save`, `export`, `hklm`, `sam`, `security`,
/// `system`, `config`, ...) and the path separators. NFKD maps modifier and
/// full-width forms already; these have no decomposition: Cyrillic and Greek
/// homoglyphs, small capitals, the modifier letters for `l` that Sigma lists, and
/// dotless i. Some reach programs as the ASCII letter through Windows' best-fit
/// code-page conversion; the rest make the command fail, but are still an attempt.
fn look_alike(c: char) -> Option<char> {
    Some(match c {
        'а' | 'А' | 'α' | 'Α' | 'ᴀ' => 'a',
        'в' | 'В' | 'β' | 'Β' | 'ʙ' => 'b',
        'с' | 'С' | 'ϲ' | 'Ϲ' | 'ᴄ' => 'c',
        'ԁ' | 'ᴅ' => 'd',
        'е' | 'Е' | 'ε' | 'Ε' | 'ᴇ' => 'e',
        'ꜰ' => 'f',
        'ɡ' | 'ɢ' | 'ԍ' => 'g',
        'һ' | 'Н' | 'н' | 'Η' | 'ʜ' => 'h',
        'і' | 'І' | 'ι' | 'Ι' | 'ı' | 'ɪ' | 'Ӏ' => 'i',
        'ј' | 'Ј' | 'ᴊ' => 'j',
        'к' | 'К' | 'κ' | 'Κ' | 'ᴋ' => 'k',
        'ӏ' | 'ʟ' | '\u{2ea}' | '\u{2eb}' => 'l',
        'м' | 'М' | 'Μ' | 'ᴍ' => 'm',
        'Ν' | 'ɴ' | 'п' => 'n',
        'о' | 'О' | 'ο' | 'Ο' | 'ᴏ' => 'o',
        'р' | 'Р' | 'ρ' | 'Ρ' | 'ᴘ' => 'p',
        'ԛ' => 'q',
        'г' | 'ʀ' => 'r',
        'ѕ' | 'Ѕ' | 'ꜱ' => 's',
        'т' | 'Т' | 'τ' | 'Τ' | 'ᴛ' => 't',
        'υ' | 'ᴜ' => 'u',
        'ν' | 'ᴠ' | 'ѵ' => 'v',
        'ԝ' | 'ᴡ' => 'w',
        'х' | 'Х' | 'χ' | 'Χ' => 'x',
        'у' | 'У' | 'Υ' | 'ү' | 'Ү' | 'ʏ' => 'y',
        'Ζ' | 'ᴢ' => 'z',
        '\u{2215}' | '\u{2044}' | '\u{29f8}' => '/',
        '\u{2216}' | '\u{29f5}' | '\u{29f9}' => '\\',
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(line: &str) -> String {
        String::from_utf8(normalize(line.as_bytes()))
            .unwrap()
            .replace(QUOTED_SPACE as char, "_")
    }

    #[test]
    fn ascii_is_lower_cased_and_carets_dropped() {
        assert_eq!(norm(r"R^eG S^A^VE HK^LM\S^AM"), r"reg save hklm\sam");
    }

    #[test]
    fn empty_substrings_are_dropped() {
        assert_eq!(
            norm("reg s%windir:~0,0%ave HKLM\\S%x:~-3,0%AM"),
            r"reg save hklm\sam"
        );
        for kept in [
            "%windir:~0,1%",
            "%:~0,0%",
            "%a:~,0%",
            "%a b:~0,0%",
            "%a:~0,0",
            "50%",
        ] {
            assert_eq!(norm(kept), kept, "{kept}");
        }
    }

    #[test]
    fn quotes_group_words_and_disappear() {
        assert_eq!(norm(r#"reg sa"ve" "HKLM\S"AM x"#), r"reg save hklm\sam x");
        assert_eq!(
            norm(r#"cmd /c "reg save HKLM\SAM x""#),
            r"cmd /c reg_save_hklm\sam_x"
        );
        assert_eq!(norm(r#"a "b&c" d&e"#), "a b_c d e");
        assert_eq!(norm("powershell -c 'x y'"), "powershell -c x y");
    }

    #[test]
    fn an_escaped_quote_does_not_toggle_quoting() {
        assert_eq!(
            norm(r#"-c "reg save \"HKLM\SAM\" x""#),
            r"-c reg_save_\hklm\sam\_x"
        );
        assert_eq!(norm(r#"a\\"b c""#), r"a\\b_c");
    }

    #[test]
    fn compatibility_forms_and_odd_spaces_fold_to_ascii() {
        assert_eq!(norm("reg \u{2e2}ave HKLM\\\u{17f}AM"), r"reg save hklm\sam");
        assert_eq!(
            norm("reg e\u{2e3}port H\u{212a}LM\\SAM"),
            r"reg export hklm\sam"
        );
        assert_eq!(
            norm("reg save\u{2003}HKLM\\SAM\u{a0}x"),
            r"reg save hklm\sam x"
        );
        assert_eq!(
            norm("\u{ff52}\u{ff45}\u{ff47} \u{fe63}y \u{2013}y"),
            "reg -y -y"
        );
    }

    #[test]
    fn marks_format_private_and_unassigned_code_points_are_dropped() {
        assert_eq!(norm("sa\u{34f}ve s\u{200b}a\u{ad}m\u{feff}"), "save sam");
        assert_eq!(norm("s\u{e000}a\u{e0041}m\u{10ffff}"), "sam");
        assert_eq!(norm("s\u{e0}ve"), "save");
    }

    #[test]
    fn look_alikes_map_to_the_letters_they_imitate() {
        assert_eq!(norm("hk\u{2ea}m\\\u{455}\u{430}\u{43c}"), r"hklm\sam");
        assert_eq!(
            norm("\u{1d04}\u{1d0f}\u{0274}\u{a730}\u{026a}\u{0261}"),
            "config"
        );
        assert_eq!(norm("HKLM\u{2216}SYSTEM"), r"hklm\system");
        assert_eq!(norm("\u{201c}a b\u{201d} \u{2018}c\u{2019}"), "a_b c");
    }

    #[test]
    fn words_and_inner_words() {
        let line = normalize(br#"cmd  /c "reg save  HKLM\SAM x" & y"#);
        let words: Vec<&[u8]> = words(&line).collect();
        assert_eq!(words.len(), 4);
        assert_eq!(words[0], b"cmd");
        assert!(!is_compound(words[1]) && is_compound(words[2]));
        let inner: Vec<&[u8]> = inner_words(words[2]).collect();
        assert_eq!(inner, [&b"reg"[..], b"save", b"hklm\\sam", b"x"]);
        assert_eq!(words[3], b"y");
    }

    #[test]
    fn control_characters_separate_words() {
        assert_eq!(norm("a\tb\x1fc \"d\x1fe\""), "a b c d_e");
    }

    #[test]
    fn other_text_is_kept() {
        assert_eq!(
            norm("copy d:\\\u{6587}\u{4ef6}"),
            "copy d:\\\u{6587}\u{4ef6}"
        );
        assert_eq!(
            normalize(b"save \xff\xfe x"),
            "save \u{fffd}\u{fffd} x".as_bytes()
        );
    }
}
