//! The HTTP API: poem-openapi services (one per tag), Swagger UI, the spec, and the envelope for
//! every answer, including the ones poem makes itself (parse errors, 404, 405, 413).

mod auth;
mod businesses;
mod catalog;
mod diagnose;
mod envelope;
mod formats;
mod health;
mod kitchen;
mod models;
mod notifications;
mod oauth;
mod observe;
mod onboarding;
mod orders;
mod params;
mod pos;
mod refusals;
mod routes;
mod seller;
mod spec;
mod status_page;
mod sync;
mod text;
mod wire;

use poem::middleware::{RequestId, ReuseId};
use poem::web::Html;
use poem::{Endpoint, EndpointExt, IntoResponse, Route};
use poem_openapi::{OpenApiService, Tags};

pub use envelope::{ApiError, ErrorCode};
pub use wire::Enveloped;

use crate::app::App;

/// Request bodies over this many bytes get 413.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The groups of operations in the spec.
#[derive(Tags)]
pub enum ApiTags {
    /// Seller accounts and bearer tokens.
    Auth,
    /// Businesses (restaurants) and their dishes.
    Businesses,
    /// Orders from MenuMaker.
    Orders,
    /// Connecting a business to its POS, and syncing orders into it.
    Pos,
    /// What the seller should know: failures, reconnects, possible duplicates.
    Notifications,
    /// Liveness of the service.
    Health,
}

type Apis = (
    auth::AuthApi,
    businesses::BusinessesApi,
    orders::OrdersApi,
    pos::PosApi,
    sync::SyncApi,
    catalog::CatalogApi,
    onboarding::OnboardingApi,
    oauth::OAuthApi,
    notifications::NotificationsApi,
    health::HealthApi,
);

/// The OpenAPI service. The app reaches the operations as request data (see [`endpoint`]), so
/// the spec can be made without one.
fn service() -> OpenApiService<Apis, ()> {
    OpenApiService::new(
        Apis::default(),
        "possync",
        env!("CARGO_PKG_VERSION"),
    )
    .description(
        "On-premise order-to-POS sync: MenuMaker orders into Square, Zoho Inventory and Dine POS. \
         Every answer is an envelope: `{\"success\": true, \"data\": ...}` or \
         `{\"success\": false, \"error\": {\"code\", \"message\"}}`. Authenticate with \
         `Authorization: Bearer <token>` from `POST /api/v1/auth/login` or `possync token create`.",
    )
    .license("MIT")
}

/// The spec as pretty JSON (what `possync openapi` prints, `/openapi.json` serves and
/// `openapi/openapi.json` holds).
pub fn spec_json() -> String {
    spec::amended(&service().spec())
}

/// The whole HTTP endpoint: API, the status page at `/`, `/docs`, `/openapi.json`, envelopes for
/// every error.
pub fn endpoint(app: App) -> impl Endpoint {
    let api = service();
    let (generated, spec) = (api.spec(), spec_json());
    let docs = spec::swagger_page(&api.swagger_ui_html(), &generated, &spec);
    Route::new()
        .at(
            "/docs",
            poem::endpoint::make_sync(move |_| Html(docs.clone())),
        )
        .at(
            "/openapi.json",
            poem::endpoint::make_sync(move |_| spec.clone().with_content_type("application/json")),
        )
        .nest("/", api)
        .around(status_page::serve)
        .around(refusals::guard)
        .catch_all_error(refusals::error_response)
        .around(observe::observe)
        .with(RequestId::default().reuse_id(ReuseId::Use))
        .data(app)
}
