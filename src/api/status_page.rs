//! The status page at `GET /`: the static files of `web/`, compiled into the binary (the
//! restaurant's box may be offline, so nothing comes from a CDN). The page is a client of the
//! public API like any other: it adds no endpoint of its own, only the files that make it up.
//!
//! Its answers carry a Content-Security-Policy that allows scripts, styles and requests from
//! this origin only, and no inline script: even a string from the API that slipped into the
//! page as HTML could not run. Swagger UI at `/docs` needs inline script and keeps its own
//! answers without this header.

use std::sync::Arc;

use poem::error::MethodNotAllowedError;
use poem::http::{Method, StatusCode, header};
use poem::{Body, Endpoint, IntoResponse, Request, Response};

/// The policy of every answer of the page: only this origin, no inline script or style, no
/// frames, no plugins, forms submitted by script only.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; \
     frame-ancestors 'none'";

/// One embedded file: where it is served, its content type, its bytes.
struct Asset {
    path: &'static str,
    content_type: &'static str,
    body: &'static str,
}

/// One of the page's JavaScript modules, `web/<name>` served at `/web/<name>`.
macro_rules! module {
    ($name:literal) => {
        Asset {
            path: concat!("/web/", $name),
            content_type: "text/javascript; charset=utf-8",
            body: include_str!(concat!("../../web/", $name)),
        }
    };
}

/// The page's files. `include_str!` puts them in the binary at build time: no build step, no
/// network, and the page always matches the binary that serves it.
const ASSETS: &[Asset] = &[
    Asset {
        path: "/",
        content_type: "text/html; charset=utf-8",
        body: include_str!("../../web/index.html"),
    },
    Asset {
        path: "/web/status.css",
        content_type: "text/css; charset=utf-8",
        body: include_str!("../../web/status.css"),
    },
    Asset {
        path: "/web/icon.svg",
        content_type: "image/svg+xml",
        body: include_str!("../../web/icon.svg"),
    },
    module!("main.js"),
    module!("api.js"),
    module!("app.js"),
    module!("dom.js"),
    module!("load.js"),
    module!("overview.js"),
    module!("failures.js"),
    module!("mapping.js"),
    module!("notifications.js"),
    module!("test_order.js"),
];

/// The paths the page's files are served at (for the metrics' route label).
pub fn paths() -> impl Iterator<Item = &'static str> {
    ASSETS.iter().map(|a| a.path)
}

/// Answer a request for one of the page's files; pass every other request on. (A route of its
/// own would not do: the API is nested at `/`, and poem's nest takes `/` itself.)
pub(super) async fn serve<E: Endpoint>(next: Arc<E>, req: Request) -> poem::Result<Response> {
    let Some(asset) = ASSETS.iter().find(|a| a.path == req.uri().path()) else {
        return next.call(req).await.map(IntoResponse::into_response);
    };
    let body = match *req.method() {
        Method::GET => Body::from(asset.body),
        Method::HEAD => Body::empty(),
        _ => return Err(MethodNotAllowedError.into()),
    };
    Ok(Response::builder()
        .status(StatusCode::OK)
        .content_type(asset.content_type)
        .header(header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY)
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .header(header::REFERRER_POLICY, "no-referrer")
        // A new binary brings a new page: the browser asks again instead of using an old copy.
        .header(header::CACHE_CONTROL, "no-cache")
        .body(body))
}
