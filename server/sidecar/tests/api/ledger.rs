//! The economy ledger: opened at the first lease, entries committed with their save or not at
//! all, once per key, never below zero; `GET /v1/players/me/ledger`; the audit.

use crate::both_backends;
use crate::common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

fn state() -> Value {
    json!({"zone": "meadow", "farm": {"plots": ["Tilled"]}})
}

fn entry(key: &str, kind: &str, coins: i64, items: Value) -> Value {
    json!({"key": key, "kind": kind, "detail": "test", "delta": {"coins": coins, "items": items}})
}

fn save(account: i64, epoch: i64, base: i64, ledger: Value) -> Value {
    json!([{"account_id": account, "epoch": epoch, "base_version": base, "state": state(), "ledger": ledger}])
}

both_backends!(ledger_entries_commit_with_their_save_once, |app| {
    let t = app.user("lena").await;
    let id = t["account_id"].as_i64().unwrap();
    let token = t["access_token"].as_str().unwrap();
    let start = app.sidecar().state.cfg.content.economy.start_coins as i64;

    // The first lease opens the ledger with content's start holdings.
    let lease = app.lease(id, "a").await;
    assert_eq!(lease["holdings"]["inventory"]["coins"], start);
    assert_eq!(lease["holdings"]["inventory"]["items"]["radish_seed"], 12);

    let batch = save(
        id,
        1,
        0,
        json!([
            entry("1:0", "buy", -4, json!({"radish_seed": 2})),
            entry("1:1", "sell", 3, json!({"radish_seed": -1})),
        ]),
    );
    let (s, r) = app.save("a", batch.clone()).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["results"][0]["outcome"], "saved");
    // Replaying the batch does nothing: a duplicate, and the holdings moved once.
    let (_, r) = app.save("a", batch).await;
    assert_eq!(r["results"][0]["outcome"], "duplicate");
    let (s, me) = app.get_auth("/v1/players/me", token).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(me["inventory"]["coins"], start - 1);
    assert_eq!(me["inventory"]["items"]["radish_seed"], 13);

    // An entry that would go below zero refuses the whole save: state and ledger unchanged.
    let (_, r) = app
        .save(
            "a",
            save(
                id,
                1,
                1,
                json!([entry("1:2", "sell", 1000, json!({"pumpkin": -5})),]),
            ),
        )
        .await;
    assert_eq!(r["results"][0]["outcome"], "invalid_ledger", "{r}");
    let (_, me2) = app.get_auth("/v1/players/me", token).await;
    assert_eq!(me2["inventory"], me["inventory"]);
    assert_eq!(me2["state_version"], me["state_version"]);
    // A stale save carries no entries in with it.
    let (_, r) = app
        .save(
            "a",
            save(
                id,
                1,
                0,
                json!([entry("1:3", "buy", -2, json!({"radish_seed": 1}))]),
            ),
        )
        .await;
    assert_eq!(r["results"][0]["outcome"], "stale_version");

    // The ledger, newest first, and its limit.
    let (s, page) = app.get_auth("/v1/players/me/ledger?limit=2", token).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    let entries = page["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0]["key"], "1:1");
    assert_eq!(entries[0]["kind"], "sell");
    assert_eq!(entries[0]["delta"]["coins"], 3);
    assert_eq!(entries[1]["key"], "1:0");
    let (_, page) = app.get_auth("/v1/players/me/ledger", token).await;
    let all = page["entries"].as_array().unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(all[2]["kind"], "opening");
    for bad in ["0", "501", "x", "-1"] {
        let (s, b) = app
            .get_auth(&format!("/v1/players/me/ledger?limit={bad}"), token)
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {b}");
        assert_error(&b, "validation_failed");
    }
    let (s, _) = app.get("/v1/players/me/ledger").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    // The audit agrees, and finds a holding changed behind the ledger's back.
    let db = &app.sidecar().state.db;
    let report = db.audit().await.unwrap();
    assert!(report.mismatches.is_empty(), "{report:?}");
    assert!(report.entries >= 3);
    sqlx::query(
        "UPDATE holdings SET amount = amount + 7 WHERE account_id = $1 AND asset_kind = 'coins'",
    )
    .bind(id)
    .execute(db.pool())
    .await
    .unwrap();
    let report = db.audit().await.unwrap();
    assert_eq!(report.mismatches.len(), 1, "{report:?}");
    assert_eq!(report.mismatches[0].asset, "coins");
    assert_eq!(
        report.mismatches[0].holding - report.mismatches[0].ledger_sum,
        7
    );
    // The ledger itself cannot be rewritten.
    let err = sqlx::query("UPDATE ledger_entries SET kind = 'buy' WHERE account_id = $1")
        .bind(id)
        .execute(db.pool())
        .await;
    assert!(err.is_err(), "the ledger is append-only");
});

both_backends!(malformed_ledger_entries_are_refused, |app| {
    let t = app.user("mallory").await;
    let id = t["account_id"].as_i64().unwrap();
    app.lease(id, "a").await;
    let long = "k".repeat(65);
    for e in [
        entry("opening", "buy", -1, json!({})),
        entry("", "buy", -1, json!({})),
        entry(&long, "buy", -1, json!({})),
        entry("1:0", "opening", 5, json!({})),
        entry("1:0", "buy", 1i64 << 40, json!({})),
    ] {
        let (s, b) = app.save("a", save(id, 1, 0, json!([e.clone()]))).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}: {b}");
        assert_eq!(b["field"], "ledger");
    }
    let many: Vec<Value> = (0..257)
        .map(|i| entry(&format!("1:{i}"), "buy", -1, json!({})))
        .collect();
    let (s, _) = app.save("a", save(id, 1, 0, json!(many))).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
});

both_backends!(
    a_save_from_before_the_ledger_opens_it_with_what_it_held,
    |app| {
        let t = app.user("olga").await;
        let id = t["account_id"].as_i64().unwrap();
        let db = &app.sidecar().state.db;
        let legacy = r#"{"zone":"meadow","farm":{"plots":["Empty"]},"inventory":{"coins":77,"items":{"radish":5}}}"#;
        sqlx::query(
        "INSERT INTO player_states (account_id, epoch, owner_shard, version, state, updated_at) VALUES ($1, 2, NULL, 9, $2, 0)",
    )
    .bind(id)
    .bind(legacy)
    .execute(db.pool())
    .await
    .unwrap();
        let lease = app.lease(id, "a").await;
        assert_eq!(lease["holdings"]["inventory"]["coins"], 77);
        assert_eq!(lease["holdings"]["inventory"]["items"]["radish"], 5);
        assert_eq!(lease["version"], 9);
        assert_eq!(lease["state"]["farm"]["plots"][0], "Tilled");
        // A second lease does not open it again.
        let lease = app.lease(id, "b").await;
        assert_eq!(lease["holdings"]["inventory"]["coins"], 77);
        assert!(db.audit().await.unwrap().mismatches.is_empty());
    }
);
