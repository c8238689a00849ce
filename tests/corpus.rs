//! The published rule over every labelled command line of ../shared/testdata/corpus.

use crate::util::*;

/// A corpus row: process name and command line (`None` for `<NULL>`), and the label.
struct Case {
    process_name: Option<String>,
    command_line: Option<String>,
    seed: bool,
}

fn cases() -> Option<Vec<Case>> {
    let path = shared_testdata()?.join("corpus/cases.tsv");
    let text = std::fs::read_to_string(&path).expect("cases.tsv is readable");
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("process_name\tcommand_line\tseed_rule_match\tmalicious_intent\tsource")
    );
    let field = |s: &str| (s != "<NULL>").then(|| s.to_string());
    Some(
        lines
            .map(|line| {
                let cols: Vec<&str> = line.split('\t').collect();
                assert_eq!(cols.len(), 5, "{line}");
                Case {
                    process_name: field(cols[0]),
                    command_line: field(cols[1]),
                    seed: cols[2] == "1",
                }
            })
            .collect(),
    )
}

fn csv_cell(value: &Option<String>) -> String {
    match value {
        None => String::new(),
        Some(v) => format!("\"{}\"", v.replace('"', "\"\"")),
    }
}

#[test]
fn every_case_gives_its_seed_rule_match() {
    let Some(cases) = cases() else { return };
    assert!(cases.len() > 200);
    let mut s = Session::start();
    s.request(&getinfo(&[]));
    // Three chunks of different sizes, as splunkd would batch them.
    let mut checked = 0;
    let mut fired = 0;
    for (n, part) in cases.chunks(100).enumerate() {
        let mut body = String::from("\"_chunked_idx\",\"process_name\",process\n");
        for (i, case) in part.iter().enumerate() {
            body.push_str(&format!(
                "{i},{},{}\n",
                csv_cell(&case.process_name),
                csv_cell(&case.command_line)
            ));
        }
        let last = (n + 1) * 100 >= cases.len();
        let reply = s.request(&execute(last, body.as_bytes()));
        let rows = csv_rows(&reply.body);
        assert_eq!(rows.len(), part.len() + 1);
        for (case, row) in part.iter().zip(&rows[1..]) {
            let hit = !row[3].is_empty();
            assert_eq!(
                hit, case.seed,
                "{:?} / {:?}",
                case.process_name, case.command_line
            );
            if hit {
                assert_eq!(row[5], b"exact");
                fired += 1;
            }
            checked += 1;
        }
    }
    assert_eq!(checked, cases.len());
    assert!(
        fired > 30,
        "the corpus has many seed matches, found {fired}"
    );
    assert_eq!(s.finish().code, Some(0));
}
