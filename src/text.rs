//! Showing untrusted text on one line.

use std::fmt;

/// Untrusted text as a message or a table shows it: control characters escaped (`\n`,
/// `\u{1b}`). A message becomes a line on stderr, which splunkd copies into search.log
/// line by line, so a search word holding a line break would forge a second line; a
/// command line holding one would break a table's layout.
pub struct Shown<'a>(pub &'a str);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.0.chars() {
            if c.is_control() {
                write!(f, "{}", c.escape_default())?;
            } else {
                write!(f, "{c}")?;
            }
        }
        Ok(())
    }
}
