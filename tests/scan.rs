//! The `scan` command line over exported events.

use std::io::Write;
use std::process::{Output, Stdio};

use crate::util::*;

const SAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/app/lookups/reghivedump_sample_events.csv"
);

pub fn run(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = command()
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

#[test]
fn the_bundled_sample_shows_detections_as_a_table() {
    let out = run(&["scan", "app/lookups/reghivedump_sample_events.csv"], b"");
    assert_eq!(out.status.code(), Some(0));
    let want = r#"SOURCE                                        DEST           USER             PROCESS  VARIANT  HIVES     COMMAND LINE
app/lookups/reghivedump_sample_events.csv:4   ws-finance-07  CORP\svc-backup  reg.exe  exact    SAM       reg save HKLM\SAM C:\Windows\Temp\sam.save /y
app/lookups/reghivedump_sample_events.csv:5   ws-finance-07  CORP\svc-backup  reg.exe  exact    SYSTEM    reg save HKLM\SYSTEM C:\Windows\Temp\system.save /y
app/lookups/reghivedump_sample_events.csv:6   ws-finance-07  CORP\svc-backup  reg.exe  exact    SECURITY  reg save HKLM\SECURITY C:\Windows\Temp\security.save /y
app/lookups/reghivedump_sample_events.csv:7   srv-app-02     CORP\adm.kim     cmd.exe  exact    SAM       cmd.exe /c "reg save HKEY_LOCAL_MACHINE\SAM \\fileshare\drop\s.hiv"
app/lookups/reghivedump_sample_events.csv:10  srv-db-01      CORP\dba.lee     reg.exe  exact    SYSTEM    reg save HKLM\SYSTEM\CurrentControlSet\Services\MSSQLSERVER C:\Backup\mssql-service.hiv
"#;
    assert_eq!(text(&out.stdout), want);
    assert_eq!(
        text(&out.stderr),
        "reghivedump: 13 events read from 1 input(s), 5 matched (mode exact)\n"
    );
}

#[test]
fn jsonl_output_carries_the_event_and_the_annotation() {
    let out = run(&["scan", "--format", "jsonl", SAMPLE], b"");
    assert_eq!(out.status.code(), Some(0));
    let events: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.len(), 5);
    let first = &events[0];
    assert_eq!(first["_time"], "2026-11-02T09:01:12Z");
    assert_eq!(first["parent_process_name"], "cmd.exe");
    assert_eq!(
        first["detection_id"],
        "14038953-e5f2-4daf-acff-5452062baf03"
    );
    assert_eq!(first["risk_score"], 63);
    assert_eq!(first["reg_hive"], serde_json::json!(["SAM"]));
    assert_eq!(
        first["risk_object"],
        serde_json::json!(["ws-finance-07", "CORP\\svc-backup"])
    );
    assert_eq!(
        first["risk_object_type"],
        serde_json::json!(["system", "user"])
    );
}

#[test]
fn csv_output_keeps_the_input_columns_first() {
    let out = run(&["scan", "--format=csv", SAMPLE], b"");
    assert_eq!(out.status.code(), Some(0));
    let rows = csv_rows(&out.stdout);
    assert_eq!(rows.len(), 6);
    let header: Vec<String> = rows[0].iter().map(|h| text(h)).collect();
    assert_eq!(
        header[..7],
        [
            "_time",
            "dest",
            "user",
            "parent_process_name",
            "process_name",
            "original_file_name",
            "process"
        ]
    );
    assert_eq!(header[7], "detection_name");
    assert_eq!(
        rows[1][6],
        b"reg save HKLM\\SAM C:\\Windows\\Temp\\sam.save /y"
    );
    assert_eq!(
        rows[1][header.iter().position(|h| h == "risk_object").unwrap()],
        b"ws-finance-07\nCORP\\svc-backup"
    );
}

#[test]
fn reads_json_lines_from_standard_input() {
    let input = b"{\"Image\":\"C:\\\\Windows\\\\System32\\\\reg.exe\",\"CommandLine\":\"reg save HKLM\\\\SAM s\",\"EventID\":1,\"Hostname\":\"h1\"}\n\n{\"Image\":\"x.exe\"}\n";
    let out = run(&["scan", "--format", "jsonl", "-"], input);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let event: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(event["EventID"], 1);
    assert_eq!(event["risk_object"], serde_json::json!(["h1"]));
    assert_eq!(
        text(&out.stderr),
        "reghivedump: 2 events read from 1 input(s), 1 matched (mode exact)\n"
    );
}

#[test]
fn field_options_pick_other_columns() {
    let input = b"who,where,exe,cmd\nann,pc1,D:\\bin\\REG.EXE,reg save HKLM\\SAM s\n";
    let out = run(
        &[
            "scan",
            "--format",
            "jsonl",
            "--process-name-field",
            "exe",
            "--cmdline-field",
            "cmd",
            "--dest-field=where",
            "--user-field",
            "who",
        ],
        input,
    );
    let event: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(event["risk_object"], serde_json::json!(["pc1", "ann"]));
    assert_eq!(event["threat_object"][1], "REG.EXE");
}

#[test]
fn version_and_help() {
    let out = run(&["--version"], b"");
    assert_eq!(
        text(&out.stdout),
        format!("reghivedump {}\n", env!("CARGO_PKG_VERSION"))
    );
    let out = run(&["--help"], b"");
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).contains("reghivedump scan [OPTIONS] [FILE|-]..."));
}

#[test]
fn usage_and_input_errors_are_one_line_with_distinct_codes() {
    let cases: [(&[&str], &[u8], i32, &str); 7] = [
        (&["frobnicate"], b"", 2, "reghivedump: unknown command 'frobnicate'; see 'reghivedump --help'\n"),
        (&["scan", "--colour", "x"], b"", 2, "reghivedump: unknown option '--colour'; see 'reghivedump --help'\n"),
        (&["scan", "--format", "xml"], b"", 2, "reghivedump: invalid value 'xml' for --format: expected table, csv or jsonl; see 'reghivedump --help'\n"),
        (&["scan", "--mode"], b"", 2, "reghivedump: --mode needs a value; see 'reghivedump --help'\n"),
        (&["scan", "--mode", "loose"], b"", 2, "reghivedump: invalid value 'loose' for mode: expected exact or extended; see 'reghivedump --help'\n"),
        (&["scan", "no/such/file.csv"], b"", 1, "reghivedump: cannot read no/such/file.csv: No such file or directory (os error 2)\n"),
        (&["scan", "-"], b"{\"a\":1}\n{\"a\":\n", 1, "reghivedump: -:2: not a JSON object: EOF while parsing a value at line 2 column 0\n"),
    ];
    for (args, stdin, code, stderr) in cases {
        let out = run(args, stdin);
        assert_eq!(out.status.code(), Some(code), "{args:?}");
        assert_eq!(text(&out.stderr), stderr, "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    let out = run(&["scan", "-"], b"a,b\n1,2\n3\n");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).starts_with("reghivedump: -:3: malformed CSV: "),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn real_process_creation_events() {
    let Some(dir) = shared_testdata() else { return };
    let dir = dir.join("attack-data");
    let expect = [
        ("otrf_empire_shell_reg_dump_sam_2020-09-22042823.json", 2),
        ("otrf_cmd_psexec_lsa_secrets_dump_2020-10-1903305471.json", 2),
        ("otrf_cmd_dumping_ntds_dit_file_volume_shadow_copy.process_creation_extract.json", 2),
        ("otrf_cmd_sam_copy_esentutl_2020-10-1900290001.json", 0),
        ("otrf_empire_persistence_registry_modification_run_keys_standard_user.process_creation_extract.json", 0),
        ("evtx-attack-samples_PanacheSysmon_vs_AtomicRedTeam01.xml", 14),
    ];
    for (file, matches) in expect {
        let path = dir.join(file);
        let out = run(&["scan", "--format", "jsonl", path.to_str().unwrap()], b"");
        assert_eq!(out.status.code(), Some(0));
        let events: Vec<serde_json::Value> = text(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(events.len(), matches, "{file}");
        for event in events {
            assert!(event["CommandLine"]
                .as_str()
                .unwrap()
                .to_lowercase()
                .contains("save hklm\\"));
            assert_ne!(
                event["risk_object"][0], "wec.internal.cloudapp.net",
                "Hostname is the device"
            );
        }
    }
}

/// How many events, the variant, the hives and the command line.
pub type Dump = (usize, &'static str, &'static str, &'static str);

/// The hive dumps of each real dataset, as extended mode labels them: how many events
/// (Sysmon 1 and Security 4688 log the same process twice), the variant, the hives and
/// the command line. A file with none holds only benign near-misses or unrelated
/// activity.
pub const DUMPS: [(&str, &[Dump]); 6] = [
    ("otrf_empire_shell_reg_dump_sam_2020-09-22042823.json", &[
        (2, "exact", "SAM", r#""C:\windows\system32\reg.exe" save HKLM\sam sam"#),
    ]),
    ("otrf_cmd_psexec_lsa_secrets_dump_2020-10-1903305471.json", &[
        (2, "exact", "SECURITY", r#""reg" save HKLM\security\policy\secrets C:\Users\wardog\AppData\Local\Temp\secrets"#),
        (2, "wrapper", "SECURITY", r"PsExec.exe  -accepteula -s reg save HKLM\security\policy\secrets C:\Users\wardog\AppData\Local\Temp\secrets"),
    ]),
    ("otrf_cmd_dumping_ntds_dit_file_volume_shadow_copy.process_creation_extract.json", &[
        (2, "exact", "SYSTEM", r"reg  save HKLM\SYSTEM C:\Windows\Temp\SYSTEM_HIVE"),
    ]),
    ("otrf_cmd_sam_copy_esentutl_2020-10-1900290001.json", &[
        (2, "hive-file", "SAM", r"esentutl.exe  /y /vss C:\windows/system32/config/SAM /d C:\ProgramData\SAM"),
    ]),
    ("otrf_empire_persistence_registry_modification_run_keys_standard_user.process_creation_extract.json", &[]),
    ("evtx-attack-samples_PanacheSysmon_vs_AtomicRedTeam01.xml", &[
        (1, "exact", "SECURITY", r#""C:\Windows\system32\cmd.exe" /c "reg save HKLM\Security security.hive""#),
        (1, "exact", "SECURITY", r"reg  save HKLM\Security security.hive"),
        (1, "exact", "SYSTEM", r#""C:\Windows\system32\cmd.exe" /c "reg save HKLM\System system.hive""#),
        (1, "exact", "SYSTEM", r"reg  save HKLM\System system.hive"),
        (1, "exact", "SAM", r#""C:\Windows\system32\cmd.exe" /c "reg save HKLM\SAM sam.hive""#),
        (1, "exact", "SAM", r"reg  save HKLM\SAM sam.hive"),
        (1, "exact", "SAM", r#""C:\Windows\system32\cmd.exe" /c "reg save HKLM\sam sam""#),
        (1, "exact", "SAM", r"reg  save HKLM\sam sam"),
        (1, "exact", "SYSTEM", r#""C:\Windows\system32\cmd.exe" /c "reg save HKLM\system system""#),
        (1, "exact", "SYSTEM", r"reg  save HKLM\system system"),
        (1, "exact", "SECURITY", r#""C:\Windows\system32\cmd.exe" /c "reg save HKLM\security security""#),
        (1, "exact", "SECURITY", r"reg  save HKLM\security security"),
        (1, "hive-file", "SYSTEM", r#""C:\Windows\system32\cmd.exe" /c "copy \\?\GLOBALROOT\Device\HarddiskVolumeShadowCopy1\Windows\System32\config\SYSTEM C:\Extract\VSC_SYSTEM_HIVE""#),
        (1, "exact", "SYSTEM", r#""C:\Windows\system32\cmd.exe" /c "reg save HKLM\SYSTEM C:\Extract\SYSTEM_HIVE""#),
        (1, "exact", "SYSTEM", r"reg  save HKLM\SYSTEM C:\Extract\SYSTEM_HIVE"),
    ]),
];

/// The events `scan` flags in a file, in order: the whole event with its annotation.
pub fn flagged(path: &std::path::Path, mode: &str) -> Vec<serde_json::Value> {
    let out = run(
        &[
            "scan",
            "--mode",
            mode,
            "--format",
            "jsonl",
            path.to_str().unwrap(),
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// An annotated event as (variant, hives, command line).
pub fn summary(event: &serde_json::Value) -> (String, String, String) {
    let hives: Vec<&str> = event["reg_hive"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_str().unwrap())
        .collect();
    (
        event["detection_variant"].as_str().unwrap().to_string(),
        hives.join(","),
        event["CommandLine"].as_str().unwrap().to_string(),
    )
}

#[test]
fn extended_mode_flags_the_hive_dumps_of_real_datasets_and_nothing_else() {
    let Some(dir) = shared_testdata() else { return };
    for (file, dumps) in DUMPS {
        let mut got: Vec<_> = flagged(&dir.join("attack-data").join(file), "extended")
            .iter()
            .map(summary)
            .collect();
        let mut want: Vec<_> = dumps
            .iter()
            .flat_map(|(n, variant, hive, line)| {
                std::iter::repeat_n(
                    (variant.to_string(), hive.to_string(), line.to_string()),
                    *n,
                )
            })
            .collect();
        got.sort();
        want.sort();
        assert_eq!(got, want, "{file}");
    }
}

#[test]
fn extended_mode_annotates_with_sub_techniques_and_reads_original_file_names() {
    let input = "<?xml version='1.0'?>\n\
<Event><System><EventID>1</EventID><Computer>pc1</Computer></System><EventData><Data Name='Image'>C:\\Users\\Public\\svc.exe</Data><Data Name='OriginalFileName'>reg.exe</Data><Data Name='CommandLine'>save HKLM\\SAM x &amp;&amp; y</Data><Data Name='User'>CORP\\ann</Data></EventData></Event>\n\
<Event><System><EventID>1</EventID></System><EventData><Data Name='Image'>C:\\Windows\\reg.exe</Data><Data Name='CommandLine'>reg save HKLM\\SAMPLE x</Data></EventData></Event>\n";
    let out = run(
        &["scan", "--mode", "extended", "--format", "jsonl"],
        input.as_bytes(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let event: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(event["detection_variant"], "shape");
    assert_eq!(
        event["mitre_attack"],
        serde_json::json!(["T1003", "T1003.002"])
    );
    assert_eq!(
        event["risk_object"],
        serde_json::json!(["pc1", "CORP\\ann"])
    );
    assert_eq!(event["CommandLine"], "save HKLM\\SAM x && y");
    assert_eq!(
        text(&out.stderr),
        "reghivedump: 2 events read from 1 input(s), 1 matched (mode extended)\n"
    );
}

#[test]
fn malformed_xml_is_an_input_error_with_its_line() {
    let out = run(&["scan", "-"], b"<Event><System></Event>\n");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "reghivedump: -:1: not an XML event: unbalanced tags\n"
    );
}
