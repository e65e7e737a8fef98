//! The real `harvest-server` binary: `--help`, clear errors on bad config and bad content,
//! and the all-in-one stack started on port 0 that drains and exits 0 on SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Both listeners on port 0, then `--data-dir` (its value follows).
const PORT_ZERO: [&str; 5] = [
    "--http-bind",
    "127.0.0.1:0",
    "--udp-bind",
    "127.0.0.1:0",
    "--data-dir",
];

/// Run to completion, but kill it (and fail) if it is still running after 60 s: a bad config
/// must stop the program, never leave it serving.
fn output(cmd: &mut Command) -> std::process::Output {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("still running after 60 s: {cmd:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_harvest-server"));
    c.current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    c
}

#[test]
fn help_lists_the_flags() {
    let out = bin().arg("--help").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--http-bind",
        "--udp-bind",
        "--data-dir",
        "--sidecar-url",
        "--tick-hz",
        "--database-url",
        "--admin-bind",
        "--shutdown-timeout",
        "--sidecar-ca-cert",
        "--max-packets-per-second",
        "--request-rate",
    ] {
        assert!(text.contains(flag), "--help lacks {flag}");
    }
}

#[test]
fn bad_config_exits_with_a_clear_message() {
    let tmp = tempfile::tempdir().unwrap();
    let out = bin()
        .args(["--tick-hz", "0", "--data-dir"])
        .arg(tmp.path())
        .args(["--http-bind", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--tick-hz must be"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = bin()
        .args(["--database-url", "mysql://nope", "--data-dir"])
        .arg(tmp.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--database-url must start with"));

    for (args, says) in [
        (&["--shard-id", "a b"][..], "--shard-id must be"),
        (
            &["--save-interval-ms", "5"][..],
            "--save-interval-ms must be",
        ),
        (
            &["--shutdown-timeout", "1"][..],
            "--shutdown-timeout must be",
        ),
        (
            &["--sidecar-ca-cert", "/nonexistent/ca.pem"][..],
            "--sidecar-ca-cert",
        ),
    ] {
        let out = output(
            bin()
                .args(args)
                .args([
                    "--http-bind",
                    "127.0.0.1:0",
                    "--udp-bind",
                    "127.0.0.1:0",
                    "--data-dir",
                ])
                .arg(tmp.path()),
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
}

/// A copy of the shipped content in a temporary directory.
fn content_copy(tmp: &std::path::Path) -> std::path::PathBuf {
    let content = tmp.join("content");
    std::fs::create_dir(&content).unwrap();
    for f in harvest_shared::content::CONTENT_FILES {
        std::fs::copy(
            format!("{}/../assets/data/{f}", env!("CARGO_MANIFEST_DIR")),
            content.join(f),
        )
        .unwrap();
    }
    content
}

#[test]
fn bad_content_names_the_file_and_the_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let content = content_copy(tmp.path());
    let crops = std::fs::read_to_string(content.join("crops.ron"))
        .unwrap()
        .replacen("produce: \"radish\"", "produce: \"radishes\"", 1);
    std::fs::write(content.join("crops.ron"), crops).unwrap();
    let out = bin()
        .args(PORT_ZERO)
        .arg(tmp.path().join("data"))
        .arg("--content-dir")
        .arg(&content)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("crops.ron:") && err.contains("produce") && err.contains("radishes"),
        "{err}"
    );
}

#[test]
fn content_check_reports_every_problem_as_text_or_json() {
    let tmp = tempfile::tempdir().unwrap();
    let content = content_copy(tmp.path());
    // Valid: exit 0, a one-line summary.
    let out = output(bin().args(["content", "check"]).arg(&content));
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("content OK") && text.contains("cards"),
        "{text}"
    );

    // Two mistakes in two files: both reported, with line and column, exit 1.
    let crops = std::fs::read_to_string(content.join("crops.ron"))
        .unwrap()
        .replacen("growth_ticks: 100,", "growth_ticks: 0,", 1);
    std::fs::write(content.join("crops.ron"), crops).unwrap();
    let items = std::fs::read_to_string(content.join("items.ron"))
        .unwrap()
        .replacen(
            "buy_price: Some(2), sell_price: Some(1)",
            "buy_price: Some(2), sell_price: Some(3)",
            1,
        );
    std::fs::write(content.join("items.ron"), items).unwrap();
    let out = output(bin().args(["content", "check"]).arg(&content));
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("crops.ron:") && err.contains("'growth_ticks': 0 is out of range"),
        "{err}"
    );
    assert!(err.contains("2 problems"), "{err}");

    let out = output(bin().args(["content", "check", "--json"]).arg(&content));
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["ok"], false);
    let errors = report["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 2, "{report}");
    assert!(
        errors
            .iter()
            .all(|e| e["line"].as_u64().is_some() && e["column"].as_u64().is_some()),
        "{report}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e["field"] == "sell_price" && e["entry"] == "radish_seed"),
        "{report}"
    );
}

#[test]
fn all_in_one_starts_on_port_zero_and_drains_on_sigterm() {
    let tmp = tempfile::tempdir().unwrap();
    let mut child = bin()
        .args(PORT_ZERO)
        .arg(tmp.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let start = Instant::now();
    let (mut http, mut udp) = (None, None);
    while http.is_none() || udp.is_none() {
        assert!(start.elapsed() < Duration::from_secs(30), "no banner");
        let line = lines.next().expect("banner line").unwrap();
        if let Some(u) = line.split("sidecar (HTTP): ").nth(1) {
            http = Some(u.trim().to_owned());
        }
        if let Some(a) = line.split("shard   (UDP):  ").nth(1) {
            udp = Some(a.trim().to_owned());
        }
    }
    let http = http.unwrap();
    assert!(
        !http.ends_with(":0") && !udp.unwrap().ends_with(":0"),
        "bound ports are printed"
    );
    // The sidecar answers and the database is in the data dir.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let status = rt.block_on(async {
        reqwest::get(format!("{http}/readyz"))
            .await
            .unwrap()
            .status()
    });
    assert_eq!(status.as_u16(), 200);
    assert!(tmp.path().join("harvest.db").exists());
    assert!(tmp.path().join("netcode.key").exists());

    #[allow(unsafe_code)]
    // SAFETY: sending a signal to our own child process.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert_eq!(status.code(), Some(0), "clean drain exits 0");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "shard did not exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
