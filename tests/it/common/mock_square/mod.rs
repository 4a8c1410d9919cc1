//! A mock Square for the sync and OAuth tests, over real HTTP/1.1 on 127.0.0.1 (port 0).
//!
//! What it imitates (providers/README.md §A, §A7):
//! - `POST /v2/orders` (CreateOrder): checks the headers (§A1), validates the body against
//!   `square/create-order.schema.json` and the prose rules of §A2, keeps an idempotency table per
//!   (merchant, `idempotency_key`), and answers `200 {"order": Order}` with an opaque id,
//!   `version: 1`, `state: "OPEN"`, RFC 3339 timestamps, `uid`s and totals in integer minor units.
//! - `POST /v2/payments` (payments.rs), `POST /v2/orders/{id}/pay` (PayOrder, pay_order.rs),
//!   `POST /v2/refunds` (refunds.rs), UpdateOrder and BatchRetrieveOrders (order_updates.rs).
//! - `GET /v2/orders/{id}`, `GET /v2/locations`, `GET /v2/catalog/list`, `POST /v2/catalog/search`.
//! - OAuth (§A5): `GET /oauth2/authorize` (302 back to `redirect_uri` with a code),
//!   `POST /oauth2/token` (code and refresh grants; the refresh grant returns the same refresh
//!   token), `POST /oauth2/revoke` (`Authorization: Client <secret>`; kills every token of the
//!   merchant) and `POST /oauth2/token/status`.
//! - Faults queued with [`MockSquare::push_fault`]: each `POST /v2/orders` consumes one.
//!
//! Anything possync sends that breaks the schemas, the prose rules or the header rules is noted
//! in [`MockSquare::problems`]; the tests assert that it stays empty. A wrong or unknown token is
//! not a problem (the tests provoke those); a malformed `Authorization` header is.
//!
//! The schemas are read from `$POSSYNC_PROVIDERS_DIR` or `<CARGO_MANIFEST_DIR>/../shared/providers`.
//! When a file is missing, the mock warns loudly once ("SCHEMA CHECK SKIPPED") and skips only the
//! schema check: the prose rules, the header rules and everything else still apply.

mod cancel_refusals;
mod catalog;
mod errors;
mod helpers;
mod money_writes;
mod oauth;
mod oauth_grant;
mod order_updates;
mod orders;
mod pay_order;
mod payments;
mod prose;
mod prose_fields;
mod refunds;
mod routes;
mod schema_errors;
mod schemas;
mod search;
mod state;
mod totals;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use self::helpers::random_string;
use self::schemas::schemas_for;
use self::state::{AccessToken, AuthCode, Inner, State};
use super::mock_http::{self, Server};
use super::mock_schemas::providers_dir;

/// The Square-Version this reference describes (echoed when a request sends none).
pub const SQUARE_VERSION: &str = "2025-08-20";
/// The Bearer token accepted until [`MockSquare::set_access_token`] changes it.
pub const DEFAULT_ACCESS_TOKEN: &str = "sq-access-1";
/// The one location known until [`MockSquare::set_locations`] changes it (currency INR).
pub const DEFAULT_LOCATION_ID: &str = "L8AHQ2RX0BX1K";
/// OAuth application id and secret until [`MockSquare::set_oauth_client`] changes them.
pub const DEFAULT_CLIENT_ID: &str = "sq0idp-mock-application-id";
pub const DEFAULT_CLIENT_SECRET: &str = "sq0csp-mock-application-secret";
/// The one merchant (seller) of this mock.
pub const MERCHANT_ID: &str = "MLQW2MYBY81PZ";
/// `source.name` when an order sets none (Square uses the application's name).
pub const APP_NAME: &str = "possync mock application";
/// Scopes of the static token and of [`MockSquare::issue_code`].
pub const ALL_SCOPES: &[&str] = &[
    "ORDERS_WRITE",
    "ORDERS_READ",
    "ITEMS_READ",
    "MERCHANT_PROFILE_READ",
    "PAYMENTS_WRITE",
    "PAYMENTS_READ",
    "CUSTOMERS_READ",
    "CUSTOMERS_WRITE",
];
/// Scopes of `/oauth2/authorize` without a `scope` parameter (§A5).
const AUTHORIZE_DEFAULT_SCOPES: &[&str] = &[
    "MERCHANT_PROFILE_READ",
    "PAYMENTS_READ",
    "SETTLEMENTS_READ",
    "BANK_ACCOUNTS_READ",
];
/// An authorization code lives 5 minutes (§A5).
const CODE_LIFETIME: Duration = Duration::from_secs(300);
/// Observed detail of Square's 401 (§A4).
const UNAUTHORIZED_DETAIL: &str = "The `Authorization` http header of your request was incorrect or expired. See https://developer.squareup.com/docs/build-basics/access-tokens.";
/// Observed detail of Square's 403 for a missing scope (§A4).
const FORBIDDEN_DETAIL: &str = "You have insufficient permissions to perform that action.";

const BASE62: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// What the next `POST /v2/orders` does instead of (or besides) behaving normally.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer this status with a Square error body (5xx: `API_ERROR` / `INTERNAL_SERVER_ERROR`,
    /// `BAD_GATEWAY`, `SERVICE_UNAVAILABLE`, `GATEWAY_TIMEOUT`; 4xx: the conventional code).
    Status(u16),
    /// Create the order (the idempotency table is updated), then sit on the answer this long.
    TimeoutAfterCommit(Duration),
    /// Sit this long without creating the order, then answer 504 `GATEWAY_TIMEOUT`.
    TimeoutBeforeCommit(Duration),
    /// Read the request, then close the socket without answering.
    ConnectionReset,
    /// 429 `RATE_LIMIT_ERROR` / `RATE_LIMITED`, with `Retry-After` when `Some`.
    RateLimited { retry_after: Option<String> },
    /// 401 `AUTHENTICATION_ERROR` / `UNAUTHORIZED`.
    Unauthorized,
    /// 400 `INVALID_REQUEST_ERROR` with this code, detail and field.
    BadRequest {
        code: String,
        detail: String,
        field: Option<String>,
    },
}

/// One request the mock received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    /// The path without the query string.
    pub path: String,
    /// Header names in lower case, in the order received.
    pub headers: Vec<(String, String)>,
    /// The parsed JSON body; `Value::Null` when empty, `Value::String(raw)` when not JSON.
    pub body: Value,
    pub at: Instant,
}

impl Recorded {
    /// A header by name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        mock_http::header(&self.headers, name)
    }
}

/// A running mock Square. Clones share the same server; it stops accepting when the last clone
/// is dropped.
#[derive(Clone)]
pub struct MockSquare {
    inner: Arc<Inner>,
    server: Arc<Server>,
}

impl MockSquare {
    /// A mock on 127.0.0.1 with an OS-assigned port, schemas from the default providers dir.
    pub fn start() -> MockSquare {
        MockSquare::start_with_providers_dir(providers_dir())
    }

    /// A mock reading the schemas from `dir` (the folder holding `square/`).
    pub fn start_with_providers_dir(dir: impl Into<PathBuf>) -> MockSquare {
        let inner = Arc::new(Inner {
            state: Mutex::new(State::new()),
            schemas: schemas_for(&dir.into()),
        });
        let server = Server::start("mock-square", inner.clone());
        MockSquare {
            inner,
            server: Arc::new(server),
        }
    }

    /// `http://127.0.0.1:PORT`
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    /// Queue a fault; each `POST /v2/orders` consumes one (first in, first out).
    pub fn push_fault(&self, fault: Fault) {
        self.inner.lock().faults.push_back(fault);
    }

    /// Queue a fault for `POST /oauth2/token` (`TimeoutAfterCommit` issues the tokens first).
    pub fn push_token_fault(&self, fault: Fault) {
        self.inner.lock().token_faults.push_back(fault);
    }

    /// Orders created (one per idempotency key), in creation order, as Square's Order objects.
    pub fn orders(&self) -> Vec<Value> {
        self.inner.lock().orders.clone()
    }

    /// Every `POST /v2/orders` received, faulted ones included, in arrival order.
    pub fn create_order_requests(&self) -> Vec<Recorded> {
        self.inner
            .lock()
            .requests
            .iter()
            .filter(|r| r.method == "POST" && r.path.trim_end_matches('/') == "/v2/orders")
            .cloned()
            .collect()
    }

    /// Every request received, on any path.
    pub fn requests(&self) -> Vec<Recorded> {
        self.inner.lock().requests.clone()
    }

    /// Every `POST /oauth2/token` received.
    pub fn token_requests(&self) -> Vec<Recorded> {
        self.inner
            .lock()
            .requests
            .iter()
            .filter(|r| r.method == "POST" && r.path.trim_end_matches('/') == "/oauth2/token")
            .cloned()
            .collect()
    }

    /// Every schema, prose-rule, header or protocol violation seen so far.
    pub fn problems(&self) -> Vec<String> {
        self.inner.lock().problems.clone()
    }

    /// The static Bearer token (default [`DEFAULT_ACCESS_TOKEN`]); the previous one becomes
    /// unknown (401 `UNAUTHORIZED`). Tokens issued through `/oauth2/token` stay valid.
    pub fn set_access_token(&self, token: &str) {
        let mut st = self.inner.lock();
        let old = std::mem::replace(&mut st.static_token, token.to_string());
        st.tokens.remove(&old);
        st.tokens
            .insert(token.to_string(), AccessToken::fresh(ALL_SCOPES));
    }

    /// Mark an access token expired: it then gets 401 `ACCESS_TOKEN_EXPIRED`.
    pub fn expire_access_token(&self, token: &str) {
        if let Some(t) = self.inner.lock().tokens.get_mut(token) {
            t.expired = true;
        }
    }

    /// The OAuth application's id and secret.
    pub fn set_oauth_client(&self, client_id: &str, client_secret: &str) {
        let mut st = self.inner.lock();
        st.client_id = client_id.to_string();
        st.client_secret = client_secret.to_string();
    }

    /// A valid one-time authorization code (5 minutes) with [`ALL_SCOPES`], not bound to a
    /// redirect URI.
    pub fn issue_code(&self) -> String {
        self.issue_code_with(ALL_SCOPES, None)
    }

    /// An authorization code with these scopes; with `redirect_uri`, the code exchange must send
    /// the same `redirect_uri` (§A5).
    pub fn issue_code_with(&self, scopes: &[&str], redirect_uri: Option<&str>) -> String {
        let code = format!("sq0cgb-{}", random_string(22));
        self.inner.lock().codes.insert(
            code.clone(),
            AuthCode {
                scopes: scopes.iter().map(|s| s.to_string()).collect(),
                redirect_uri: redirect_uri.map(str::to_string),
                issued: Instant::now(),
                used: false,
            },
        );
        code
    }

    /// `/oauth2/authorize` redirects with `error=access_denied` (the seller pressed Deny) while set.
    pub fn set_authorize_denies(&self, deny: bool) {
        self.inner.lock().authorize_denies = deny;
    }

    /// Access tokens issued by `POST /oauth2/token`, in order.
    pub fn tokens_issued(&self) -> Vec<String> {
        self.inner.lock().tokens_issued.clone()
    }

    /// The `access_token` (or `merchant_id`) named by each successful `POST /oauth2/revoke`.
    pub fn revoked(&self) -> Vec<String> {
        self.inner.lock().revoked.clone()
    }

    /// Whether Square would accept this Bearer token right now.
    pub fn token_is_valid(&self, token: &str) -> bool {
        self.inner
            .lock()
            .tokens
            .get(token)
            .is_some_and(|t| t.usable().is_ok())
    }

    /// What `GET /v2/locations` answers; CreateOrder accepts only these ids and requires their
    /// `currency`.
    pub fn set_locations(&self, locations: Vec<Value>) {
        self.inner.lock().locations = locations;
    }

    /// The catalog objects (`ITEM`s with embedded `ITEM_VARIATION`s, `MODIFIER_LIST`s, …). Once
    /// set, CreateOrder's `catalog_object_id`s must name an `ITEM_VARIATION` in it.
    pub fn set_catalog(&self, objects: Vec<Value>) {
        self.inner.lock().catalog = Some(objects);
    }

    /// The merchant id this mock answers with.
    pub fn merchant_id(&self) -> String {
        MERCHANT_ID.to_string()
    }

    /// Whether the schemas were found (false: schema checks are skipped).
    pub fn schemas_loaded(&self) -> bool {
        self.inner.schemas.loaded()
    }

    /// Validate `instance` against a root of the provider schemas (`CreateOrderRequest`,
    /// `CreateOrderResponse`, `ErrorsEnvelope`, `ObtainTokenResponse`, `ListLocationsResponse`,
    /// …): `None` when that schema is not available, else the error messages.
    pub fn schema_errors(&self, root: &str, instance: &Value) -> Option<Vec<String>> {
        let validator = self.inner.schemas.validators.get(root)?;
        Some(
            validator
                .iter_errors(instance)
                .map(|e| format!("{}: {e}", e.instance_path()))
                .collect(),
        )
    }

    /// The category Square's spec gives this error code (`x-error-category`), when known.
    pub fn error_category(&self, code: &str) -> Option<String> {
        self.inner.schemas.error_categories.get(code).cloned()
    }
}
