//! `/internal/v1/*`: the service secret, the shard directory, ownership leases and
//! compare-and-swap saves.

use crate::both_backends;
use crate::common::*;
use harvest_sidecar::db::now_secs;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// A state told apart by `n` (its farm's expansions). The plots are in the shape saves had
/// before tilling and watering periods, which still load.
fn state(n: u32) -> Value {
    json!({"zone": "meadow", "farm": {"plots": ["Empty", {"Growing": {"crop": "radish", "planted_at": 1, "ripe_at": 2, "watered": false}}], "expansions": n}})
}

fn save_of(account: i64, epoch: i64, base: i64, n: u32) -> Value {
    json!({"account_id": account, "epoch": epoch, "base_version": base, "state": state(n)})
}

both_backends!(internal_routes_need_the_service_secret, |app| {
    for secret in [None, Some("00".repeat(32)), Some("zz".into())] {
        let mut req = app.http.post(format!("{}/internal/v1/shards", app.url)).json(&json!({"shard_id":"x","address":"127.0.0.1:1","zones":["meadow"],"content_version": "v", "incarnation": 1}));
        if let Some(s) = &secret {
            req = req.bearer_auth(s);
        }
        let (s, body) = read(req.send().await.unwrap()).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        assert_error(&body, "unauthorized");
    }
    let r = app
        .http
        .post(format!("{}/internal/v1/players/1/lease", app.url))
        .json(&json!({"shard_id": "a"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // A player's access token is not a service secret.
    let t = app.user("pete").await;
    let (s, _) = app
        .post_auth(
            "/internal/v1/players/1/lease",
            t["access_token"].as_str().unwrap(),
            Some(json!({"shard_id": "a"})),
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
});

both_backends!(shard_registration_is_validated, |app| {
    for (body, field) in [
        (
            json!({"shard_id": "", "address": "127.0.0.1:1", "zones": ["meadow"], "content_version": "v", "incarnation": 1}),
            "shard_id",
        ),
        (
            json!({"shard_id": "a/b", "address": "127.0.0.1:1", "zones": ["meadow"], "content_version": "v", "incarnation": 1}),
            "shard_id",
        ),
        (
            json!({"shard_id": "s", "address": "not-an-addr", "zones": ["meadow"], "content_version": "v", "incarnation": 1}),
            "address",
        ),
        (
            json!({"shard_id": "s", "address": "127.0.0.1:1", "zones": [], "content_version": "v", "incarnation": 1}),
            "zones",
        ),
        (
            json!({"shard_id": "s", "address": "127.0.0.1:1", "zones": ["atlantis"], "content_version": "v", "incarnation": 1}),
            "zones",
        ),
    ] {
        let (s, b) = app.internal("/internal/v1/shards", body.clone()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(b["field"], field);
    }
});

both_backends!(leases_grow_the_epoch_and_saves_compare_and_swap, |app| {
    let t = app.user("quinn").await;
    let id = t["account_id"].as_i64().unwrap();
    let lease = app.lease(id, "shard-a").await;
    assert_eq!(
        (&lease["epoch"], &lease["version"], lease["state"].is_null()),
        (&json!(1), &json!(0), true)
    );

    let (s, r) = app.save("shard-a", json!([save_of(id, 1, 0, 10)])).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["results"][0]["outcome"], "saved");
    assert_eq!(r["results"][0]["stored_version"], 1);
    // The same save again (a retry after a lost answer) is a duplicate: nothing changes.
    let (_, r) = app.save("shard-a", json!([save_of(id, 1, 0, 10)])).await;
    assert_eq!(r["results"][0]["outcome"], "duplicate");
    // Other content on the same base is not a retry: refused.
    let (_, r) = app.save("shard-a", json!([save_of(id, 1, 0, 11)])).await;
    assert_eq!(r["results"][0]["outcome"], "stale_version");
    let (_, r) = app.save("shard-a", json!([save_of(id, 1, 1, 20)])).await;
    assert_eq!(r["results"][0]["outcome"], "saved");

    // Another shard loads the player: a new epoch, and it sees the newest state.
    let lease_b = app.lease(id, "shard-b").await;
    assert_eq!(
        (&lease_b["epoch"], &lease_b["version"]),
        (&json!(2), &json!(2))
    );
    assert_eq!(lease_b["state"]["farm"]["expansions"], 20);
    // The old owner can no longer save, whatever version it claims.
    for base in [1, 2] {
        let (_, r) = app.save("shard-a", json!([save_of(id, 1, base, 99)])).await;
        assert_eq!(r["results"][0]["outcome"], "stale_epoch", "base {base}");
        assert_eq!(r["results"][0]["stored_epoch"], 2);
    }
    // Nor can it reuse the new epoch under its own name.
    let (_, r) = app.save("shard-a", json!([save_of(id, 2, 2, 99)])).await;
    assert_eq!(r["results"][0]["outcome"], "stale_epoch");
    let (_, r) = app.save("shard-b", json!([save_of(id, 2, 2, 30)])).await;
    assert_eq!(r["results"][0]["outcome"], "saved");

    // Unknown and never-leased accounts are refused.
    let other = app.user("quentin").await["account_id"].as_i64().unwrap();
    let (_, r) = app
        .save(
            "shard-b",
            json!([save_of(424242, 1, 0, 1), save_of(other, 1, 0, 1)]),
        )
        .await;
    assert_eq!(r["results"][0]["outcome"], "unknown_account");
    assert_eq!(r["results"][1]["outcome"], "unknown_account");

    // The player sees the stored state in /v1/players/me.
    let (_, me) = app
        .get_auth("/v1/players/me", t["access_token"].as_str().unwrap())
        .await;
    // Holdings come from the ledger (opened with content's start at the first lease).
    let start = &app.sidecar().state.cfg.content.economy;
    assert_eq!(me["inventory"]["coins"], start.start_coins);
    assert_eq!(
        me["inventory"]["items"]["radish_seed"],
        start.start_items[&"radish_seed".into()]
    );
    assert_eq!(me["farm"]["plots"], 2);
    assert_eq!(me["farm"]["ripe"], 1);
    assert_eq!(me["state_version"], 3);

    // A lease of an account that does not exist is a 404.
    let (s, b) = app
        .internal(
            "/internal/v1/players/424242/lease",
            json!({"shard_id": "shard-a"}),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_error(&b, "not_found");
});

both_backends!(a_lease_asked_if_free_never_takes_a_held_player, |app| {
    let id = app.user("ivy").await["account_id"].as_i64().unwrap();
    let if_free = |shard: &str| json!({"shard_id": shard, "if_free": true});
    let path = format!("/internal/v1/players/{id}/lease");
    // Never leased: free.
    let (s, lease) = app.internal(&path, if_free("shard-a")).await;
    assert_eq!(s, StatusCode::OK, "{lease}");
    assert_eq!(lease["epoch"], 1);
    // Held by shard-a: shard-b may not take it this way, and nothing changes.
    let (s, b) = app.internal(&path, if_free("shard-b")).await;
    assert_eq!(s, StatusCode::CONFLICT, "{b}");
    assert_error(&b, "conflict");
    let (_, r) = app.save("shard-a", json!([save_of(id, 1, 0, 3)])).await;
    assert_eq!(r["results"][0]["outcome"], "saved", "shard-a still owns it");
    // The holder itself may (a new epoch), and an unconditional lease always may.
    let (s, lease) = app.internal(&path, if_free("shard-a")).await;
    assert_eq!((s, &lease["epoch"]), (StatusCode::OK, &json!(2)));
    assert_eq!(app.lease(id, "shard-b").await["epoch"], 3);
    // Released (the last save of a journey): free again.
    let mut release = save_of(id, 3, 1, 4);
    release["release"] = json!(true);
    let (_, r) = app.save("shard-b", json!([release])).await;
    assert_eq!(r["results"][0]["outcome"], "saved");
    let (s, lease) = app.internal(&path, if_free("shard-c")).await;
    assert_eq!(
        (s, &lease["epoch"], &lease["version"]),
        (StatusCode::OK, &json!(4), &json!(2))
    );
    // No such account: 404 either way.
    let (s, _) = app
        .internal("/internal/v1/players/424242/lease", if_free("shard-a"))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
});

both_backends!(save_batches_are_validated, |app| {
    let id = app.user("rosa").await["account_id"].as_i64().unwrap();
    app.lease(id, "s").await;
    for (saves, why) in [
        (json!([save_of(id, 0, 0, 1)]), "epoch 0"),
        (json!([save_of(id, 1, -1, 1)]), "negative base"),
        (
            json!([save_of(id, 1, 0, 1), save_of(id, 1, 1, 2)]),
            "one account twice",
        ),
        (
            json!([{"account_id": id, "epoch": 1, "base_version": 0, "state": {"zone": 1}}]),
            "bad state",
        ),
    ] {
        let (s, b) = app.save("s", saves).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{why}: {b}");
        assert_error(&b, "validation_failed");
    }
    let too_many: Vec<Value> = (0..=harvest_shared::api::MAX_SAVES_PER_BATCH as i64)
        .map(|i| save_of(i + 1000, 1, 0, 1))
        .collect();
    let (s, b) = app.save("s", Value::Array(too_many)).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(b["field"], "saves");
});

both_backends!(a_full_batch_saves_in_one_request, |app| {
    // Accounts straight in the database: 500 argon2 hashes would only slow the test down.
    let db = &app.sidecar().state.db;
    let mut saves = Vec::new();
    for i in 0..harvest_shared::api::MAX_SAVES_PER_BATCH {
        let harvest_sidecar::db::accounts::CreateAccount::Created(id) = db
            .create_account(&format!("bulk{i}"), "x", now_secs())
            .await
            .unwrap()
        else {
            panic!("fresh name")
        };
        app.lease(id, "bulk").await;
        saves.push(save_of(id, 1, 0, (i % 250) as u32));
    }
    let (s, r) = app.save("bulk", Value::Array(saves)).await;
    assert_eq!(s, StatusCode::OK);
    let results = r["results"].as_array().unwrap();
    assert_eq!(results.len(), harvest_shared::api::MAX_SAVES_PER_BATCH);
    assert!(results.iter().all(|r| r["outcome"] == "saved"));
});

both_backends!(concurrent_leases_get_distinct_epochs, |app| {
    let id = app.user("sven").await["account_id"].as_i64().unwrap();
    let mut tasks = Vec::new();
    for i in 0..10 {
        let (http, url, secret) = (
            app.http.clone(),
            app.internal_url.clone(),
            app.service_secret.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let r = http
                .post(format!("{url}/internal/v1/players/{id}/lease"))
                .bearer_auth(secret)
                .json(&json!({ "shard_id": format!("s{i}") }))
                .send()
                .await
                .unwrap();
            read(r).await.1["epoch"].as_i64().unwrap()
        }));
    }
    let mut epochs = Vec::new();
    for t in tasks {
        epochs.push(t.await.unwrap());
    }
    epochs.sort();
    assert_eq!(epochs, (1..=10).collect::<Vec<_>>());
});

both_backends!(
    me_of_a_player_never_saved_shows_the_content_start_state,
    |app| {
        let t = app.user("tess").await;
        let content = harvest_shared::content::Content::load(content_dir()).unwrap();
        let (s, me) = app
            .get_auth("/v1/players/me", t["access_token"].as_str().unwrap())
            .await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(me["state_version"], 0);
        assert_eq!(me["inventory"]["coins"], content.economy.start_coins);
        assert_eq!(me["zone"], content.economy.start_zone.as_str());
        let plots = content.zones[&content.economy.start_zone].farm_plots;
        assert_eq!(me["farm"]["plots"], plots);
        assert_eq!(me["farm"]["empty"], plots);
        // A lease alone (no save yet) changes nothing the player sees.
        app.lease(t["account_id"].as_i64().unwrap(), "s").await;
        let (_, again) = app
            .get_auth("/v1/players/me", t["access_token"].as_str().unwrap())
            .await;
        assert_eq!(again, me);
    }
);

both_backends!(logout_ends_the_game_session_on_the_owning_shard, |app| {
    let t = app.user("ursula").await;
    let id = t["account_id"].as_i64().unwrap();
    let heartbeat = |shard: &'static str| {
        let app = &app;
        async move {
            let (s, b) = app
                .internal(
                    "/internal/v1/shards",
                    json!({"shard_id": shard, "address": "127.0.0.1:9", "zones": ["meadow"], "content_version": "v", "incarnation": 1}),
                )
                .await;
            assert_eq!(s, StatusCode::OK, "{b}");
            b["end_sessions"].clone()
        }
    };
    assert_eq!(heartbeat("owner").await, json!([]));
    app.lease(id, "owner").await;
    assert_eq!(
        app.post_auth("/v1/auth/logout", t["access_token"].as_str().unwrap(), None)
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    // Only the owner hears of it, exactly once.
    assert_eq!(heartbeat("bystander").await, json!([]));
    assert_eq!(heartbeat("owner").await, json!([id]));
    assert_eq!(heartbeat("owner").await, json!([]));
    // A player the shard let go (released lease) is not asked for again.
    let (_, r) = app
        .save(
            "owner",
            json!([{"account_id": id, "epoch": 1, "base_version": 0, "state": state(5), "release": true}]),
        )
        .await;
    assert_eq!(r["results"][0]["outcome"], "saved");
    let t2 = app.login("ursula", "password123").await.1;
    app.post_auth(
        "/v1/auth/logout",
        t2["access_token"].as_str().unwrap(),
        None,
    )
    .await;
    assert_eq!(heartbeat("owner").await, json!([]));
});
