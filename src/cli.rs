//! The command line: protocol mode with no arguments (how splunkd starts the command),
//! `scan` for exported events, `--help` and `--version`.

use std::io::{self, BufWriter, Write};

use crate::command;
use crate::options::Config;
use crate::os;
use crate::scan::{self, Format};

const USAGE: &str = "\
reghivedump: flags reg.exe dumps of the SAM, SECURITY and SYSTEM registry hives
(MITRE ATT&CK T1003), as the Splunk rule 'Attempted Credential Dump From Registry via Reg exe'.

Usage:
  reghivedump [--no-kernel-hints]  speak Splunk's chunked protocol on stdin/stdout
                                   (how splunkd runs the '| reghivedump' search command);
                                   --no-kernel-hints keeps the pipes' size and asks for no
                                   huge or early pages (commands.conf: command.arg.1)
  reghivedump scan [OPTIONS] [FILE|-]...
                                   apply the rule to exported events (CSV with a header
                                   row, JSON lines, or Windows event XML with one <Event>
                                   per line) and print the matching ones
  reghivedump --help | --version

Scan options:
  --format table|csv|jsonl         output format (default: table)
  --mode exact|extended            which rule to apply (default: exact): the published
                                   rule, or the structure of a hive dump after undoing
                                   obfuscation (see detection_variant)
  --process-name-field FIELD       read the process name (or image path) from FIELD
  --cmdline-field FIELD            read the command line from FIELD
  --dest-field FIELD               read the device from FIELD
  --user-field FIELD               read the user from FIELD

With no FILE, or with -, standard input is read. A summary goes to standard error.
Exit status: 0 when the scan ran (with or without matches), 1 on unreadable input,
2 on a usage error.
";

/// Runs the program with its arguments (without the program name) and returns the exit code.
pub fn main(args: &[String]) -> i32 {
    match args.first().map(String::as_str) {
        None => serve(),
        Some("--no-kernel-hints") if args.len() == 1 => {
            os::turn_off();
            serve()
        }
        Some("-h" | "--help" | "help") => print(USAGE),
        Some("-V" | "--version") => print(&format!("reghivedump {}\n", env!("CARGO_PKG_VERSION"))),
        Some("scan") => run_scan(&args[1..]),
        Some(other) => usage_error(&format!("unknown command '{other}'")),
    }
}

/// The buffer that gathers a reply for the pipe to splunkd (see
/// `records::Reply::write_to`): 64 KiB to 256 KiB measured the same.
const WRITE_BUFFER: usize = 128 << 10;

/// Protocol mode: how splunkd runs the command.
fn serve() -> i32 {
    os::widen_pipes();
    // stderr is not held locked: the planning thread must be able to report a panic
    // there (and the process then abort) while this one waits for it.
    command::run(
        io::stdin().lock(),
        BufWriter::with_capacity(WRITE_BUFFER, io::stdout().lock()),
        io::stderr(),
    )
}

fn print(text: &str) -> i32 {
    let _ = io::stdout().write_all(text.as_bytes());
    0
}

fn usage_error(message: &str) -> i32 {
    eprintln!("reghivedump: {message}; see 'reghivedump --help'");
    2
}

/// The scan options and inputs, or a usage error.
fn parse_scan(args: &[String]) -> Result<(Config, Format, Vec<String>), String> {
    let mut config = Config::default();
    let mut format = Format::default();
    let mut inputs = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let Some(flag) = arg.strip_prefix("--") else {
            inputs.push(arg.clone());
            continue;
        };
        let (name, value) = match flag.split_once('=') {
            Some((name, value)) => (name, value.to_string()),
            None => {
                let value = args.next().ok_or(format!("--{flag} needs a value"))?;
                (flag, value.clone())
            }
        };
        match name {
            "format" => {
                format = value.parse().map_err(|()| {
                    format!("invalid value '{value}' for --format: expected table, csv or jsonl")
                })?
            }
            "mode" | "process-name-field" | "cmdline-field" | "dest-field" | "user-field" => {
                let option = name.replace('-', "_");
                config.set(&option, &value).map_err(|e| e.to_string())?;
            }
            _ => return Err(format!("unknown option '--{name}'")),
        }
    }
    if inputs.is_empty() {
        inputs.push("-".to_string());
    }
    Ok((config, format, inputs))
}

fn run_scan(args: &[String]) -> i32 {
    let (config, format, inputs) = match parse_scan(args) {
        Ok(parsed) => parsed,
        Err(message) => return usage_error(&message),
    };
    let mut out = BufWriter::new(io::stdout().lock());
    match scan::scan(&config, format, &inputs, &mut out) {
        Ok(summary) => {
            eprintln!(
                "reghivedump: {} events read from {} input(s), {} matched (mode {})",
                summary.events,
                inputs.len(),
                summary.matches,
                config.mode.name()
            );
            0
        }
        Err(e) if e.is_closed_output() => 0,
        Err(e) => {
            eprintln!("reghivedump: {e}");
            1
        }
    }
}
