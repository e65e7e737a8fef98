use crate::both_backends;
use crate::common::*;
use reqwest::StatusCode;
use serde_json::json;

both_backends!(register_creates_account, |app| {
    let (s, body) = app.register("Alice_1", "password123").await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    assert!(body["account_id"].as_i64().unwrap() > 0);
});

both_backends!(register_taken_ignores_case, |app| {
    assert_eq!(
        app.register("Bob", "password123").await.0,
        StatusCode::CREATED
    );
    let (s, body) = app.register("bOB", "otherpass99").await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_error(&body, "username_taken");
});

both_backends!(register_validates_fields, |app| {
    for bad in [
        "ab",
        "x".repeat(25).as_str(),
        "has space",
        "bad-dash",
        "émile",
        "",
    ] {
        let (s, body) = app.register(bad, "password123").await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "username {bad:?}");
        assert_error(&body, "validation_failed");
        assert_eq!(body["field"], "username");
    }
    for bad in ["short", "", &"p".repeat(129)] {
        let (s, body) = app.register("valid_name", bad).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(body["field"], "password");
    }
    // Boundaries are accepted.
    assert_eq!(app.register("abc", "12345678").await.0, StatusCode::CREATED);
    assert_eq!(
        app.register(&"z".repeat(24), &"p".repeat(128)).await.0,
        StatusCode::CREATED
    );
});

both_backends!(concurrent_registrations_one_winner, |app| {
    let mut tasks = Vec::new();
    for i in 0..10 {
        let (http, url) = (app.http.clone(), app.url.clone());
        let name = if i % 2 == 0 { "Racer" } else { "racer" };
        tasks.push(tokio::spawn(async move {
            http.post(format!("{url}/v1/auth/register"))
                .json(&json!({"username": name, "password": "password123"}))
                .send()
                .await
                .unwrap()
                .status()
        }));
    }
    let mut created = 0;
    let mut conflict = 0;
    for t in tasks {
        match t.await.unwrap() {
            StatusCode::CREATED => created += 1,
            StatusCode::CONFLICT => conflict += 1,
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!((created, conflict), (1, 9));
});

both_backends!(login_and_identical_failures, |app| {
    app.register("carol", "password123").await;
    let (s, body) = app.login("CAROL", "password123").await;
    assert_eq!(s, StatusCode::OK);
    for f in ["access_token", "refresh_token"] {
        assert!(
            body[f].as_str().is_some_and(|t| t.len() > 20),
            "{f}: {body}"
        );
    }
    assert!(body["expires_in"].as_u64().unwrap() > 0);
    assert!(body["account_id"].as_i64().unwrap() > 0);
    let (s1, unknown) = app.login("nobody", "password123").await;
    let (s2, wrong) = app.login("carol", "wrongpassword").await;
    assert_eq!(
        (s1, s2),
        (StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED)
    );
    assert_eq!(
        unknown, wrong,
        "unknown user and wrong password must look the same"
    );
    assert_error(&unknown, "invalid_credentials");
});

both_backends!(malformed_and_oversized_bodies, |app| {
    let post_raw = |body: Vec<u8>| {
        let (http, url) = (app.http.clone(), app.url.clone());
        async move {
            let r = http
                .post(format!("{url}/v1/auth/register"))
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            read(r).await
        }
    };
    let (s, body) = post_raw(b"{not json".to_vec()).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_error(&body, "malformed_json");
    let (s, body) = post_raw(br#"{"username": 5, "password": "password123"}"#.to_vec()).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_error(&body, "validation_failed");
    let (s, body) = post_raw(br#"{"username": "dave"}"#.to_vec()).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["field"], "password");
    let big = format!(
        r#"{{"username": "dave", "password": "{}"}}"#,
        "x".repeat(20_000)
    );
    let (s, body) = post_raw(big.into_bytes()).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
    assert_error(&body, "payload_too_large");
    // No content type at all still parses.
    let r = app
        .http
        .post(format!("{}/v1/auth/register", app.url))
        .body(r#"{"username":"eve_1","password":"password123"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
});

both_backends!(
    refresh_rotates_and_reuse_revokes_family,
    |cfg| {
        // Every second use counts as a theft here (no race window).
        cfg.refresh_reuse_grace_secs = 0;
    },
    |app| {
        let t = app.user("frank").await;
        let r1 = t["refresh_token"].as_str().unwrap().to_owned();
        let (s, t2) = app
            .post("/v1/auth/refresh", json!({"refresh_token": r1}))
            .await;
        assert_eq!(s, StatusCode::OK, "{t2}");
        let r2 = t2["refresh_token"].as_str().unwrap().to_owned();
        assert_ne!(r1, r2);
        let access2 = t2["access_token"].as_str().unwrap().to_owned();
        assert_eq!(
            app.get_auth("/v1/players/me", &access2).await.0,
            StatusCode::OK
        );
        // Reusing r1 revokes the whole family: r2 and the access tokens die too.
        let (s, body) = app
            .post("/v1/auth/refresh", json!({"refresh_token": r1}))
            .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        assert_error(&body, "refresh_token_reused");
        assert_eq!(
            app.post("/v1/auth/refresh", json!({"refresh_token": r2}))
                .await
                .0,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            app.get_auth("/v1/players/me", &access2).await.0,
            StatusCode::UNAUTHORIZED
        );
        // Garbage refresh tokens are just 401.
        assert_eq!(
            app.post("/v1/auth/refresh", json!({"refresh_token": "nope"}))
                .await
                .0,
            StatusCode::UNAUTHORIZED
        );
        // Another login is a new, independent session.
        assert_eq!(app.login("frank", "password123").await.0, StatusCode::OK);
    }
);

both_backends!(logout_revokes_session, |app| {
    let t = app.user("gina").await;
    let access = t["access_token"].as_str().unwrap();
    assert_eq!(
        app.post_auth("/v1/auth/logout", access, None).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.get_auth("/v1/players/me", access).await.0,
        StatusCode::UNAUTHORIZED
    );
    let (s, _) = app
        .post(
            "/v1/auth/refresh",
            json!({"refresh_token": t["refresh_token"]}),
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.post_auth("/v1/auth/logout", access, None).await.0,
        StatusCode::UNAUTHORIZED
    );
});

both_backends!(bad_access_tokens_are_401, |app| {
    let t = app.user("hank").await;
    let access = t["access_token"].as_str().unwrap();
    let mut tampered = access.to_owned();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    for bad in [tampered.as_str(), "garbage", "", "a.b.c"] {
        let (s, body) = app.get_auth("/v1/players/me", bad).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{bad}");
        assert_error(&body, "unauthorized");
    }
    // A token signed with another key.
    let other = harvest_sidecar::auth::tokens::TokenKeys::new(&[9; 32]);
    let forged = other
        .issue_access(
            t["account_id"].as_i64().unwrap(),
            "x",
            harvest_sidecar::db::now_secs() as u64,
            60,
        )
        .unwrap();
    assert_eq!(
        app.get_auth("/v1/players/me", &forged).await.0,
        StatusCode::UNAUTHORIZED
    );
    let r = app
        .http
        .get(format!("{}/v1/players/me", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
});

both_backends!(
    expired_access_token_is_401,
    |cfg| {
        cfg.access_ttl_secs = 1;
    },
    |app| {
        let t = app.user("ivy").await;
        let access = t["access_token"].as_str().unwrap();
        assert_eq!(t["expires_in"], 1);
        assert_eq!(
            app.get_auth("/v1/players/me", access).await.0,
            StatusCode::OK
        );
        tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
        assert_eq!(
            app.get_auth("/v1/players/me", access).await.0,
            StatusCode::UNAUTHORIZED
        );
    }
);

both_backends!(
    per_account_limit_429,
    |cfg| {
        cfg.login_per_account_per_minute = 3;
    },
    |app| {
        app.register("jack", "password123").await;
        // The owner's successes never count against the account-wide budget...
        for _ in 0..5 {
            assert_eq!(app.login("jack", "password123").await.0, StatusCode::OK);
        }
        // ...failures do: past three a minute the account is refused for a while.
        for _ in 0..4 {
            assert_eq!(
                app.login("jack", "wrongpassword").await.0,
                StatusCode::UNAUTHORIZED
            );
        }
        let r = app
            .http
            .post(format!("{}/v1/auth/login", app.url))
            .json(&json!({"username": "JACK", "password": "password123"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        let retry: u64 = r.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=60).contains(&retry));
        assert_error(&read(r).await.1, "rate_limited");
        // Another account from the same IP is not affected by jack's limit.
        app.register("kate", "password123").await;
        assert_eq!(app.login("kate", "password123").await.0, StatusCode::OK);
    }
);

both_backends!(
    per_ip_limit_429,
    |cfg| {
        cfg.login_per_ip_per_minute = 4;
    },
    |app| {
        for i in 0..4 {
            assert_eq!(
                app.login(&format!("ghost{i}"), "password123").await.0,
                StatusCode::UNAUTHORIZED
            );
        }
        let (s, body) = app.login("ghost9", "password123").await;
        assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
        assert_error(&body, "rate_limited");
    }
);

both_backends!(
    per_ip_registration_limit_429,
    |cfg| {
        cfg.register_per_ip_per_minute = 2;
    },
    |app| {
        assert_eq!(
            app.register("reg_a", "password123").await.0,
            StatusCode::CREATED
        );
        assert_eq!(
            app.register("reg_b", "password123").await.0,
            StatusCode::CREATED
        );
        let r = app
            .http
            .post(format!("{}/v1/auth/register", app.url))
            .json(&json!({"username": "reg_c", "password": "password123"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(r.headers().contains_key("retry-after"));
        // Logging in is limited separately and still works.
        assert_eq!(app.login("reg_a", "password123").await.0, StatusCode::OK);
    }
);

both_backends!(concurrent_refreshes_do_not_log_the_user_out, |app| {
    let t = app.user("rory").await;
    let token = t["refresh_token"].as_str().unwrap().to_owned();
    // The same refresh token, five times at once (a retrying client, two tabs).
    let mut tasks = Vec::new();
    for _ in 0..5 {
        let (http, url, token) = (app.http.clone(), app.url.clone(), token.clone());
        tasks.push(tokio::spawn(async move {
            let r = http
                .post(format!("{url}/v1/auth/refresh"))
                .json(&json!({ "refresh_token": token }))
                .send()
                .await
                .unwrap();
            read(r).await
        }));
    }
    let mut winners = Vec::new();
    for t in tasks {
        let (s, body) = t.await.unwrap();
        match s {
            StatusCode::OK => winners.push(body),
            StatusCode::UNAUTHORIZED => assert_error(&body, "unauthorized"),
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one refresh wins");
    // The winner's tokens stay valid: the session was not revoked.
    let w = &winners[0];
    assert_eq!(
        app.get_auth("/v1/players/me", w["access_token"].as_str().unwrap())
            .await
            .0,
        StatusCode::OK
    );
    let (s, next) = app
        .post(
            "/v1/auth/refresh",
            json!({"refresh_token": w["refresh_token"]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{next}");
});

both_backends!(a_token_for_another_accounts_session_is_refused, |app| {
    let a = app.user("sally").await;
    let b = app.user("simon").await;
    // A correctly signed token whose subject is b but whose session is a's.
    let claims = app
        .sidecar()
        .state
        .tokens
        .verify_access(a["access_token"].as_str().unwrap())
        .unwrap()
        .1;
    let forged = app
        .sidecar()
        .state
        .tokens
        .issue_access(
            b["account_id"].as_i64().unwrap(),
            &claims.sid,
            harvest_sidecar::db::now_secs() as u64,
            60,
        )
        .unwrap();
    let (s, body) = app.get_auth("/v1/players/me", &forged).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_error(&body, "unauthorized");
});

both_backends!(login_fields_outside_the_schema_are_422, |app| {
    let (s, body) = app.login(&"u".repeat(65), "password123").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["field"], "username");
    let (s, body) = app.login("someone", "").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["field"], "password");
    let (s, body) = app
        .post("/v1/auth/refresh", json!({"refresh_token": ""}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["field"], "refresh_token");
});

/// Logins as if from `ip`, through a trusted proxy on loopback.
async fn login_from(app: &TestApp, ip: &str, user: &str, pass: &str) -> StatusCode {
    app.http
        .post(format!("{}/v1/auth/login", app.url))
        .header("x-forwarded-for", ip)
        .json(&json!({"username": user, "password": pass}))
        .send()
        .await
        .unwrap()
        .status()
}

both_backends!(
    a_stranger_cannot_lock_the_owner_out,
    |cfg| {
        cfg.trusted_proxies = vec!["127.0.0.1/32".into(), "::1/128".into()];
        cfg.login_per_account_ip_per_minute = 3;
        cfg.login_per_account_per_minute = 20;
    },
    |app| {
        app.register("victim", "password123").await;
        // A stranger guesses from their address until refused...
        for _ in 0..3 {
            assert_eq!(
                login_from(&app, "203.0.113.9", "victim", "guess-guess").await,
                StatusCode::UNAUTHORIZED
            );
        }
        assert_eq!(
            login_from(&app, "203.0.113.9", "victim", "guess-guess").await,
            StatusCode::TOO_MANY_REQUESTS
        );
        // ...which does not lock the owner out at their address.
        assert_eq!(
            login_from(&app, "198.51.100.7", "victim", "password123").await,
            StatusCode::OK
        );
        // Distributed guessing hits the looser account-wide limit.
        let mut refused = 0;
        for i in 0..30 {
            let ip = format!("192.0.2.{i}");
            if login_from(&app, &ip, "victim", "guess-guess").await == StatusCode::TOO_MANY_REQUESTS
            {
                refused += 1;
            }
        }
        assert!(refused >= 10, "account-wide limit engaged ({refused})");
    }
);

both_backends!(
    forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy,
    |cfg| {
        cfg.login_per_ip_per_minute = 2;
    },
    |app| {
        // Rotating X-Forwarded-For buys nothing when the proxy is not trusted.
        for i in 0..2 {
            assert_eq!(
                login_from(
                    &app,
                    &format!("198.51.100.{i}"),
                    &format!("x{i}"),
                    "password123"
                )
                .await,
                StatusCode::UNAUTHORIZED
            );
        }
        assert_eq!(
            login_from(&app, "198.51.100.50", "x9", "password123").await,
            StatusCode::TOO_MANY_REQUESTS
        );
    }
);

both_backends!(
    refresh_and_play_are_rate_limited,
    |cfg| {
        cfg.refresh_per_ip_per_minute = 2;
        cfg.play_per_account_per_minute = 2;
    },
    |app| {
        for _ in 0..2 {
            assert_eq!(
                app.post("/v1/auth/refresh", json!({"refresh_token": "nope"}))
                    .await
                    .0,
                StatusCode::UNAUTHORIZED
            );
        }
        let (s, body) = app
            .post("/v1/auth/refresh", json!({"refresh_token": "nope"}))
            .await;
        assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
        assert_error(&body, "rate_limited");
        let t = app.user("player_p").await;
        let access = t["access_token"].as_str().unwrap();
        for _ in 0..2 {
            // No shard registered: 503, but each call still counts.
            assert_eq!(
                app.post_auth("/v1/play", access, None).await.0,
                StatusCode::SERVICE_UNAVAILABLE
            );
        }
        let (s, body) = app.post_auth("/v1/play", access, None).await;
        assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
        assert_error(&body, "rate_limited");
    }
);
