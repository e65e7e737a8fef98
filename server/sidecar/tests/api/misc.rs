use crate::both_backends;
use reqwest::StatusCode;

both_backends!(probes, |app| {
    let (s, b) = app.get("/healthz").await;
    assert_eq!((s, b["status"].as_str()), (StatusCode::OK, Some("ok")));
    let (s, _) = app.get("/readyz").await;
    assert_eq!(s, StatusCode::OK);
    // With the database gone, readiness fails (and liveness does not).
    app.sidecar().state.db.close().await;
    let (s, b) = app.get("/readyz").await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
    assert_error(&b, "not_ready");
    assert_eq!(
        app.http
            .get(format!("{}/healthz", app.url))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    // Routes that need the database answer 503, not 500.
    let (s, b) = app.register("sam_1", "password123").await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{b}");
});

both_backends!(unknown_routes_and_methods_are_json, |app| {
    let (s, b) = app.get("/nope").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_error(&b, "not_found");
    let (s, b) = app.get("/v1/auth/login").await;
    assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED);
    assert_error(&b, "method_not_allowed");
});

both_backends!(openapi_lists_every_route, |app| {
    let (s, doc) = app.get("/openapi.json").await;
    assert_eq!(s, StatusCode::OK);
    for (path, method) in [
        ("/v1/auth/register", "post"),
        ("/v1/auth/login", "post"),
        ("/v1/auth/refresh", "post"),
        ("/v1/auth/logout", "post"),
        ("/v1/play", "post"),
        ("/v1/players/me", "get"),
        ("/healthz", "get"),
        ("/readyz", "get"),
        ("/internal/v1/shards", "post"),
        ("/internal/v1/shards/{shard_id}", "delete"),
        ("/internal/v1/players/{account_id}/state", "get"),
        ("/internal/v1/players/states", "post"),
    ] {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} missing"
        );
    }
    assert!(doc["components"]["schemas"]["ErrorBody"].is_object());
    let login = &doc["paths"]["/v1/auth/login"]["post"]["responses"];
    for code in ["200", "401", "429"] {
        assert!(login[code].is_object(), "login {code}");
    }
});
