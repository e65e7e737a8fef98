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

/// `harvest-sidecar audit`: exit 0 when every holding equals its ledger, 1 with a report
/// naming the account and asset when one does not.
#[test]
fn audit_exits_non_zero_on_a_mismatch() {
    use harvest_sidecar::db::Db;
    let tmp = tempfile::tempdir().unwrap();
    let audit = |json: bool| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_harvest-sidecar"));
        c.arg("audit").arg("--data-dir").arg(tmp.path());
        if json {
            c.arg("--json");
        }
        c.output().unwrap()
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let url = format!("sqlite://{}", tmp.path().join("harvest.db").display());
    let db = rt.block_on(Db::connect(&url)).unwrap();
    let harvest_sidecar::db::accounts::CreateAccount::Created(id) =
        rt.block_on(db.create_account("audited", "x", 0)).unwrap()
    else {
        panic!("fresh name")
    };
    let start = harvest_shared::inventory::Holdings {
        inventory: harvest_shared::inventory::Inventory {
            coins: 50,
            ..Default::default()
        },
        ..Default::default()
    };
    rt.block_on(db.take_lease(id, "s", 0, &start, false))
        .unwrap();

    let out = audit(false);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("audited 1 accounts") && text.contains("every holding"),
        "{text}"
    );

    rt.block_on(
        sqlx::query("UPDATE holdings SET amount = amount + 7 WHERE account_id = $1")
            .bind(id)
            .execute(db.pool()),
    )
    .unwrap();
    let out = audit(false);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains(&format!(
            "MISMATCH account {id}: coins: ledger sum 50, holding 57"
        )),
        "{text}"
    );
    let out = audit(true);
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["mismatches"][0]["asset"], "coins");
    assert_eq!(report["mismatches"][0]["holding"], 57);
}
