//! The OpenAPI 3.1 document's frame: title, tags and security schemes. The paths themselves
//! come from the routes (see [`super::routers`]), so a route and its documentation are one.
//! Served at `GET /openapi.json`.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Harvest Battles sidecar",
        description = "Accounts, sessions, connect tokens, the shard directory and persistence. \
            Every error is `{error, message[, field]}`; 429 and 503 carry `Retry-After`. \
            `/internal/*` is for shards only (service secret) and may be served on a separate, \
            private listener."
    ),
    tags(
        (name = "auth", description = "Accounts and sessions"),
        (name = "play", description = "Connect tokens for the zone shards"),
        (name = "players", description = "The player's own data"),
        (name = "duels", description = "Card duels: leaderboard and match history"),
        (name = "ops", description = "Probes"),
        (name = "internal", description = "Shard-only routes (service secret)"),
    ),
    modifiers(&Security),
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
        components.add_security_scheme(
            "service",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("The shared shard service secret, hex"))
                    .build(),
            ),
        );
    }
}
