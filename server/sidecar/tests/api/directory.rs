//! The shard directory at scale: one shard per zone under a lease, hand-over when a shard
//! leaves, lapse when it dies, the operators' view and drain request, and handoff tokens.

use crate::both_backends;
use crate::common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// One heartbeat of `shard` (incarnation `inc`) offering `zones`: status and answer.
async fn beat(app: &TestApp, shard: &str, inc: i64, zones: &[&str]) -> (StatusCode, Value) {
    app.internal(
        "/internal/v1/shards",
        json!({"shard_id": shard, "address": format!("127.0.0.1:{}", 5000 + inc), "zones": zones,
               "content_version": "v", "players": 3, "capacity": 100, "incarnation": inc}),
    )
    .await
}

/// The zones a heartbeat answer says the shard hosts, with their epochs.
fn hosted(answer: &Value) -> Vec<(String, i64)> {
    answer["hosted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["zone"].as_str().unwrap().to_owned(),
                g["epoch"].as_i64().unwrap(),
            )
        })
        .collect()
}

async fn leave(app: &TestApp, shard: &str) -> StatusCode {
    app.http
        .delete(format!("{}/internal/v1/shards/{shard}", app.internal_url))
        .bearer_auth(&app.service_secret)
        .send()
        .await
        .unwrap()
        .status()
}

async fn play_addr(app: &TestApp, access: &str) -> (StatusCode, Value) {
    app.post_auth("/v1/play", access, None).await
}

both_backends!(a_zone_is_hosted_by_one_shard_at_a_time, |app| {
    let (s, a) = beat(&app, "a", 1, &["meadow", "riverside"]).await;
    assert_eq!(s, StatusCode::OK, "{a}");
    assert_eq!(hosted(&a), [("meadow".into(), 1), ("riverside".into(), 1)]);
    // A second shard offering meadow does not get it while `a` holds it.
    let (_, b) = beat(&app, "b", 2, &["meadow", "arena"]).await;
    assert_eq!(hosted(&b), [("arena".into(), 1)]);
    // Renewals keep the epoch.
    let (_, a) = beat(&app, "a", 1, &["meadow", "riverside"]).await;
    assert_eq!(hosted(&a), [("meadow".into(), 1), ("riverside".into(), 1)]);
    let t = app.user("router").await;
    let access = t["access_token"].as_str().unwrap();
    let (s, p) = play_addr(&app, access).await;
    assert_eq!(s, StatusCode::OK, "{p}");
    assert_eq!(
        (p["server_addr"].as_str(), p["shard_id"].as_str()),
        (Some("127.0.0.1:5001"), Some("a"))
    );
    assert_eq!(a["live_zones"], json!(["arena", "meadow", "riverside"]));
    // Only the registered process may leave when it names itself: a late call from another
    // incarnation changes nothing (and a malformed one is refused).
    let leave_as = |q: &'static str| {
        let app = &app;
        async move {
            app.http
                .delete(format!("{}/internal/v1/shards/a?{q}", app.internal_url))
                .bearer_auth(&app.service_secret)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(leave_as("incarnation=9").await, StatusCode::NOT_FOUND);
    assert_eq!(
        leave_as("incarnation=x").await,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let (_, p) = play_addr(&app, access).await;
    assert_eq!(p["shard_id"], "a", "{p}");
    // `a` leaves: meadow passes to `b` at once, with a new epoch; riverside, which nobody
    // else offers, is hosted by nobody.
    assert_eq!(leave_as("incarnation=1").await, StatusCode::NO_CONTENT);
    let (_, p) = play_addr(&app, access).await;
    assert_eq!(p["shard_id"], "b", "{p}");
    let (_, b) = beat(&app, "b", 2, &["meadow", "arena"]).await;
    assert_eq!(hosted(&b), [("arena".into(), 1), ("meadow".into(), 2)]);
    assert_eq!(b["live_zones"], json!(["arena", "meadow"]));
    // The incarnation that left cannot come back by a late heartbeat...
    let (s, body) = beat(&app, "a", 1, &["meadow", "riverside"]).await;
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    assert_error(&body, "conflict");
    // ...but the restarted process registers afresh and takes what is free.
    let (s, a) = beat(&app, "a", 3, &["meadow", "riverside"]).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(hosted(&a), [("riverside".into(), 3)]);
    // A shard that stops offering a zone hands it on.
    let (_, b) = beat(&app, "b", 2, &["arena"]).await;
    assert_eq!(hosted(&b), [("arena".into(), 1)]);
    let (_, a) = beat(&app, "a", 3, &["meadow", "riverside"]).await;
    assert_eq!(hosted(&a), [("meadow".into(), 3), ("riverside".into(), 3)]);
});

both_backends!(
    a_dead_shards_zones_lapse_to_another,
    |cfg| {
        cfg.shard_ttl_secs = 1;
    },
    |app| {
        beat(&app, "dies", 1, &["meadow"]).await;
        let (_, b) = beat(&app, "standby", 2, &["meadow"]).await;
        assert!(hosted(&b).is_empty());
        let t = app.user("patient").await;
        let access = t["access_token"].as_str().unwrap();
        assert_eq!(play_addr(&app, access).await.1["shard_id"], "dies");
        tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
        // Nobody renewed: 503 with Retry-After until a shard takes the zone.
        let r = app
            .http
            .post(format!("{}/v1/play", app.url))
            .bearer_auth(access)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(r.headers().get("retry-after").is_some());
        let (_, b) = beat(&app, "standby", 2, &["meadow"]).await;
        assert_eq!(hosted(&b), [("meadow".into(), 2)]);
        assert_eq!(play_addr(&app, access).await.1["shard_id"], "standby");
    }
);

both_backends!(the_directory_is_for_operators_only, |app| {
    beat(&app, "a", 1, &["meadow"]).await;
    beat(&app, "b", 2, &["meadow", "arena"]).await;
    let (s, _) = app.get("/v1/shards").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let player = app.user("player").await;
    let (s, body) = app
        .get_auth("/v1/shards", player["access_token"].as_str().unwrap())
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_error(&body, "forbidden");
    let op = app.user("operator").await;
    assert!(
        app.sidecar()
            .state
            .db
            .set_admin("Operator", true)
            .await
            .unwrap()
    );
    let access = op["access_token"].as_str().unwrap();
    let (s, view) = app.get_auth("/v1/shards", access).await;
    assert_eq!(s, StatusCode::OK, "{view}");
    let shards = view["shards"].as_array().unwrap();
    assert_eq!(shards.len(), 2);
    assert_eq!(shards[0]["shard_id"], "a");
    assert_eq!(shards[0]["state"], "running");
    assert_eq!(shards[0]["players"], 3);
    assert_eq!(shards[0]["capacity"], 100);
    assert_eq!(shards[0]["hosts"], json!([{"zone": "meadow", "epoch": 1}]));
    assert_eq!(shards[1]["offers"], json!(["arena", "meadow"]));
    let zones: Vec<(String, Value)> = view["zones"]
        .as_array()
        .unwrap()
        .iter()
        .map(|z| {
            (
                z["zone"].as_str().unwrap().to_owned(),
                z["shard_id"].clone(),
            )
        })
        .collect();
    assert!(zones.contains(&("riverside".into(), Value::Null)), "{view}");
    assert!(zones.contains(&("meadow".into(), json!("a"))), "{view}");
    // Drain `a`: it learns at its next heartbeat, takes nothing new, and once it leaves its
    // zone goes to `b`.
    let drain = |shard: &'static str| {
        let app = &app;
        async move {
            app.post_auth(&format!("/v1/admin/shards/{shard}/drain"), access, None)
                .await
        }
    };
    assert_eq!(drain("nope").await.0, StatusCode::NOT_FOUND);
    assert_eq!(drain("a/b").await.0, StatusCode::NOT_FOUND);
    assert_eq!(drain("a").await.0, StatusCode::ACCEPTED);
    let (s, _) = app
        .post_auth(
            "/v1/admin/shards/a/drain",
            player["access_token"].as_str().unwrap(),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (_, a) = beat(&app, "a", 1, &["meadow"]).await;
    assert_eq!(a["drain"], true);
    assert_eq!(leave(&app, "a").await, StatusCode::NO_CONTENT);
    let (_, view) = app.get_auth("/v1/shards", access).await;
    assert_eq!(view["shards"][0]["state"], "draining");
    assert_eq!(
        view["shards"][1]["hosts"].as_array().unwrap().len(),
        2,
        "{view}"
    );
    // A revoked operator is a player again.
    assert!(
        app.sidecar()
            .state
            .db
            .set_admin("operator", false)
            .await
            .unwrap()
    );
    assert_eq!(
        app.get_auth("/v1/shards", access).await.0,
        StatusCode::FORBIDDEN
    );
});

both_backends!(a_handoff_token_goes_to_the_zones_holder, |app| {
    beat(&app, "a", 1, &["meadow"]).await;
    beat(&app, "b", 2, &["riverside"]).await;
    let t = app.user("traveller").await;
    let id = t["account_id"].as_i64().unwrap();
    let handoff = |zone: &'static str| {
        let app = &app;
        async move {
            app.internal(
                &format!("/internal/v1/players/{id}/handoff"),
                json!({"shard_id": "a", "zone": zone}),
            )
            .await
        }
    };
    // Never saved: the journey's save has not landed.
    let (s, body) = handoff("riverside").await;
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    let lease = app.lease(id, "a").await;
    let save = json!({"account_id": id, "epoch": lease["epoch"], "base_version": 0, "release": true,
        "state": {"zone": "riverside", "farm": {"plots": [], "expansions": 0}}});
    let (s, r) = app.save("a", json!([save])).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(r["results"][0]["outcome"], "saved", "{r}");
    // The stored zone is riverside, so a token for meadow is refused and one for riverside
    // points at `b`.
    assert_eq!(handoff("meadow").await.0, StatusCode::CONFLICT);
    let (s, p) = handoff("riverside").await;
    assert_eq!(s, StatusCode::OK, "{p}");
    assert_eq!(
        (p["shard_id"].as_str(), p["server_addr"].as_str()),
        (Some("b"), Some("127.0.0.1:5002"))
    );
    assert!(p["connect_token"].as_str().is_some_and(|t| t.len() > 2000));
    // Unknown zone or account; a zone nobody hosts.
    assert_eq!(
        handoff("atlantis").await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let (s, _) = app
        .internal(
            "/internal/v1/players/999999/handoff",
            json!({"shard_id": "a", "zone": "meadow"}),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(leave(&app, "b").await, StatusCode::NO_CONTENT);
    let (s, body) = handoff("riverside").await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
    assert_error(&body, "no_shard");
});
