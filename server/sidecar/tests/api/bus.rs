//! The bus routes: presence kept from the shards' events, operators' announcements published
//! to every shard, and `/metrics`. The sidecar gets an in-process bus here (the all-in-one's);
//! the NATS transport itself is tested in `harvest_ops::bus` and end to end in the shard's
//! `zones_e2e`.

use crate::both_backends;
use crate::common::*;
use harvest_ops::bus::Bus;
use harvest_shared::events::{Announcement, Event, EventKind};
use harvest_shared::ids::{AccountId, ZoneId};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;

async fn bus_of(app: &TestApp) -> Bus {
    for _ in 0..100 {
        if let Some(bus) = app.sidecar().state.bus.get() {
            return bus.clone();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the sidecar never took its bus");
}

async fn publish(bus: &Bus, shard: &str, kind: EventKind) {
    let e = Event {
        at_ms: 1,
        shard: shard.into(),
        kind,
    };
    bus.publish(e.subject(), serde_json::to_vec(&e).unwrap().into())
        .await
        .unwrap();
}

/// Presence follows the bus asynchronously: ask until `check` holds.
async fn eventually(
    app: &TestApp,
    path: &str,
    token: &str,
    check: impl Fn(&Value) -> bool,
) -> Value {
    for _ in 0..100 {
        let (s, v) = app.get_auth(path, token).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        if check(&v) {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{path} never matched");
}

both_backends!(without_a_bus_presence_and_announcements_say_so, |app| {
    let p = app.user("walker").await;
    let token = p["access_token"].as_str().unwrap();
    let (s, body) = app.get_auth("/v1/presence", token).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_error(&body, "bus_unavailable");
    let op = app.operator("operator").await;
    let (s, body) = app
        .post_auth("/v1/admin/announce", &op, Some(json!({"text": "hi"})))
        .await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_error(&body, "bus_unavailable");
});

both_backends!(
    presence_and_announcements_ride_the_bus,
    |cfg| {
        cfg.bus = Some(Bus::local());
    },
    |app| {
        let bus = bus_of(&app).await;
        let mut heard = bus.subscribe("harvest.announce").await.unwrap();
        let walker = app.user("walker").await;
        let token = walker["access_token"].as_str().unwrap();
        let id = AccountId(walker["account_id"].as_i64().unwrap());
        let (s, _) = app.get("/v1/presence").await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);

        // A login on s0, then a handoff to s1 (its login before s0's logout).
        publish(
            &bus,
            "s0",
            EventKind::PlayerLogin {
                player: id,
                zone: ZoneId::new("meadow"),
            },
        )
        .await;
        let v = eventually(&app, "/v1/presence", token, |v| v["online"] == 1).await;
        assert_eq!(v["shards"][0]["shard_id"], "s0", "{v}");
        assert_eq!(v["shards"][0]["zones"]["meadow"], 1, "{v}");
        publish(
            &bus,
            "s0",
            EventKind::ZoneChanged {
                player: id,
                from: ZoneId::new("meadow"),
                to: ZoneId::new("riverside"),
            },
        )
        .await;
        publish(
            &bus,
            "s1",
            EventKind::PlayerLogin {
                player: id,
                zone: ZoneId::new("riverside"),
            },
        )
        .await;
        publish(&bus, "s0", EventKind::PlayerLogout { player: id }).await;
        let me = eventually(&app, "/v1/presence/Walker", token, |v| {
            v["shard_id"] == "s1"
        })
        .await;
        assert_eq!(
            me,
            json!({"online": true, "shard_id": "s1", "zone": "riverside"})
        );
        let (s, _) = app.get_auth("/v1/presence/nobody", token).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        publish(&bus, "s1", EventKind::ShardDown { incarnation: 7 }).await;
        eventually(&app, "/v1/presence/walker", token, |v| v["online"] == false).await;

        // Announcements: operators only, 1-500 bytes, then on the bus for every shard.
        let (s, _) = app
            .post_auth("/v1/admin/announce", token, Some(json!({"text": "hi"})))
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let op = app.operator("operator").await;
        let op = op.as_str();
        for bad in [
            json!({"text": "   "}),
            json!({"text": "x".repeat(501)}),
            json!({"text": "hi", "extra": 1}),
        ] {
            let (s, body) = app.post_auth("/v1/admin/announce", op, Some(bad)).await;
            assert!(
                s == StatusCode::UNPROCESSABLE_ENTITY || s == StatusCode::BAD_REQUEST,
                "{s} {body}"
            );
        }
        let (s, _) = app
            .post_auth(
                "/v1/admin/announce",
                op,
                Some(json!({"text": " Harvest festival at noon "})),
            )
            .await;
        assert_eq!(s, StatusCode::ACCEPTED);
        let m = tokio::time::timeout(Duration::from_secs(5), heard.next())
            .await
            .unwrap()
            .unwrap();
        let a: Announcement = serde_json::from_slice(&m.payload).unwrap();
        assert_eq!(a.text, "Harvest festival at noon");

        // /metrics counts requests by route template (never by raw path).
        let text = app
            .http
            .get(format!("{}/metrics", app.internal_url))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
        text.contains("harvest_sidecar_http_requests_total{method=\"GET\",route=\"/v1/presence/{username}\",status=\"200\"}"),
        "{text}"
    );
        assert!(
            !text.contains("/v1/presence/walker"),
            "raw paths never become labels"
        );
    }
);
