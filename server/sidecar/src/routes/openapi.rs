//! `GET /openapi.json`: the OpenAPI 3.1 document of every route, with its error schemas.

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(title = "Harvest Battles sidecar", description = "Accounts, sessions, connect tokens, the shard directory and persistence."),
    paths(
        super::auth::register, super::auth::login, super::auth::refresh, super::auth::logout,
        super::play::play, super::players::me,
        super::health::healthz, super::health::readyz,
        super::internal::register_shard, super::internal::deregister_shard, super::internal::load_state, super::internal::save_states,
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

pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
