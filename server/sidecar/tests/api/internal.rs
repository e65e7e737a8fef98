use crate::both_backends;
use crate::common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

fn state(coins: u32) -> Value {
    json!({"zone": "meadow", "farm": {"plots": ["Empty", {"Growing": {"crop": "radish", "planted_at": 1, "ripe_at": 2, "watered": false}}]},
           "inventory": {"coins": coins, "items": {"radish": 3}}})
}

async fn save(app: &TestApp, saves: Value) -> (StatusCode, Value) {
    let r = app
        .http
        .post(format!("{}/internal/v1/players/states", app.url))
        .bearer_auth(&app.service_secret)
        .json(&json!({"saves": saves}))
        .send()
        .await
        .unwrap();
    read(r).await
}

both_backends!(internal_routes_need_the_service_secret, |app| {
    for secret in [None, Some("00".repeat(32)), Some("zz".into())] {
        let mut req = app.http.post(format!("{}/internal/v1/shards", app.url)).json(&json!({"shard_id":"x","address":"127.0.0.1:1","zones":["meadow"],"content_version":"v"}));
        if let Some(s) = &secret {
            req = req.bearer_auth(s);
        }
        let (s, body) = read(req.send().await.unwrap()).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        assert_error(&body, "unauthorized");
    }
    let r = app
        .http
        .get(format!("{}/internal/v1/players/1/state", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // A player's access token is not a service secret.
    let t = app.user("pete").await;
    let (s, _) = app
        .get_auth(
            "/internal/v1/players/1/state",
            t["access_token"].as_str().unwrap(),
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
});

both_backends!(shard_registration_is_validated, |app| {
    for (body, field) in [
        (
            json!({"shard_id": "", "address": "127.0.0.1:1", "zones": ["meadow"], "content_version": "v"}),
            "shard_id",
        ),
        (
            json!({"shard_id": "s", "address": "not-an-addr", "zones": ["meadow"], "content_version": "v"}),
            "address",
        ),
        (
            json!({"shard_id": "s", "address": "127.0.0.1:1", "zones": [], "content_version": "v"}),
            "zones",
        ),
    ] {
        let r = app
            .http
            .post(format!("{}/internal/v1/shards", app.url))
            .bearer_auth(&app.service_secret)
            .json(&body)
            .send()
            .await
            .unwrap();
        let (s, b) = read(r).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(b["field"], field);
    }
});

both_backends!(saves_are_versioned_and_idempotent, |app| {
    let t = app.user("quinn").await;
    let id = t["account_id"].as_i64().unwrap();
    let load = || async {
        let r = app
            .http
            .get(format!("{}/internal/v1/players/{id}/state", app.url))
            .bearer_auth(&app.service_secret)
            .send()
            .await
            .unwrap();
        read(r).await
    };
    let (s, fresh) = load().await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        (fresh["version"].as_i64(), fresh["state"].is_null()),
        (Some(0), true)
    );

    let (s, r) = save(
        &app,
        json!([{"account_id": id, "version": 1, "state": state(10)}]),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["results"][0]["outcome"], "saved");
    // The same version again is a retry: nothing changes.
    let (_, r) = save(
        &app,
        json!([{"account_id": id, "version": 1, "state": state(999)}]),
    )
    .await;
    assert_eq!(r["results"][0]["outcome"], "duplicate");
    let (_, r) = save(
        &app,
        json!([{"account_id": id, "version": 3, "state": state(30)}]),
    )
    .await;
    assert_eq!(r["results"][0]["outcome"], "saved");
    // Older than stored: refused.
    let (_, r) = save(&app, json!([{"account_id": id, "version": 2, "state": state(20)}, {"account_id": 999999, "version": 1, "state": state(1)}])).await;
    assert_eq!(r["results"][0]["outcome"], "stale");
    assert_eq!(r["results"][0]["stored_version"], 3);
    assert_eq!(r["results"][1]["outcome"], "unknown_account");
    let (_, stored) = load().await;
    assert_eq!(stored["version"], 3);
    assert_eq!(stored["state"]["inventory"]["coins"], 30);
    assert_eq!(
        stored["state"]["farm"]["plots"][1]["Growing"]["crop"],
        "radish"
    );

    // The player sees it in /v1/players/me.
    let (_, me) = app
        .get_auth("/v1/players/me", t["access_token"].as_str().unwrap())
        .await;
    assert_eq!(me["inventory"]["coins"], 30);
    assert_eq!(me["inventory"]["items"]["radish"], 3);
    assert_eq!(me["farm"]["plots"], 2);
    assert_eq!(me["farm"]["ripe"], 1);
    assert_eq!(me["state_version"], 3);

    let (s, _) = save(
        &app,
        json!([{"account_id": id, "version": 0, "state": state(1)}]),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = save(
        &app,
        json!([{"account_id": id, "version": 5, "state": {"zone": 1}}]),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let r = app
        .http
        .get(format!("{}/internal/v1/players/424242/state", app.url))
        .bearer_auth(&app.service_secret)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
});

both_backends!(large_save_batches_fit, |app| {
    let t = app.user("rita").await;
    let id = t["account_id"].as_i64().unwrap();
    // ~100 KiB: over the public 16 KiB limit, well inside the internal one.
    let saves: Vec<Value> = (1..=200)
        .map(|v| json!({"account_id": id, "version": v, "state": state(v as u32)}))
        .collect();
    let (s, r) = save(&app, Value::Array(saves)).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(r["results"].as_array().unwrap().len(), 200);
});
