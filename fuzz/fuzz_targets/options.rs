//! The search's options as splunkd delivers them: request metadata of arbitrary bytes,
//! and `searchinfo.args` of arbitrary words.
//!
//! The input is the metadata, then the words, each ended by 0x1F (unit separator); words
//! that are not UTF-8 are read lossily, as they could not come through JSON otherwise.
//!
//! Checks: no panic; accepted options are `name=value` words with distinct, known
//! names; every message is printable; and a metadata error never quotes the session key.

#![no_main]

use libfuzzer_sys::fuzz_target;
use reghivedump::options::{Config, OptionError, OPTION_NAMES};
use reghivedump::protocol::Request;

const SECRET: &str = "fuzzsessionkey0123456789";

fn known(name: &str) -> bool {
    OPTION_NAMES.split(", ").any(|n| n == name)
}

fuzz_target!(|data: &[u8]| {
    let mut parts = data.split(|&b| b == 0x1f);
    let metadata = parts.next().unwrap_or_default();
    let args: Vec<String> = parts
        .map(|w| String::from_utf8_lossy(w).into_owned())
        .collect();
    if let Err(e) = Request::parse(metadata) {
        let message = e.to_string();
        assert!(!message.chars().any(char::is_control), "{message:?}");
    }

    // The same words inside a getinfo request that carries a session key.
    let getinfo = format!(
        r#"{{"action":"getinfo","searchinfo":{{"session_key":"{SECRET}","args":{}}}}}"#,
        json_array(&args)
    );
    match Request::parse(getinfo.as_bytes()) {
        Ok(Request::Getinfo { args: parsed }) => assert_eq!(parsed, args),
        other => panic!("{other:?}"),
    }

    match Config::from_search_args(&args) {
        Ok(config) => {
            let mut names = Vec::new();
            for arg in &args {
                let (name, _) = arg.split_once('=').expect("name=value");
                assert!(known(name), "{name}");
                assert!(!names.contains(&name), "{name} twice");
                names.push(name);
            }
            let _ = config.required_fields();
        }
        Err(e) => {
            if let OptionError::Unknown(name) = &e {
                assert!(!known(name));
            }
            let message = e.to_string();
            assert!(!message.chars().any(char::is_control), "{message:?}");
            assert!(!message.contains(SECRET) || args.iter().any(|a| a.contains(SECRET)));
        }
    }
});

/// The words as a JSON array, escaped by hand so that the target needs no JSON crate.
fn json_array(args: &[String]) -> String {
    let mut out = String::from("[");
    for (i, arg) in args.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('"');
        for c in arg.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
                c => out.push(c),
            }
        }
        out.push('"');
    }
    out.push(']');
    out
}
