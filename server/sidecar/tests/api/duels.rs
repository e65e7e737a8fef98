//! Card duels' results: `POST /internal/v1/matches` rates both players, stores the record and
//! pays both rewards through the ledger in one commit (a repeat changes nothing);
//! `GET /internal/v1/matches/{id}` returns the whole record; `GET /v1/leaderboard` and
//! `GET /v1/matches` read them back.

use crate::both_backends;
use crate::common::*;
use harvest_shared::api::MatchReport;
use harvest_shared::content::Content;
use harvest_shared::duel::policy::sensible_move;
use harvest_shared::duel::{Duel, LogEntry, deck_hash};
use harvest_shared::ids::{AccountId, CardId};
use harvest_shared::time::Tick;
use reqwest::StatusCode;
use serde_json::Value;

/// A real duel between two starter decks, played out by the bot policy, as a shard reports it.
fn played(id: &str, a: i64, b: i64, content: &Content) -> MatchReport {
    let deck: Vec<CardId> = content
        .economy
        .start_cards
        .iter()
        .flat_map(|(c, n)| std::iter::repeat_n(c.clone(), *n as usize))
        .collect();
    let started = Tick(1_000);
    let mut duel = Duel::new(
        7,
        content.duel.clone(),
        [deck.clone(), deck.clone()],
        started,
    );
    let mut log = Vec::new();
    let mut now = started;
    while duel.outcome.is_none() {
        now = now.saturating_add(5);
        let side = duel.active;
        let action = sensible_move(&duel, content, now).expect("a move while not over");
        duel.apply(side, &action, content, now)
            .expect("the policy plays legal moves");
        log.push(LogEntry::Act {
            side,
            action,
            at: now,
        });
    }
    MatchReport {
        match_id: id.into(),
        shard_id: "shard-a".into(),
        players: [AccountId(a), AccountId(b)],
        decks: [deck.clone(), deck.clone()],
        deck_hashes: [deck_hash(&deck), deck_hash(&deck)],
        seed: 7,
        rules: content.duel.clone(),
        content_version: content.version.clone(),
        started,
        log,
        outcome: duel.outcome.unwrap(),
        final_hash: duel.state_hash(),
        rewards: [30, 10],
    }
}

async fn record(app: &TestApp, report: &MatchReport) -> (StatusCode, Value) {
    app.internal(
        "/internal/v1/matches",
        serde_json::to_value(report).unwrap(),
    )
    .await
}

fn coins_of(ledger: &Value, kind: &str) -> i64 {
    ledger["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == kind)
        .map(|e| e["delta"]["coins"].as_i64().unwrap_or(0))
        .sum()
}

both_backends!(a_match_is_rated_recorded_and_paid_once, |app| {
    let content = app.sidecar().state.cfg.content.clone();
    let (ta, tb) = (app.user("ana").await, app.user("bob").await);
    let (a, b) = (
        ta["account_id"].as_i64().unwrap(),
        tb["account_id"].as_i64().unwrap(),
    );
    // Both are leased (their ledgers open) as on a shard; a new player's rating is 1500.
    let lease = app.lease(a, "shard-a").await;
    assert_eq!(lease["rating"]["rating"], 1500.0);
    app.lease(b, "shard-a").await;

    let report = played("m-test-1", a, b, &content);
    let (s, settled) = record(&app, &report).await;
    assert_eq!(s, StatusCode::OK, "{settled}");
    let (before, after) = (&settled["ratings_before"], &settled["ratings_after"]);
    assert_eq!(before[0]["rating"], 1500.0);
    let winner = match report.outcome {
        harvest_shared::duel::Outcome::Won(harvest_shared::duel::Side::A) => 0,
        harvest_shared::duel::Outcome::Won(harvest_shared::duel::Side::B) => 1,
        harvest_shared::duel::Outcome::Draw => panic!("the policy's mirror match is decisive"),
    };
    assert!(
        after[winner]["rating"].as_f64().unwrap() > 1500.0,
        "{settled}"
    );
    assert!(
        after[1 - winner]["rating"].as_f64().unwrap() < 1500.0,
        "{settled}"
    );

    // A repeat (a shard retrying after a lost answer) returns the same and pays nothing more.
    let (s, again) = record(&app, &report).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(again, settled);
    let token_a = ta["access_token"].as_str().unwrap();
    let (_, ledger) = app.get_auth("/v1/players/me/ledger", token_a).await;
    let paid = coins_of(&ledger, "duel_reward");
    assert_eq!(paid, if winner == 0 { 30 } else { 10 }, "{ledger}");
    // The next lease carries the new rating.
    let lease = app.lease(a, "shard-a").await;
    assert_eq!(lease["rating"], after[0]);

    // The whole record, for replays.
    let r = app
        .http
        .get(format!("{}/internal/v1/matches/m-test-1", app.internal_url))
        .bearer_auth(&app.service_secret)
        .send()
        .await
        .unwrap();
    let (s, rec) = read(r).await;
    assert_eq!(s, StatusCode::OK);
    let rec: harvest_shared::api::MatchRecord = serde_json::from_value(rec).unwrap();
    assert_eq!(rec.report, report);
    let r = app
        .http
        .get(format!("{}/internal/v1/matches/nope", app.internal_url))
        .bearer_auth(&app.service_secret)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    // History: the match with the opponent, the result and the rating change.
    let (s, page) = app.get_auth("/v1/matches?player=me&limit=5", token_a).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    let m = &page["matches"][0];
    assert_eq!(m["match_id"], "m-test-1");
    assert_eq!(m["opponent"], b);
    assert_eq!(m["opponent_name"], "bob");
    assert_eq!(m["result"], if winner == 0 { "win" } else { "loss" });
    assert_eq!(m["rating_before"], 1500.0);
    assert_eq!(m["rating_after"], after[0]["rating"]);
    // Another player's history by account id.
    let (_, theirs) = app
        .get_auth(&format!("/v1/matches?player={b}"), token_a)
        .await;
    assert_eq!(theirs["matches"][0]["opponent"], a);

    // Leaderboard: both ranked, the winner first.
    let (s, board) = app.get_auth("/v1/leaderboard?limit=10", token_a).await;
    assert_eq!(s, StatusCode::OK, "{board}");
    assert_eq!(board["total"], 2);
    assert_eq!(board["entries"][0]["account_id"], report.players[winner].0);
    assert_eq!(board["entries"][0]["rank"], 1);
    assert_eq!(board["entries"][0]["wins"], 1);
    assert_eq!(board["entries"][1]["losses"], 1);
    let (s, around) = app
        .get_auth("/v1/leaderboard?limit=1&around=me", token_a)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(around["entries"][0]["account_id"], a, "{around}");
    assert_eq!(
        around["entries"][0]["rank"],
        if winner == 0 { 1 } else { 2 }
    );
});

both_backends!(bad_match_reports_and_queries_are_refused, |app| {
    let content = app.sidecar().state.cfg.content.clone();
    let ta = app.user("cara").await;
    let tb = app.user("dan").await;
    let (a, b) = (
        ta["account_id"].as_i64().unwrap(),
        tb["account_id"].as_i64().unwrap(),
    );
    let token = ta["access_token"].as_str().unwrap();
    let good = played("m-test-2", a, b, &content);

    let mut r = good.clone();
    r.deck_hashes[1] = "00".into();
    let (s, body) = record(&app, &r).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["field"], "deck_hashes", "{body}");
    let mut r = good.clone();
    r.players = [AccountId(a), AccountId(a)];
    assert_eq!(record(&app, &r).await.0, StatusCode::UNPROCESSABLE_ENTITY);
    let mut r = good.clone();
    r.match_id = "has spaces".into();
    assert_eq!(record(&app, &r).await.0, StatusCode::UNPROCESSABLE_ENTITY);
    let mut r = good.clone();
    r.players[1] = AccountId(999_999);
    assert_eq!(record(&app, &r).await.0, StatusCode::NOT_FOUND);
    // Nothing was rated by the refusals.
    let (_, board) = app.get_auth("/v1/leaderboard", token).await;
    assert_eq!(board["total"], 0, "{board}");
    // The same id with other players is a conflict, not a silent overwrite.
    assert_eq!(record(&app, &good).await.0, StatusCode::OK);
    let mut r = good.clone();
    r.players = [AccountId(b), AccountId(a)];
    let (s, body) = record(&app, &r).await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_error(&body, "conflict");

    for q in ["limit=0", "limit=101", "limit=x", "around=you"] {
        let (s, body) = app.get_auth(&format!("/v1/leaderboard?{q}"), token).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{q}: {body}");
        assert_error(&body, "validation_failed");
    }
    for q in ["limit=0", "player=bob"] {
        let (s, _) = app.get_auth(&format!("/v1/matches?{q}"), token).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{q}");
    }
    assert_eq!(app.get("/v1/leaderboard").await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(app.get("/v1/matches").await.0, StatusCode::UNAUTHORIZED);
    // Without the service secret, nothing is recorded.
    let r = app
        .http
        .post(format!("{}/internal/v1/matches", app.internal_url))
        .json(&serde_json::to_value(&good).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
});
