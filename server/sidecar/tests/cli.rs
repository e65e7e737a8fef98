//! The real `harvest-sidecar` binary: `--help` and clear errors on bad config.

use std::process::Command;

#[test]
fn help_lists_the_flags() {
    let out = Command::new(env!("CARGO_BIN_EXE_harvest-sidecar"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--bind",
        "--database-url",
        "--data-dir",
        "--netcode-key",
        "--log-format",
        "--internal-bind",
        "--content-dir",
        "--tls-cert",
        "--tls-key",
        "--trusted-proxies",
        "--header-read-timeout-secs",
    ] {
        assert!(text.contains(flag), "--help lacks {flag}");
    }
}

#[test]
fn bad_config_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let content = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/data");
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_harvest-sidecar"))
            .args(args)
            .arg("--data-dir")
            .arg(tmp.path())
            .arg("--content-dir")
            .arg(&content)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let (code, err) = run(&["--database-url", "mysql://x", "--bind", "127.0.0.1:0"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("--database-url must start with"), "{err}");
    let (code, err) = run(&["--netcode-key", "abcd", "--bind", "127.0.0.1:0"]);
    assert_eq!(code, Some(1));
    assert!(
        err.contains("netcode key") && err.contains("32 bytes"),
        "{err}"
    );
    let (code, err) = run(&["--bind", "not-an-address"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("--bind"), "{err}");
    let (code, err) = run(&[
        "--database-url",
        "postgres://nobody@127.0.0.1:1/none",
        "--bind",
        "127.0.0.1:0",
    ]);
    assert_eq!(code, Some(1));
    assert!(
        err.contains("cannot connect to the postgres database"),
        "{err}"
    );
    let (code, err) = run(&[
        "--trusted-proxies",
        "10.0.0.0/8,not-a-net",
        "--bind",
        "127.0.0.1:0",
    ]);
    assert_eq!(code, Some(1));
    assert!(
        err.contains("--trusted-proxies") && err.contains("not-a-net"),
        "{err}"
    );
    let (code, err) = run(&[
        "--tls-cert",
        "/nonexistent/cert.pem",
        "--bind",
        "127.0.0.1:0",
    ]);
    assert_eq!(code, Some(2), "--tls-cert needs --tls-key: {err}");
    let (code, err) = run(&[
        "--tls-cert",
        "/nonexistent/cert.pem",
        "--tls-key",
        "/nonexistent/key.pem",
        "--bind",
        "127.0.0.1:0",
    ]);
    assert_eq!(code, Some(1));
    assert!(err.contains("--tls-cert"), "{err}");
}

#[test]
fn a_bad_content_dir_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_harvest-sidecar"))
        .args(["--bind", "127.0.0.1:0", "--content-dir"])
        .arg(tmp.path())
        .arg("--data-dir")
        .arg(tmp.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--content-dir") && err.contains("items.ron"),
        "{err}"
    );
}
