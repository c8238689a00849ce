//! The JSON metadata of SCP v2 requests and replies.
//!
//! Only the keys this command uses are read; every other key (the session key among
//! them) is skipped without being looked at, and never echoed.

use std::fmt;

use serde::{Deserialize, Serialize};

/// What splunkd asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// The first request: describe yourself. Carries the search's arguments.
    Getinfo {
        /// The command's arguments, split and unquoted by splunkd.
        args: Vec<String>,
    },
    /// A batch of events.
    Execute {
        /// Whether this is the last batch.
        finished: bool,
    },
}

#[derive(Deserialize)]
struct RawRequest {
    action: Option<String>,
    #[serde(default)]
    finished: Option<bool>,
    #[serde(default)]
    searchinfo: Option<SearchInfo>,
}

#[derive(Deserialize)]
struct SearchInfo {
    #[serde(default)]
    args: Vec<String>,
}

/// Why request metadata was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetadataError {
    /// Not JSON, or JSON of the wrong shape. Only the position is kept: the metadata
    /// holds a session key that must not appear in any message.
    Json {
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// Whether the text was valid JSON at all.
        syntax: bool,
    },
    /// An `action` other than getinfo or execute, or none.
    Action(Option<String>),
}

impl fmt::Display for MetadataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MetadataError::Json {
                line,
                column,
                syntax: true,
            } => write!(
                f,
                "chunk metadata is not valid JSON (line {line}, column {column})"
            ),
            MetadataError::Json { line, column, .. } => write!(
                f,
                "chunk metadata has an unexpected shape (line {line}, column {column})"
            ),
            MetadataError::Action(Some(action)) => {
                write!(
                    f,
                    "unsupported action '{}' in chunk metadata",
                    action.escape_debug()
                )
            }
            MetadataError::Action(None) => f.write_str("chunk metadata has no action"),
        }
    }
}

impl std::error::Error for MetadataError {}

impl Request {
    /// Parses request metadata.
    pub fn parse(metadata: &[u8]) -> Result<Request, MetadataError> {
        let raw: RawRequest =
            serde_json::from_slice(metadata).map_err(|e| MetadataError::Json {
                line: e.line(),
                column: e.column(),
                syntax: e.is_syntax() || e.is_eof(),
            })?;
        match raw.action.as_deref() {
            Some("getinfo") => Ok(Request::Getinfo {
                args: raw.searchinfo.map(|s| s.args).unwrap_or_default(),
            }),
            Some("execute") => Ok(Request::Execute {
                finished: raw.finished.unwrap_or(false),
            }),
            _ => Err(MetadataError::Action(raw.action)),
        }
    }
}

/// The getinfo reply: a distributable streaming command, and the fields it reads.
pub fn getinfo_reply(required_fields: Option<&[&str]>) -> Vec<u8> {
    #[derive(Serialize)]
    struct Getinfo<'a> {
        #[serde(rename = "type")]
        kind: &'static str,
        #[serde(skip_serializing_if = "Option::is_none")]
        required_fields: Option<&'a [&'a str]>,
    }
    to_json(&Getinfo {
        kind: "streaming",
        required_fields,
    })
}

/// An execute reply, echoing the request's `finished`.
pub fn execute_reply(finished: bool) -> &'static [u8] {
    if finished {
        br#"{"finished":true}"#
    } else {
        br#"{"finished":false}"#
    }
}

/// A fatal error reply: splunkd shows `Error in 'reghivedump' command: <message>` and
/// fails the search. The inspector message comes before `error`, as Splunk's own
/// commands order them.
pub fn error_reply(message: &str) -> Vec<u8> {
    #[derive(Serialize)]
    struct Inspector<'a> {
        messages: [[&'a str; 2]; 1],
    }
    #[derive(Serialize)]
    struct Failure<'a> {
        finished: bool,
        inspector: Inspector<'a>,
        error: &'a str,
    }
    to_json(&Failure {
        finished: true,
        inspector: Inspector {
            messages: [["ERROR", message]],
        },
        error: message,
    })
}

fn to_json<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("reply metadata is plain data")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_getinfo_and_execute() {
        let getinfo = br#"{"action":"getinfo","preview":false,"searchinfo":{"args":["mode=exact"],"session_key":"s3cr3t","earliest_time":0}}"#;
        assert_eq!(
            Request::parse(getinfo).unwrap(),
            Request::Getinfo {
                args: vec!["mode=exact".into()]
            }
        );
        assert_eq!(
            Request::parse(br#"{"action":"getinfo"}"#).unwrap(),
            Request::Getinfo { args: vec![] }
        );
        assert_eq!(
            Request::parse(br#"{"finished":true,"action":"execute","partial":1}"#).unwrap(),
            Request::Execute { finished: true }
        );
        assert_eq!(
            Request::parse(br#"{"action":"execute"}"#).unwrap(),
            Request::Execute { finished: false }
        );
    }

    #[test]
    fn errors_never_quote_the_metadata() {
        let secret =
            br#"{"action":"getinfo","searchinfo":{"session_key":"s3cr3t","args":"s3cr3t"}}"#;
        let err = Request::parse(secret).unwrap_err();
        assert!(!err.to_string().contains("s3cr3t"), "{err}");
        assert_eq!(
            err.to_string(),
            "chunk metadata has an unexpected shape (line 1, column 72)"
        );
        let err = Request::parse(b"{\"action\":\"getinfo\",s3cr3t").unwrap_err();
        assert!(err
            .to_string()
            .starts_with("chunk metadata is not valid JSON"));
        assert!(!err.to_string().contains("s3cr3t"));
        assert_eq!(
            Request::parse(br#"{"action":"dance"}"#)
                .unwrap_err()
                .to_string(),
            "unsupported action 'dance' in chunk metadata"
        );
        assert_eq!(
            Request::parse(b"{}").unwrap_err().to_string(),
            "chunk metadata has no action"
        );
    }

    #[test]
    fn replies_are_compact_json() {
        assert_eq!(getinfo_reply(None), br#"{"type":"streaming"}"#);
        assert_eq!(
            getinfo_reply(Some(&["process", "dest"])),
            br#"{"type":"streaming","required_fields":["process","dest"]}"#
        );
        assert_eq!(
            error_reply("bad \"x\""),
            br#"{"finished":true,"inspector":{"messages":[["ERROR","bad \"x\""]]},"error":"bad \"x\""}"#
        );
    }
}
