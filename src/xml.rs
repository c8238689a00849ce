//! Windows event XML, one `<Event>` element per line: what `wevtutil qe /f:xml`, EVTX
//! converters and Splunk's XmlWinEventLog `_raw` hold.
//!
//! Only the little XML that events use is read: elements, attributes in either quote
//! style, the five named entities and numeric character references. No XML crate is
//! used because none of the rest (namespaces, DTDs, CDATA) occurs in event records.

use std::borrow::Cow;
use std::fmt;

/// Why a line is not an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XmlError(&'static str);

impl fmt::Display for XmlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not an XML event: {}", self.0)
    }
}

impl std::error::Error for XmlError {}

/// The fields of one `<Event>` element, in document order, named as Sysmon and Security
/// events name them in JSON exports:
///
/// - `<Data Name='X'>value</Data>` in `<EventData>` or `<UserData>` gives `X`, and any
///   other element with text in `<UserData>` its own name;
/// - each element of `<System>` with text gives its own name (`EventID`, `Channel`,
///   `Computer`, ...), and each attribute there the element and attribute names joined by
///   `_` (`Provider_Name`, `TimeCreated_SystemTime`, `Security_UserID`).
///
/// Entities are decoded, and empty values are left out.
pub fn event_fields(line: &str) -> Result<Vec<(String, String)>, XmlError> {
    let mut tags = Tags { rest: line.trim() };
    match tags.next()? {
        Some((_, tag)) if tag.kind == Kind::Open && tag.name == "Event" => {}
        _ => return Err(XmlError("the line does not start with <Event>")),
    }
    let mut fields = Vec::new();
    // The open elements below <Event>: name and `Name` attribute.
    let mut open: Vec<(&str, Option<&str>)> = Vec::new();
    // Whether the last tag opened the innermost element: its text is then all it holds.
    let mut leaf = false;
    while let Some((text, tag)) = tags.next()? {
        let section = open.first().map(|(name, _)| *name);
        match tag.kind {
            Kind::Open | Kind::Empty => {
                if section == Some("System") {
                    for attribute in tag.attributes() {
                        let (name, value) = attribute?;
                        push(&mut fields, format!("{}_{name}", tag.name), value);
                    }
                }
                leaf = tag.kind == Kind::Open;
                if leaf {
                    open.push((tag.name, tag.attribute("Name")?));
                }
            }
            Kind::Close if open.is_empty() && tag.name == "Event" => return Ok(fields),
            Kind::Close => {
                let (name, data_name) = open.pop().ok_or(XmlError("unbalanced tags"))?;
                if name != tag.name {
                    return Err(XmlError("unbalanced tags"));
                }
                let key = match (section, data_name) {
                    (Some("EventData" | "UserData"), Some(data)) if name == "Data" => data,
                    (Some("System" | "UserData"), _) if !open.is_empty() => name,
                    _ => "",
                };
                if leaf && !key.is_empty() {
                    push(&mut fields, key.to_string(), text);
                }
                leaf = false;
            }
            Kind::Other => {}
        }
    }
    Err(XmlError("<Event> is not closed"))
}

fn push(fields: &mut Vec<(String, String)>, name: String, raw: &str) {
    if !raw.is_empty() {
        fields.push((name, unescape(raw).into_owned()));
    }
}

/// The longest entity name read, `#x10FFFF` and a little more.
const MAX_ENTITY: usize = 12;

/// Decodes `&amp; &lt; &gt; &quot; &apos;` and `&#N;` / `&#xH;`. Anything else after
/// `&` is kept as it is.
fn unescape(raw: &str) -> Cow<'_, str> {
    if !raw.contains('&') {
        return Cow::Borrowed(raw);
    }
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        // Entities are short: looking for `;` only nearby keeps this linear.
        let window = &rest[1..];
        let semicolon = window.bytes().take(MAX_ENTITY).position(|b| b == b';');
        let decoded = semicolon.map(|end| &window[..end]).and_then(|entity| {
            let c = match entity {
                "amp" => '&',
                "lt" => '<',
                "gt" => '>',
                "quot" => '"',
                "apos" => '\'',
                _ => {
                    let number = entity.strip_prefix('#')?;
                    let code = match number.strip_prefix(['x', 'X']) {
                        Some(hex) => u32::from_str_radix(hex, 16),
                        None => number.parse(),
                    };
                    char::from_u32(code.ok()?)?
                }
            };
            Some((c, entity.len() + 2))
        });
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `<a>`
    Open,
    /// `<a/>`
    Empty,
    /// `</a>`
    Close,
    /// `<?...?>` or `<!...>`
    Other,
}

struct Tag<'a> {
    kind: Kind,
    name: &'a str,
    /// What follows the name, up to `>` or `/>`.
    attributes: &'a str,
}

impl<'a> Tag<'a> {
    /// The attributes as name and raw value.
    fn attributes(&self) -> impl Iterator<Item = Result<(&'a str, &'a str), XmlError>> {
        let mut rest = self.attributes;
        std::iter::from_fn(move || {
            rest = rest.trim_start();
            if rest.is_empty() {
                return None;
            }
            let parsed = rest.split_once('=').and_then(|(name, after)| {
                let after = after.trim_start();
                let quote = after.chars().next().filter(|q| *q == '"' || *q == '\'')?;
                let (value, next) = after[1..].split_once(quote)?;
                Some((name.trim(), value, next))
            });
            match parsed {
                Some((name, value, next)) => {
                    rest = next;
                    Some(Ok((name, value)))
                }
                None => {
                    rest = "";
                    Some(Err(XmlError("an attribute is not name='value'")))
                }
            }
        })
    }

    fn attribute(&self, name: &str) -> Result<Option<&'a str>, XmlError> {
        for attribute in self.attributes() {
            let (n, value) = attribute?;
            if n == name {
                return Ok(Some(value));
            }
        }
        Ok(None)
    }
}

/// Walks the tags of a line, each with the raw text before it.
struct Tags<'a> {
    rest: &'a str,
}

impl<'a> Tags<'a> {
    fn next(&mut self) -> Result<Option<(&'a str, Tag<'a>)>, XmlError> {
        let Some(start) = self.rest.find('<') else {
            return Ok(None);
        };
        let text = &self.rest[..start];
        let after = &self.rest[start + 1..];
        let end = after.find('>').ok_or(XmlError("a tag is not closed"))?;
        let inside = &after[..end];
        self.rest = &after[end + 1..];
        let (kind, inside) = if let Some(name) = inside.strip_prefix('/') {
            (Kind::Close, name)
        } else if inside.starts_with(['?', '!']) {
            (Kind::Other, "")
        } else if let Some(body) = inside.strip_suffix('/') {
            (Kind::Empty, body)
        } else {
            (Kind::Open, inside)
        };
        let split = inside
            .find(|c: char| c.is_ascii_whitespace())
            .unwrap_or(inside.len());
        let (name, attributes) = inside.split_at(split);
        if name.is_empty() && kind != Kind::Other {
            return Err(XmlError("a tag has no name"));
        }
        Ok(Some((
            text,
            Tag {
                kind,
                name,
                attributes,
            },
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(line: &str) -> Vec<(String, String)> {
        event_fields(line).unwrap()
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn reads_system_and_event_data_as_sysmon_exports_name_them() {
        let line = r#"<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System><Provider Name="Microsoft-Windows-Sysmon" Guid="{5770}"></Provider><EventID Qualifiers="">1</EventID><TimeCreated SystemTime="2019-07-19 14:42:51"></TimeCreated><Channel>Microsoft-Windows-Sysmon/Operational</Channel><Computer>MSEDGEWIN10</Computer></System><EventData><Data Name="RuleName"></Data><Data Name="Image">C:\Windows\System32\reg.exe</Data><Data Name="CommandLine">reg  save HKLM\SAM sam.hive</Data><Data Name="User">IEWIN7\IEUser</Data></EventData></Event>"#;
        assert_eq!(
            fields(line),
            pairs(&[
                ("Provider_Name", "Microsoft-Windows-Sysmon"),
                ("Provider_Guid", "{5770}"),
                ("EventID", "1"),
                ("TimeCreated_SystemTime", "2019-07-19 14:42:51"),
                ("Channel", "Microsoft-Windows-Sysmon/Operational"),
                ("Computer", "MSEDGEWIN10"),
                ("Image", r"C:\Windows\System32\reg.exe"),
                ("CommandLine", r"reg  save HKLM\SAM sam.hive"),
                ("User", r"IEWIN7\IEUser"),
            ])
        );
    }

    #[test]
    fn reads_splunk_raw_with_single_quotes_and_empty_elements() {
        let line = "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='Microsoft-Windows-Security-Auditing'/><EventID>4688</EventID><Computer>dc1.corp</Computer><Security/></System><EventData><Data Name='SubjectUserName'>ann</Data><Data Name='NewProcessName'>C:\\Windows\\System32\\cmd.exe</Data><Data Name='MandatoryLabel'/><Data Name='CommandLine'>cmd /c &quot;reg save HKLM\\SAM s&quot; &amp;&gt;x &#x41;&#66; &bogus; &amp</Data></EventData><RenderingInfo Culture='en-US'><Message>A new process</Message></RenderingInfo></Event>";
        assert_eq!(
            fields(line),
            pairs(&[
                ("Provider_Name", "Microsoft-Windows-Security-Auditing"),
                ("EventID", "4688"),
                ("Computer", "dc1.corp"),
                ("SubjectUserName", "ann"),
                ("NewProcessName", r"C:\Windows\System32\cmd.exe"),
                (
                    "CommandLine",
                    r#"cmd /c "reg save HKLM\SAM s" &>x AB &bogus; &amp"#
                ),
            ])
        );
    }

    #[test]
    fn reads_user_data_elements() {
        let line = "<Event><System><EventID>1102</EventID></System><UserData><LogFileCleared xmlns='x'><SubjectUserName>bob</SubjectUserName><Data Name='Extra'>1</Data></LogFileCleared></UserData></Event>";
        assert_eq!(
            fields(line),
            pairs(&[
                ("EventID", "1102"),
                ("SubjectUserName", "bob"),
                ("Extra", "1")
            ])
        );
    }

    #[test]
    fn rejects_what_is_not_one_event() {
        for (line, why) in [
            ("", "the line does not start with <Event>"),
            ("<Events><Event>", "the line does not start with <Event>"),
            ("<Event><System>", "<Event> is not closed"),
            ("<Event><System></EventData></Event>", "unbalanced tags"),
            ("<Event></System></Event>", "unbalanced tags"),
            ("<Event><System", "a tag is not closed"),
            (
                "<Event><System><EventID a=1>1</EventID></System></Event>",
                "an attribute is not name='value'",
            ),
            ("<Event><></Event>", "a tag has no name"),
        ] {
            assert_eq!(event_fields(line), Err(XmlError(why)), "{line}");
        }
        assert_eq!(XmlError("x").to_string(), "not an XML event: x");
    }
}
