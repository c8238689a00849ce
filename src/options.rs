//! The command's options, as written in a search (`name=value`) or on the `scan` command
//! line (`--name value`). Both go through [`Config::set`], so they accept the same values
//! and fail with the same messages.

use std::fmt;

use crate::fields::FieldMap;
use crate::rule::Mode;
use crate::text::Shown;

/// Everything an option can change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    /// Which rule to apply.
    pub mode: Mode,
    /// Return only matching events.
    pub filter: bool,
    /// Which fields hold the values the rule reads.
    pub fields: FieldMap,
}

/// Option names, for messages.
pub const OPTION_NAMES: &str =
    "mode, filter, process_name_field, cmdline_field, dest_field, user_field";

/// Why the options were rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OptionError {
    /// A name the command does not know.
    Unknown(String),
    /// A known name with a value it cannot take.
    BadValue {
        /// The option.
        name: String,
        /// The value given.
        value: String,
        /// What it accepts.
        expected: &'static str,
    },
    /// An option given twice.
    Repeated(String),
    /// A word that is not `name=value`.
    Stray(String),
}

impl fmt::Display for OptionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OptionError::Unknown(name) => {
                let name = Shown(name);
                write!(f, "unknown option '{name}' (options: {OPTION_NAMES})")
            }
            OptionError::BadValue {
                name,
                value,
                expected,
            } => {
                let (name, value) = (Shown(name), Shown(value));
                write!(f, "invalid value '{value}' for {name}: expected {expected}")
            }
            OptionError::Repeated(name) => {
                let name = Shown(name);
                write!(f, "option '{name}' is given more than once")
            }
            OptionError::Stray(word) => {
                let word = Shown(word);
                write!(
                    f,
                    "unexpected argument '{word}': options are written name=value (options: {OPTION_NAMES})"
                )
            }
        }
    }
}

impl std::error::Error for OptionError {}

impl Config {
    /// Builds a configuration from a search's arguments, as splunkd passes them in the
    /// getinfo request (`searchinfo.args`, quotes already removed).
    pub fn from_search_args<S: AsRef<str>>(args: &[S]) -> Result<Config, OptionError> {
        let mut config = Config::default();
        let mut seen: Vec<&str> = Vec::new();
        for arg in args {
            let arg = arg.as_ref();
            let (name, value) = arg
                .split_once('=')
                .ok_or_else(|| OptionError::Stray(arg.to_string()))?;
            if seen.contains(&name) {
                return Err(OptionError::Repeated(name.to_string()));
            }
            seen.push(name);
            config.set(name, value)?;
        }
        Ok(config)
    }

    /// Sets one option.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), OptionError> {
        let bad = |expected| OptionError::BadValue {
            name: name.to_string(),
            value: value.to_string(),
            expected,
        };
        let field = || {
            if value.is_empty() {
                Err(bad("a field name"))
            } else {
                Ok(value.to_string())
            }
        };
        match name {
            "mode" => self.mode = value.parse().map_err(|()| bad(Mode::NAMES))?,
            "filter" => self.filter = parse_bool(value).ok_or_else(|| bad(BOOL_SPELLINGS))?,
            "process_name_field" => self.fields.set_process_name(&field()?),
            "cmdline_field" => self.fields.cmd_line = vec![field()?],
            "dest_field" => self.fields.dest = vec![field()?],
            "user_field" => self.fields.user = vec![field()?],
            _ => return Err(OptionError::Unknown(name.to_string())),
        }
        Ok(())
    }

    /// The fields to ask splunkd for, or `None` for whole events. With `filter`, rows
    /// are dropped, and splunkd can only merge withheld fields back into rows it gets
    /// back, so a filtering command must receive (and return) whole events.
    pub fn required_fields(&self) -> Option<Vec<&str>> {
        (!self.filter).then(|| self.fields.names(self.mode.reads_original_file_name()))
    }
}

const BOOL_SPELLINGS: &str = "true or false (t, true, 1, yes / f, false, 0, no)";

/// Splunk's spellings of a boolean, in any case.
fn parse_bool(value: &str) -> Option<bool> {
    match value.to_ascii_lowercase().as_str() {
        "t" | "true" | "1" | "yes" => Some(true),
        "f" | "false" | "0" | "no" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_arguments_give_the_defaults() {
        let config = Config::from_search_args::<&str>(&[]).unwrap();
        assert_eq!(config, Config::default());
        assert_eq!(config.mode, Mode::Exact);
        assert!(!config.filter);
        assert!(config.required_fields().unwrap().contains(&"process"));
    }

    #[test]
    fn reads_every_option() {
        let config = Config::from_search_args(&[
            "mode=exact",
            "filter=Yes",
            "process_name_field=img",
            "cmdline_field=cl",
            "dest_field=d",
            "user_field=u",
        ])
        .unwrap();
        assert!(config.filter);
        assert_eq!(config.fields.image, ["img"]);
        assert!(config.fields.process_name.is_empty());
        assert_eq!(config.fields.cmd_line, ["cl"]);
        assert_eq!(config.fields.dest, ["d"]);
        assert_eq!(config.fields.user, ["u"]);
        assert_eq!(config.required_fields(), None);
    }

    #[test]
    fn extended_mode_reads_the_original_file_name_too() {
        let config = Config::from_search_args(&["mode=extended"]).unwrap();
        assert_eq!(config.mode, Mode::Extended);
        let fields = config.required_fields().unwrap();
        assert_eq!(
            fields[fields.len() - 2..],
            ["original_file_name", "OriginalFileName"]
        );
        let exact = Config::default();
        assert_eq!(exact.required_fields().unwrap(), fields[..fields.len() - 2]);
    }

    #[test]
    fn booleans_take_splunk_spellings() {
        for (word, want) in [
            ("t", true),
            ("TRUE", true),
            ("1", true),
            ("no", false),
            ("F", false),
        ] {
            let config = Config::from_search_args(&[format!("filter={word}")]).unwrap();
            assert_eq!(config.filter, want, "{word}");
        }
    }

    #[test]
    fn explains_what_is_wrong() {
        let err = |args: &[&str]| Config::from_search_args(args).unwrap_err().to_string();
        assert_eq!(
            err(&["bogus=1"]),
            format!("unknown option 'bogus' (options: {OPTION_NAMES})")
        );
        assert_eq!(
            err(&["mode=fuzzy"]),
            "invalid value 'fuzzy' for mode: expected exact or extended"
        );
        assert_eq!(
            err(&["filter=maybe"]),
            "invalid value 'maybe' for filter: expected true or false (t, true, 1, yes / f, false, 0, no)"
        );
        assert_eq!(
            err(&["cmdline_field="]),
            "invalid value '' for cmdline_field: expected a field name"
        );
        assert_eq!(
            err(&["filter=t", "filter=f"]),
            "option 'filter' is given more than once"
        );
        assert!(err(&["process"]).starts_with("unexpected argument 'process': options"));
    }

    #[test]
    fn messages_escape_control_characters() {
        let err = |args: &[&str]| Config::from_search_args(args).unwrap_err().to_string();
        assert_eq!(
            err(&["mode=x\nreghivedump: forged"]),
            format!(
                "invalid value 'x\\nreghivedump: forged' for mode: expected {}",
                Mode::NAMES
            )
        );
        assert!(err(&["a\r\u{1b}[2J\0"]).starts_with("unexpected argument 'a\\r\\u{1b}[2J\\u{0}':"));
        assert!(err(&["b\u{85}ad=1"]).starts_with("unknown option 'b\\u{85}ad'"));
        assert_eq!(
            err(&["filter=t", "filter=\t"]),
            "option 'filter' is given more than once"
        );
        // Everything else, non-ASCII included, is shown as it is.
        assert_eq!(
            err(&["mode=\u{e17}\\x"]),
            format!(
                "invalid value '\u{e17}\\x' for mode: expected {}",
                Mode::NAMES
            )
        );
    }
}
