//! Offline mode: the same rule and field mapping over exported events (CSV with a header
//! row, JSON lines, or Windows event XML), printing the events that match with their
//! annotation.

use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::str::FromStr;

use serde_json::Value as Json;

use crate::annotate::{self, Value, FIELDS};
use crate::fields::FieldMap;
use crate::options::Config;
use crate::rule::{Detection, Detector};
use crate::text::Shown;
use crate::xml;

/// How matches are printed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Format {
    /// An aligned table for people.
    #[default]
    Table,
    /// CSV: every field of the matching events plus the annotation.
    Csv,
    /// One JSON object per matching event: its fields plus the annotation.
    Jsonl,
}

impl FromStr for Format {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "table" => Ok(Format::Table),
            "csv" => Ok(Format::Csv),
            "jsonl" => Ok(Format::Jsonl),
            _ => Err(()),
        }
    }
}

/// Why a scan failed.
#[derive(Debug)]
pub enum ScanError {
    /// An input could not be opened or read.
    Read {
        /// The input's name.
        input: String,
        /// What failed.
        error: io::Error,
    },
    /// An input is not CSV, JSON lines or event XML of the expected shape.
    Parse {
        /// The input's name.
        input: String,
        /// 1-based line of the problem.
        line: u64,
        /// What is wrong.
        message: String,
    },
    /// Writing the results failed.
    Output(io::Error),
}

impl fmt::Display for ScanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScanError::Read { input, error } => write!(f, "cannot read {input}: {error}"),
            ScanError::Parse {
                input,
                line,
                message,
            } => write!(f, "{input}:{line}: {message}"),
            ScanError::Output(e) => write!(f, "cannot write output: {e}"),
        }
    }
}

impl std::error::Error for ScanError {}

impl ScanError {
    /// Whether the output's reader went away (`scan ... | head`), a quiet end.
    pub fn is_closed_output(&self) -> bool {
        matches!(self, ScanError::Output(e) if e.kind() == io::ErrorKind::BrokenPipe)
    }
}

/// One exported event: its fields in input order.
type Fields = Vec<(String, Json)>;

/// Reads one event from one line of a line-per-event format, or says what is wrong.
type LineParser = fn(&[u8]) -> Result<Fields, String>;

/// A matching event and where it was found.
struct Hit {
    place: String,
    fields: Fields,
    detection: Detection,
}

/// What a scan saw.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    /// Events read.
    pub events: u64,
    /// Events that matched.
    pub matches: u64,
}

/// Scans `inputs` (paths, `-` for standard input) and prints matches to `out`.
pub fn scan<W: Write>(
    config: &Config,
    format: Format,
    inputs: &[String],
    out: &mut W,
) -> Result<Summary, ScanError> {
    let detector = Detector::new(config.mode);
    let mut summary = Summary::default();
    let mut hits = Vec::new();
    for input in inputs {
        let reader: Box<dyn BufRead> = if input == "-" {
            Box::new(io::stdin().lock())
        } else {
            let file = File::open(input).map_err(|error| ScanError::Read {
                input: input.clone(),
                error,
            })?;
            Box::new(BufReader::new(file))
        };
        read_events(input, reader, |line, fields| {
            summary.events += 1;
            let event = config.fields.event(|name| lookup(&fields, name));
            if let Some(detection) = detector.detect(&event) {
                summary.matches += 1;
                let hit = Hit {
                    place: format!("{input}:{line}"),
                    fields,
                    detection,
                };
                if format == Format::Jsonl {
                    write_json(out, &config.fields, &hit).map_err(ScanError::Output)?;
                } else {
                    hits.push(hit);
                }
            }
            Ok(())
        })?;
    }
    match format {
        Format::Jsonl => {}
        Format::Csv => write_csv(out, &config.fields, &hits)?,
        Format::Table if hits.is_empty() => {}
        Format::Table => write_table(out, &config.fields, &hits).map_err(ScanError::Output)?,
    }
    out.flush().map_err(ScanError::Output)?;
    Ok(summary)
}

fn lookup<'a>(fields: &'a Fields, name: &str) -> Option<&'a [u8]> {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .and_then(|(_, v)| v.as_str())
        .map(str::as_bytes)
}

/// Reads every event of one input, calling `each` with its line number and fields. The
/// format is told by the first byte that is not white space: `{` starts JSON lines, `<`
/// Windows event XML (one `<Event>` per line), anything else a CSV header.
fn read_events(
    input: &str,
    mut reader: Box<dyn BufRead + '_>,
    mut each: impl FnMut(u64, Fields) -> Result<(), ScanError>,
) -> Result<(), ScanError> {
    let read_error = |error| ScanError::Read {
        input: input.to_string(),
        error,
    };
    let parse_error = |line, message: String| ScanError::Parse {
        input: input.to_string(),
        line,
        message,
    };
    let first = reader.fill_buf().map_err(read_error)?;
    let lines: Option<LineParser> = match first.trim_ascii_start().first() {
        Some(b'{') => Some(json_event),
        Some(b'<') => Some(xml_event),
        _ => None,
    };
    if let Some(parse) = lines {
        let mut line = Vec::new();
        let mut number = 0;
        loop {
            line.clear();
            if reader.read_until(b'\n', &mut line).map_err(read_error)? == 0 {
                return Ok(());
            }
            number += 1;
            // Blank lines, and the declaration that opens an XML file, hold no event.
            let trimmed = line.trim_ascii();
            if trimmed.is_empty() || trimmed.starts_with(b"<?") {
                continue;
            }
            let fields = parse(&line).map_err(|message| parse_error(number, message))?;
            each(number, fields)?;
        }
    }
    let mut csv = csv::ReaderBuilder::new().from_reader(reader);
    let header: Vec<String> = csv
        .byte_headers()
        .map_err(|e| parse_error(1, e.to_string()))?
        .iter()
        .map(|h| String::from_utf8_lossy(h).into_owned())
        .collect();
    let mut record = csv::ByteRecord::new();
    loop {
        match csv.read_byte_record(&mut record) {
            Ok(false) => return Ok(()),
            Ok(true) => {
                let line = record.position().map_or(0, |p| p.line());
                let fields = header
                    .iter()
                    .zip(record.iter())
                    .map(|(k, v)| (k.clone(), Json::String(String::from_utf8_lossy(v).into())))
                    .collect();
                each(line, fields)?;
            }
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                return Err(parse_error(line, format!("malformed CSV: {e}")));
            }
        }
    }
}

fn json_event(line: &[u8]) -> Result<Fields, String> {
    let object: serde_json::Map<String, Json> =
        serde_json::from_slice(line).map_err(|e| format!("not a JSON object: {e}"))?;
    Ok(object.into_iter().collect())
}

fn xml_event(line: &[u8]) -> Result<Fields, String> {
    let fields = xml::event_fields(&String::from_utf8_lossy(line)).map_err(|e| e.to_string())?;
    Ok(fields
        .into_iter()
        .map(|(name, value)| (name, Json::String(value)))
        .collect())
}

fn annotation(fields: &FieldMap, hit: &Hit) -> Vec<(&'static str, Json)> {
    let event = fields.event(|name| lookup(&hit.fields, name));
    let text = |b: &[u8]| Json::String(String::from_utf8_lossy(b).into_owned());
    FIELDS
        .iter()
        .zip(annotate::annotate(&hit.detection, &event))
        .map(|(field, value)| {
            let json = match value {
                Value::Text(t) => text(&t),
                Value::Number(n) => Json::from(n),
                Value::List(items) => Json::Array(items.iter().map(|i| text(i)).collect()),
            };
            (field.name, json)
        })
        .collect()
}

fn write_json<W: Write>(out: &mut W, fields: &FieldMap, hit: &Hit) -> io::Result<()> {
    let mut object: serde_json::Map<String, Json> = hit.fields.iter().cloned().collect();
    for (name, value) in annotation(fields, hit) {
        object.insert(name.to_string(), value);
    }
    serde_json::to_writer(&mut *out, &object)?;
    out.write_all(b"\n")
}

/// A CSV cell's text: strings as they are, lists one value per line, the rest as JSON.
fn cell(value: &Json) -> String {
    match value {
        Json::String(s) => s.clone(),
        Json::Null => String::new(),
        Json::Array(items) => items.iter().map(cell).collect::<Vec<_>>().join("\n"),
        other => other.to_string(),
    }
}

fn write_csv<W: Write>(out: &mut W, fields: &FieldMap, hits: &[Hit]) -> Result<(), ScanError> {
    let rows: Vec<Fields> = hits
        .iter()
        .map(|hit| {
            let mut row = hit.fields.clone();
            row.extend(
                annotation(fields, hit)
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v)),
            );
            row
        })
        .collect();
    let mut header: Vec<&str> = Vec::new();
    for (name, _) in rows.iter().flatten() {
        if !header.contains(&name.as_str()) {
            header.push(name);
        }
    }
    let mut csv = csv::Writer::from_writer(out);
    let io = |e: csv::Error| ScanError::Output(e.into());
    if !rows.is_empty() {
        csv.write_record(&header).map_err(io)?;
    }
    for row in &rows {
        // The annotation comes after the event's fields and wins over a field of the
        // same name, as in the JSON output.
        let cells = header.iter().map(|name| {
            row.iter()
                .rfind(|(k, _)| k == name)
                .map_or_else(String::new, |(_, v)| cell(v))
        });
        csv.write_record(cells).map_err(io)?;
    }
    csv.flush().map_err(ScanError::Output)
}

fn write_table<W: Write>(out: &mut W, fields: &FieldMap, hits: &[Hit]) -> io::Result<()> {
    // Control characters (a line break inside a command line) would break the layout.
    let shown = |v: Option<&[u8]>| Shown(&String::from_utf8_lossy(v.unwrap_or(b"-"))).to_string();
    let mut rows = vec![[
        "SOURCE",
        "DEST",
        "USER",
        "PROCESS",
        "VARIANT",
        "HIVES",
        "COMMAND LINE",
    ]
    .map(String::from)];
    for hit in hits {
        let event = fields.event(|name| lookup(&hit.fields, name));
        rows.push([
            hit.place.clone(),
            shown(event.dest),
            shown(event.user),
            shown(event.process_name),
            hit.detection.variant.name().to_string(),
            hit.detection.hives.names().collect::<Vec<_>>().join(","),
            shown(event.cmd_line),
        ]);
    }
    let mut widths = [0; 7];
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    for row in &rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<w$}  ", w = widths[i]));
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}
