//! Liveness.

use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};

use super::ApiTags;
use super::envelope::{Envelope, ok};

/// `data` of `/healthz`.
#[derive(Debug, Object)]
pub struct Health {
    /// Always `ok` when the process answers.
    pub status: String,
    /// The possync version.
    pub version: String,
}

pub struct HealthApi;

#[OpenApi(tag = "ApiTags::Health")]
impl HealthApi {
    /// Is the process alive?
    #[oai(path = "/healthz", method = "get", operation_id = "healthz")]
    async fn healthz(&self) -> Json<Envelope<Health>> {
        ok(Health {
            status: "ok".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        })
    }
}
