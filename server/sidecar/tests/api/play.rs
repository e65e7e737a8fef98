use crate::both_backends;
use crate::common::*;
use base64::Engine as _;
use reqwest::StatusCode;
use serde_json::json;

async fn register_shard(app: &TestApp, address: &str, zones: &[&str]) -> StatusCode {
    let r = app
        .http
        .post(format!("{}/internal/v1/shards", app.url))
        .bearer_auth(&app.service_secret)
        .json(&json!({"shard_id": "s1", "address": address, "zones": zones, "content_version": "abc123", "incarnation": 1}))
        .send()
        .await
        .unwrap();
    r.status()
}

both_backends!(play_without_shard_is_503, |app| {
    let t = app.user("lena").await;
    let (s, body) = app
        .post_auth("/v1/play", t["access_token"].as_str().unwrap(), None)
        .await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
    assert_error(&body, "no_shard");
});

both_backends!(play_mints_fresh_connect_tokens, |app| {
    assert_eq!(
        register_shard(&app, "127.0.0.1:5999", &["meadow"]).await,
        StatusCode::OK
    );
    let t = app.user("mona").await;
    let access = t["access_token"].as_str().unwrap();
    let (s, p1) = app.post_auth("/v1/play", access, None).await;
    assert_eq!(s, StatusCode::OK, "{p1}");
    assert_eq!(p1["server_addr"], "127.0.0.1:5999");
    assert_eq!(p1["zone"], "meadow");
    assert_eq!(p1["content_version"], "abc123");
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(p1["connect_token"].as_str().unwrap())
        .unwrap();
    assert_eq!(bytes.len(), 2048);
    let token =
        lightyear_netcode::ConnectToken::try_from_bytes(&bytes).expect("a real netcode token");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let expires = token.expire_timestamp();
    assert!(
        expires > now && expires <= now + 31,
        "expiry {expires} vs now {now}"
    );
    let (_, p2) = app.post_auth("/v1/play", access, None).await;
    assert_ne!(p1["connect_token"], p2["connect_token"]);
    // Without a token: 401.
    let r = app
        .http
        .post(format!("{}/v1/play", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
});

both_backends!(
    stale_shards_are_not_used,
    |cfg| {
        cfg.shard_ttl_secs = 1;
    },
    |app| {
        register_shard(&app, "127.0.0.1:5999", &["meadow"]).await;
        let t = app.user("nora").await;
        let access = t["access_token"].as_str().unwrap();
        assert_eq!(
            app.post_auth("/v1/play", access, None).await.0,
            StatusCode::OK
        );
        tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
        assert_eq!(
            app.post_auth("/v1/play", access, None).await.0,
            StatusCode::SERVICE_UNAVAILABLE
        );
    }
);

both_backends!(me_reports_profile, |app| {
    let t = app.user("Olga").await;
    let (s, me) = app
        .get_auth("/v1/players/me", t["access_token"].as_str().unwrap())
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(me["username"], "Olga");
    assert_eq!(me["account_id"], t["account_id"]);
    assert_eq!(me["state_version"], 0);
    assert_eq!(me["zone"], "meadow");
    assert!(me["inventory"].is_object() && me["farm"].is_object());
});

both_backends!(draining_shard_leaves_the_directory, |app| {
    register_shard(&app, "127.0.0.1:5999", &["meadow"]).await;
    let t = app.user("otto").await;
    let access = t["access_token"].as_str().unwrap();
    assert_eq!(
        app.post_auth("/v1/play", access, None).await.0,
        StatusCode::OK
    );
    let del = |secret: Option<String>| {
        let mut req = app
            .http
            .delete(format!("{}/internal/v1/shards/s1", app.url));
        if let Some(s) = secret {
            req = req.bearer_auth(s);
        }
        async move { req.send().await.unwrap().status() }
    };
    assert_eq!(del(None).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        del(Some(app.service_secret.clone())).await,
        StatusCode::NO_CONTENT
    );
    let (s, body) = app.post_auth("/v1/play", access, None).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
    assert_error(&body, "no_shard");
    assert_eq!(
        del(Some(app.service_secret.clone())).await,
        StatusCode::NOT_FOUND
    );
});
