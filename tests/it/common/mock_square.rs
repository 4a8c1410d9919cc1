//! A mock Square for the sync and OAuth tests, over real HTTP/1.1 on 127.0.0.1 (port 0).
//!
//! What it imitates (providers/README.md §A, §A7):
//! - `POST /v2/orders` (CreateOrder): checks the headers (§A1), validates the body against
//!   `square/create-order.schema.json` and the prose rules of §A2, keeps an idempotency table per
//!   (merchant, `idempotency_key`), and answers `200 {"order": Order}` with an opaque id,
//!   `version: 1`, `state: "OPEN"`, RFC 3339 timestamps, `uid`s and totals in integer minor units.
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

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

use super::mock_http::{Action, Handler, Request, Response, Server};

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

// ------------------------------------------------------------------------------------------------
// Public types
// ------------------------------------------------------------------------------------------------

/// What the next `POST /v2/orders` does instead of (or besides) behaving normally.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer this status with a Square error body (5xx: `API_ERROR` / `INTERNAL_SERVER_ERROR`,
    /// `BAD_GATEWAY`, `SERVICE_UNAVAILABLE`, `GATEWAY_TIMEOUT`; 4xx: the conventional code).
    Status(u16),
    /// Create the order (the idempotency table is updated), then sit on the answer this long.
    TimeoutAfterCommit(Duration),
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
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
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

// ------------------------------------------------------------------------------------------------
// State
// ------------------------------------------------------------------------------------------------

struct Inner {
    state: Mutex<State>,
    schemas: Arc<Schemas>,
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

struct AccessToken {
    scopes: Vec<String>,
    expires_at: jiff::Timestamp,
    revoked: bool,
    expired: bool,
}

impl AccessToken {
    fn fresh(scopes: &[impl AsRef<str>]) -> AccessToken {
        AccessToken {
            scopes: scopes.iter().map(|s| s.as_ref().to_string()).collect(),
            expires_at: days_from_now(30),
            revoked: false,
            expired: false,
        }
    }

    /// `Err(code)` when Square would refuse it.
    fn usable(&self) -> Result<(), &'static str> {
        if self.revoked {
            Err("ACCESS_TOKEN_REVOKED")
        } else if self.expired || self.expires_at <= jiff::Timestamp::now() {
            Err("ACCESS_TOKEN_EXPIRED")
        } else {
            Ok(())
        }
    }
}

struct RefreshToken {
    scopes: Vec<String>,
    revoked: bool,
}

struct AuthCode {
    scopes: Vec<String>,
    redirect_uri: Option<String>,
    issued: Instant,
    used: bool,
}

struct State {
    faults: VecDeque<Fault>,
    token_faults: VecDeque<Fault>,
    requests: Vec<Recorded>,
    problems: Vec<String>,
    orders: Vec<Value>,
    /// order id → index in `orders`
    order_index: HashMap<String, usize>,
    /// (merchant, idempotency key) → (request body, index in `orders`)
    idempotency: HashMap<(String, String), (Value, usize)>,
    static_token: String,
    tokens: HashMap<String, AccessToken>,
    refresh_tokens: HashMap<String, RefreshToken>,
    codes: HashMap<String, AuthCode>,
    tokens_issued: Vec<String>,
    revoked: Vec<String>,
    client_id: String,
    client_secret: String,
    authorize_denies: bool,
    locations: Vec<Value>,
    catalog: Option<Vec<Value>>,
}

impl State {
    fn new() -> State {
        let mut tokens = HashMap::new();
        tokens.insert(
            DEFAULT_ACCESS_TOKEN.to_string(),
            AccessToken::fresh(ALL_SCOPES),
        );
        State {
            faults: VecDeque::new(),
            token_faults: VecDeque::new(),
            requests: Vec::new(),
            problems: Vec::new(),
            orders: Vec::new(),
            order_index: HashMap::new(),
            idempotency: HashMap::new(),
            static_token: DEFAULT_ACCESS_TOKEN.to_string(),
            tokens,
            refresh_tokens: HashMap::new(),
            codes: HashMap::new(),
            tokens_issued: Vec::new(),
            revoked: Vec::new(),
            client_id: DEFAULT_CLIENT_ID.to_string(),
            client_secret: DEFAULT_CLIENT_SECRET.to_string(),
            authorize_denies: false,
            locations: vec![default_location()],
            catalog: None,
        }
    }

    fn problem(&mut self, context: &str, what: impl AsRef<str>) {
        let line = format!("{context}: {}", what.as_ref());
        eprintln!("mock Square problem: {line}");
        self.problems.push(line);
    }

    fn location(&self, id: &str) -> Option<&Value> {
        self.locations.iter().find(|l| l["id"] == json!(id))
    }
}

fn default_location() -> Value {
    json!({
        "id": DEFAULT_LOCATION_ID,
        "name": "Spice Garden",
        "business_name": "Spice Garden",
        "status": "ACTIVE",
        "type": "PHYSICAL",
        "currency": "INR",
        "country": "IN",
        "language_code": "en-IN",
        "timezone": "Asia/Kolkata",
        "merchant_id": MERCHANT_ID,
        "capabilities": [],
        "created_at": "2024-01-15T09:30:00Z",
    })
}

// ------------------------------------------------------------------------------------------------
// Square errors
// ------------------------------------------------------------------------------------------------

/// One entry of Square's `{"errors": [...]}`.
#[derive(Debug, Clone)]
struct SqError {
    category: &'static str,
    code: String,
    detail: String,
    field: Option<String>,
}

impl SqError {
    fn new(code: &str, detail: impl Into<String>) -> SqError {
        SqError {
            category: category_of(code),
            code: code.to_string(),
            detail: detail.into(),
            field: None,
        }
    }

    fn field(mut self, field: impl Into<String>) -> SqError {
        let field = field.into();
        self.field = (!field.is_empty()).then_some(field);
        self
    }

    fn to_json(&self) -> Value {
        let mut e = json!({"category": self.category, "code": self.code, "detail": self.detail});
        if let Some(field) = &self.field {
            e["field"] = json!(field);
        }
        e
    }
}

/// The category of a code, per the spec's `x-error-category` (the codes this mock uses).
fn category_of(code: &str) -> &'static str {
    match code {
        "UNAUTHORIZED"
        | "ACCESS_TOKEN_EXPIRED"
        | "ACCESS_TOKEN_REVOKED"
        | "FORBIDDEN"
        | "INSUFFICIENT_SCOPES"
        | "CLIENT_DISABLED" => "AUTHENTICATION_ERROR",
        "RATE_LIMITED" => "RATE_LIMIT_ERROR",
        "INTERNAL_SERVER_ERROR" | "BAD_GATEWAY" | "SERVICE_UNAVAILABLE" | "GATEWAY_TIMEOUT" => {
            "API_ERROR"
        }
        _ => "INVALID_REQUEST_ERROR",
    }
}

fn error_response(status: u16, errors: Vec<SqError>) -> Response {
    let errors: Vec<Value> = errors.iter().map(SqError::to_json).collect();
    Response::json(status, &json!({ "errors": errors }))
}

fn status_fault_code(status: u16) -> &'static str {
    match status {
        400 => "BAD_REQUEST",
        401 => "UNAUTHORIZED",
        403 => "FORBIDDEN",
        404 => "NOT_FOUND",
        405 => "METHOD_NOT_ALLOWED",
        409 => "CONFLICT",
        429 => "RATE_LIMITED",
        502 => "BAD_GATEWAY",
        503 => "SERVICE_UNAVAILABLE",
        504 => "GATEWAY_TIMEOUT",
        _ => "INTERNAL_SERVER_ERROR",
    }
}

/// The answer a fault gives (`TimeoutAfterCommit` is handled by the caller).
fn fault_action(fault: &Fault) -> Action {
    match fault {
        Fault::Status(status) => {
            let code = status_fault_code(*status);
            let detail = match code {
                "SERVICE_UNAVAILABLE" => "The service is temporarily unavailable.",
                "INTERNAL_SERVER_ERROR" => "An internal error occurred.",
                _ => "Injected by the mock.",
            };
            Action::Respond(error_response(*status, vec![SqError::new(code, detail)]))
        }
        Fault::ConnectionReset => Action::Reset,
        Fault::RateLimited { retry_after } => {
            let mut resp = error_response(
                429,
                vec![SqError::new("RATE_LIMITED", "Rate limit exceeded.")],
            );
            if let Some(value) = retry_after {
                resp = resp.with_header("Retry-After", value);
            }
            Action::Respond(resp)
        }
        Fault::Unauthorized => Action::Respond(error_response(
            401,
            vec![SqError::new("UNAUTHORIZED", UNAUTHORIZED_DETAIL)],
        )),
        Fault::BadRequest {
            code,
            detail,
            field,
        } => {
            let mut e = SqError::new(code, detail.clone());
            e.category = "INVALID_REQUEST_ERROR";
            e.field = field.clone();
            Action::Respond(error_response(400, vec![e]))
        }
        Fault::TimeoutAfterCommit(_) => unreachable!("handled by the caller"),
    }
}

// ------------------------------------------------------------------------------------------------
// Routing and the shared header checks
// ------------------------------------------------------------------------------------------------

const KNOWN_PATHS: &[&str] = &[
    "/v2/orders",
    "/v2/locations",
    "/v2/catalog/list",
    "/v2/catalog/search",
    "/oauth2/token",
    "/oauth2/revoke",
    "/oauth2/token/status",
    "/oauth2/authorize",
];

impl Handler for Inner {
    /// Square answers in the `Square-Version` asked for when it is well formed, else its own.
    fn handle(&self, req: &Request) -> Action {
        let version = req
            .header("square-version")
            .filter(|v| is_square_version(v))
            .unwrap_or(SQUARE_VERSION)
            .to_string();
        self.route(req)
            .map(|resp| resp.with_header("Square-Version", &version))
    }

    fn malformed(&self, why: &str) -> Response {
        error_response(400, vec![SqError::new("BAD_REQUEST", why)])
            .with_header("Square-Version", SQUARE_VERSION)
    }
}

/// What the tests see of a request.
fn record(req: &Request) -> Recorded {
    Recorded {
        method: req.method.clone(),
        path: req.path.clone(),
        headers: req.headers.clone(),
        body: req
            .json()
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&req.body).into())),
        at: Instant::now(),
    }
}

impl Inner {
    fn route(&self, req: &Request) -> Action {
        let path = req.path.trim_end_matches('/');
        match (req.method.as_str(), path) {
            ("POST", "/v2/orders") => self.create_order(req),
            ("GET", p) if p.starts_with("/v2/orders/") && p.len() > "/v2/orders/".len() => {
                self.retrieve_order(req, &p["/v2/orders/".len()..])
            }
            ("GET", "/v2/locations") => self.list_locations(req),
            ("GET", "/v2/catalog/list") => self.list_catalog(req),
            ("POST", "/v2/catalog/search") => self.search_catalog(req),
            ("POST", "/oauth2/token") => self.obtain_token(req),
            ("POST", "/oauth2/revoke") => self.revoke_token(req),
            ("POST", "/oauth2/token/status") => self.token_status(req),
            ("GET", "/oauth2/authorize") => self.authorize(req),
            (method, p) => {
                let mut st = self.lock();
                st.requests.push(record(req));
                let known = KNOWN_PATHS.contains(&p) || p.starts_with("/v2/orders/");
                let (status, code) = if known {
                    (405, "METHOD_NOT_ALLOWED")
                } else {
                    (404, "NOT_FOUND")
                };
                st.problem(
                    &format!("{method} {}", req.path),
                    format!("the mock Square does not serve this ({status})"),
                );
                Action::Respond(error_response(
                    status,
                    vec![SqError::new(
                        code,
                        format!("{method} {} is not served", req.path),
                    )],
                ))
            }
        }
    }

    /// Schema-check `instance` against `root` (nothing when the schema is not available).
    fn schema_violations(&self, root: &str, instance: &Value) -> Vec<Violation> {
        match self.schemas.validators.get(root) {
            Some(validator) => validator
                .iter_errors(instance)
                .map(|e| violation_of(&e))
                .collect(),
            None => Vec::new(),
        }
    }
}

/// `Square-Version` present and `YYYY-MM-DD` (a real date). Records problems; `Err` for a
/// malformed version (Square answers 400 `INVALID_SQUARE_VERSION_FORMAT`).
fn check_square_version(st: &mut State, ctx: &str, req: &Request) -> Result<(), Response> {
    match req.header("square-version") {
        None => {
            st.problem(
                ctx,
                "no Square-Version header (§A1: send it on every call, e.g. 2025-08-20)",
            );
            Ok(())
        }
        Some(v) if is_square_version(v) => Ok(()),
        Some(v) => {
            st.problem(ctx, format!("Square-Version {v:?} is not YYYY-MM-DD"));
            Err(error_response(
                400,
                vec![SqError::new(
                    "INVALID_SQUARE_VERSION_FORMAT",
                    format!("Invalid Square-Version format: {v}"),
                )],
            ))
        }
    }
}

fn is_square_version(v: &str) -> bool {
    v.len() == 10
        && v.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        })
        && v.parse::<jiff::civil::Date>().is_ok()
}

/// `Content-Type: application/json` on a request with a body.
fn check_content_type(st: &mut State, ctx: &str, req: &Request) -> Result<(), Response> {
    let ok = req.header("content-type").is_some_and(|v| {
        v.split(';')
            .next()
            .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
    });
    if ok {
        return Ok(());
    }
    st.problem(
        ctx,
        format!(
            "Content-Type is {:?}, not application/json",
            req.header("content-type")
        ),
    );
    Err(error_response(
        400,
        vec![SqError::new(
            "INVALID_CONTENT_TYPE",
            "Content-Type must be application/json.",
        )],
    ))
}

/// The Bearer token: missing or malformed → problem + 401; unknown → 401 `UNAUTHORIZED`;
/// revoked/expired → 401 `ACCESS_TOKEN_REVOKED`/`ACCESS_TOKEN_EXPIRED`; without `scope` → 403.
fn check_bearer(st: &mut State, ctx: &str, req: &Request, scope: &str) -> Result<String, Response> {
    let unauthorized =
        |code: &str| error_response(401, vec![SqError::new(code, UNAUTHORIZED_DETAIL)]);
    let Some(auth) = req.header("authorization") else {
        st.problem(
            ctx,
            "no Authorization header (§A1: `Authorization: Bearer <token>`)",
        );
        return Err(unauthorized("UNAUTHORIZED"));
    };
    let token = match auth.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            token.trim()
        }
        _ => {
            st.problem(
                ctx,
                format!("Authorization {auth:?} is not `Bearer <token>`"),
            );
            return Err(unauthorized("UNAUTHORIZED"));
        }
    };
    let Some(info) = st.tokens.get(token) else {
        return Err(unauthorized("UNAUTHORIZED"));
    };
    if let Err(code) = info.usable() {
        return Err(unauthorized(code));
    }
    if !info.scopes.iter().any(|s| s == scope) {
        return Err(error_response(
            403,
            vec![SqError::new("FORBIDDEN", FORBIDDEN_DETAIL)],
        ));
    }
    Ok(MERCHANT_ID.to_string())
}

// ------------------------------------------------------------------------------------------------
// CreateOrder
// ------------------------------------------------------------------------------------------------

impl Inner {
    fn create_order(&self, req: &Request) -> Action {
        let mut st = self.lock();
        let recorded = record(req);
        let number = st
            .requests
            .iter()
            .filter(|r| r.method == "POST" && r.path.trim_end_matches('/') == "/v2/orders")
            .count()
            + 1;
        let key_text = recorded
            .body
            .get("idempotency_key")
            .map(|k| k.to_string())
            .unwrap_or_else(|| "none".into());
        let ctx = format!("POST /v2/orders #{number} (idempotency_key {key_text})");
        st.requests.push(recorded);
        let fault = st.faults.pop_front();

        // Headers: every violation is noted; the first refusal is the answer.
        let auth = check_bearer(&mut st, &ctx, req, "ORDERS_WRITE");
        let version = check_square_version(&mut st, &ctx, req);
        let content = check_content_type(&mut st, &ctx, req);

        // The body: schema + prose rules.
        let parsed = req.json();
        let mut violations = Vec::new();
        let mut read_only = Vec::new();
        match &parsed {
            Ok(body) => {
                let mut found = self.schema_violations("CreateOrderRequest", body);
                found.extend(prose_rules(body, &st));
                read_only = read_only_paths(&self.schemas, body);
                for path in &read_only {
                    found.push(Violation::note(
                        &field_name(path),
                        "READ_ONLY_FIELD",
                        "a read-only field was sent; Square ignores it and clients should not send it",
                    ));
                }
                violations = dedupe(found);
                for v in &violations {
                    let line = format!("{}: {}: {}", or_root(&v.field), v.code, v.detail);
                    st.problem(&ctx, line);
                }
            }
            Err(e) => st.problem(&ctx, format!("the body is not JSON: {e}")),
        }

        let delay = match fault {
            Some(Fault::TimeoutAfterCommit(d)) => Some(d),
            Some(other) => return fault_action(&other),
            None => None,
        };
        let resp = (|| {
            let merchant = auth?;
            version?;
            content?;
            let body = match parsed {
                Ok(Value::Null) | Err(_) => {
                    return Err(error_response(
                        400,
                        vec![SqError::new(
                            "EXPECTED_JSON_BODY",
                            "The body must be a JSON object.",
                        )],
                    ));
                }
                Ok(body) => body,
            };
            let refusals: Vec<SqError> = violations
                .iter()
                .filter(|v| v.reject)
                .map(|v| SqError::new(v.code, v.detail.clone()).field(v.field.clone()))
                .collect();
            if !refusals.is_empty() {
                return Err(error_response(400, refusals));
            }
            Ok(self.commit_order(&mut st, &ctx, &merchant, body, &read_only))
        })()
        .unwrap_or_else(|e| e);
        match delay {
            Some(d) => Action::Delayed(d, resp),
            None => Action::Respond(resp),
        }
    }

    /// The idempotency table, then a new order.
    fn commit_order(
        &self,
        st: &mut State,
        ctx: &str,
        merchant: &str,
        body: Value,
        read_only: &[Vec<Seg>],
    ) -> Response {
        let key = body
            .get("idempotency_key")
            .and_then(Value::as_str)
            .map(str::to_string);
        if let Some(key) = &key
            && let Some((first, index)) = st.idempotency.get(&(merchant.to_string(), key.clone()))
        {
            let order = st.orders[*index].clone();
            if *first == body {
                return Response::json(200, &json!({ "order": order }));
            }
            let id = order["id"].as_str().unwrap_or_default().to_string();
            st.problem(
                    ctx,
                    format!(
                        "IDEMPOTENCY_KEY_REUSED: key {key:?} was first used for order {id} with a different body"
                    ),
                );
            return error_response(
                400,
                vec![
                    SqError::new(
                        "IDEMPOTENCY_KEY_REUSED",
                        format!("Order {id} already exists."),
                    )
                    .field("idempotency_key"),
                ],
            );
        }
        let order = build_order(st, &body, read_only);
        let index = st.orders.len();
        st.order_index
            .insert(order["id"].as_str().unwrap_or_default().to_string(), index);
        st.orders.push(order.clone());
        if let Some(key) = key {
            st.idempotency
                .insert((merchant.to_string(), key), (body, index));
        }
        Response::json(200, &json!({ "order": order }))
    }

    fn retrieve_order(&self, req: &Request, id: &str) -> Action {
        let mut st = self.lock();
        st.requests.push(record(req));
        let ctx = format!("GET /v2/orders/{id}");
        let auth = check_bearer(&mut st, &ctx, req, "ORDERS_READ");
        let version = check_square_version(&mut st, &ctx, req);
        if let Err(resp) = auth.map(|_| ()).and(version) {
            return Action::Respond(resp);
        }
        match st.order_index.get(id) {
            Some(&i) => Action::Respond(Response::json(200, &json!({"order": st.orders[i]}))),
            None => Action::Respond(error_response(
                404,
                vec![
                    SqError::new("NOT_FOUND", format!("Order `{id}` not found.")).field("order_id"),
                ],
            )),
        }
    }

    fn list_locations(&self, req: &Request) -> Action {
        let mut st = self.lock();
        st.requests.push(record(req));
        let ctx = "GET /v2/locations";
        let auth = check_bearer(&mut st, ctx, req, "MERCHANT_PROFILE_READ");
        let version = check_square_version(&mut st, ctx, req);
        if let Err(resp) = auth.map(|_| ()).and(version) {
            return Action::Respond(resp);
        }
        Action::Respond(Response::json(200, &json!({"locations": st.locations})))
    }
}

/// The Order Square answers: the request's order without read-only fields, plus id, version,
/// state, timestamps, uids and totals.
fn build_order(st: &State, body: &Value, read_only: &[Vec<Seg>]) -> Value {
    let mut request = body.clone();
    for path in read_only {
        remove_path(&mut request, path);
    }
    let mut order = match request.get("order") {
        Some(Value::Object(o)) => o.clone(),
        _ => Map::new(),
    };
    order.remove("version");
    // Null means "unset" in Square's requests.
    order.retain(|_, v| !v.is_null());
    let location_id = order
        .get("location_id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let currency = st
        .location(&location_id)
        .and_then(|l| l["currency"].as_str())
        .map(str::to_string)
        .or_else(|| first_currency(&Value::Object(order.clone())))
        .unwrap_or_else(|| "USD".into());
    let now = now_rfc3339_ms();
    let mut total: i64 = 0;
    if let Some(Value::Array(lines)) = order.get_mut("line_items") {
        for line in lines.iter_mut() {
            let Some(line) = line.as_object_mut() else {
                continue;
            };
            line.retain(|_, v| !v.is_null());
            if !line.contains_key("uid") {
                line.insert("uid".into(), json!(random_string(22)));
            }
            fill_from_catalog(st, line);
            let qty = line
                .get("quantity")
                .and_then(Value::as_str)
                .and_then(parse_decimal)
                .unwrap_or((1, 0));
            let base = line
                .get("base_price_money")
                .and_then(|m| m["amount"].as_i64())
                .unwrap_or(0);
            if !line.contains_key("base_price_money") {
                line.insert("base_price_money".into(), money(0, &currency));
            }
            let variation_total = times(base, qty);
            let mut modifiers_total = 0;
            if let Some(Value::Array(mods)) = line.get_mut("modifiers") {
                for m in mods.iter_mut().filter_map(Value::as_object_mut) {
                    m.retain(|_, v| !v.is_null());
                    if !m.contains_key("uid") {
                        m.insert("uid".into(), json!(random_string(22)));
                    }
                    let each = m
                        .get("base_price_money")
                        .and_then(|v| v["amount"].as_i64())
                        .unwrap_or(0);
                    let mod_qty = m
                        .get("quantity")
                        .and_then(Value::as_str)
                        .and_then(parse_decimal)
                        .unwrap_or((1, 0));
                    let amount = times(times(each, mod_qty), qty);
                    modifiers_total += amount;
                    m.insert("total_price_money".into(), money(amount, &currency));
                }
            }
            let gross = variation_total + modifiers_total;
            total += gross;
            line.insert(
                "variation_total_price_money".into(),
                money(variation_total, &currency),
            );
            line.insert("gross_sales_money".into(), money(gross, &currency));
            line.insert("total_tax_money".into(), money(0, &currency));
            line.insert("total_discount_money".into(), money(0, &currency));
            line.insert("total_service_charge_money".into(), money(0, &currency));
            line.insert("total_money".into(), money(gross, &currency));
        }
    }
    if let Some(Value::Array(fulfillments)) = order.get_mut("fulfillments") {
        for f in fulfillments.iter_mut().filter_map(Value::as_object_mut) {
            f.retain(|_, v| !v.is_null());
            if !f.contains_key("uid") {
                f.insert("uid".into(), json!(random_string(22)));
            }
            if !f.contains_key("state") {
                f.insert("state".into(), json!("PROPOSED"));
            }
            for details in ["pickup_details", "delivery_details", "shipment_details"] {
                if let Some(Value::Object(d)) = f.get_mut(details) {
                    d.retain(|_, v| !v.is_null());
                    d.insert("placed_at".into(), json!(now));
                }
            }
            if let Some(Value::Object(p)) = f.get_mut("pickup_details")
                && p.get("schedule_type") == Some(&json!("ASAP"))
                && !p.contains_key("pickup_at")
            {
                let prep = p
                    .get("prep_time_duration")
                    .and_then(Value::as_str)
                    .and_then(|d| d.parse::<jiff::Span>().ok())
                    .unwrap_or_default();
                let at = jiff::Timestamp::now()
                    .to_zoned(jiff::tz::TimeZone::UTC)
                    .checked_add(prep)
                    .map(|z| z.timestamp())
                    .unwrap_or_else(|_| jiff::Timestamp::now());
                p.insert("pickup_at".into(), json!(rfc3339_ms(at)));
            }
        }
    }
    order.insert("id".into(), json!(random_string(27)));
    order.insert("location_id".into(), json!(location_id));
    if !order.contains_key("source") {
        order.insert("source".into(), json!({"name": APP_NAME}));
    }
    if !order.contains_key("state") {
        order.insert("state".into(), json!("OPEN"));
    }
    order.insert("version".into(), json!(1));
    order.insert("created_at".into(), json!(now));
    order.insert("updated_at".into(), json!(now));
    order.insert("total_money".into(), money(total, &currency));
    order.insert("total_tax_money".into(), money(0, &currency));
    order.insert("total_discount_money".into(), money(0, &currency));
    order.insert("total_tip_money".into(), money(0, &currency));
    order.insert("total_service_charge_money".into(), money(0, &currency));
    order.insert(
        "net_amounts".into(),
        json!({
            "total_money": money(total, &currency),
            "tax_money": money(0, &currency),
            "discount_money": money(0, &currency),
            "tip_money": money(0, &currency),
            "service_charge_money": money(0, &currency),
        }),
    );
    order.insert("net_amount_due_money".into(), money(total, &currency));
    Value::Object(order)
}

/// A catalog line: the name, variation name and price Square fills in from the catalog.
fn fill_from_catalog(st: &State, line: &mut Map<String, Value>) {
    let Some(id) = line.get("catalog_object_id").and_then(Value::as_str) else {
        return;
    };
    let Some(catalog) = &st.catalog else { return };
    let Some((variation, item)) = find_variation(catalog, id) else {
        return;
    };
    let data = &variation["item_variation_data"];
    if !line.contains_key("name")
        && let Some(name) = item.and_then(|i| i["item_data"]["name"].as_str())
    {
        line.insert("name".into(), json!(name));
    }
    if !line.contains_key("variation_name")
        && let Some(name) = data["name"].as_str()
    {
        line.insert("variation_name".into(), json!(name));
    }
    if !line.contains_key("base_price_money") && data["price_money"].is_object() {
        line.insert("base_price_money".into(), data["price_money"].clone());
    }
    if !line.contains_key("catalog_version")
        && let Some(v) = variation["version"].as_i64()
    {
        line.insert("catalog_version".into(), json!(v));
    }
}

/// An ITEM_VARIATION by id (top level or embedded in an ITEM), with its ITEM.
fn find_variation<'a>(catalog: &'a [Value], id: &str) -> Option<(&'a Value, Option<&'a Value>)> {
    for object in catalog {
        if object["is_deleted"] == json!(true) {
            continue;
        }
        if object["type"] == "ITEM_VARIATION" && object["id"] == json!(id) {
            let item_id = object["item_variation_data"]["item_id"].as_str();
            let item = catalog
                .iter()
                .find(|o| item_id.is_some() && o["id"].as_str() == item_id);
            return Some((object, item));
        }
        if object["type"] == "ITEM"
            && let Some(vars) = object["item_data"]["variations"].as_array()
            && let Some(v) = vars.iter().find(|v| v["id"] == json!(id))
        {
            return Some((v, Some(object)));
        }
    }
    None
}

// ------------------------------------------------------------------------------------------------
// Validation: the prose rules of §A2/§A7
// ------------------------------------------------------------------------------------------------

/// A rule broken by a request.
#[derive(Debug, Clone)]
struct Violation {
    field: String,
    code: &'static str,
    detail: String,
    /// Square refuses the request (else it is only noted as a problem).
    reject: bool,
}

impl Violation {
    fn reject(field: &str, code: &'static str, detail: impl Into<String>) -> Violation {
        Violation {
            field: field.to_string(),
            code,
            detail: detail.into(),
            reject: true,
        }
    }

    fn note(field: &str, code: &'static str, detail: impl Into<String>) -> Violation {
        Violation {
            reject: false,
            ..Violation::reject(field, code, detail)
        }
    }
}

fn dedupe(found: Vec<Violation>) -> Vec<Violation> {
    let mut seen = HashSet::new();
    found
        .into_iter()
        .filter(|v| seen.insert((v.field.clone(), v.code)))
        .collect()
}

fn or_root(field: &str) -> &str {
    if field.is_empty() { "(body)" } else { field }
}

/// A present, non-null value.
fn present<'a>(obj: &'a Value, key: &str) -> Option<&'a Value> {
    obj.get(key).filter(|v| !v.is_null())
}

fn chars(s: &str) -> usize {
    s.chars().count()
}

/// `field` as a string no longer than `max` (when present).
fn check_string(out: &mut Vec<Violation>, obj: &Value, key: &str, path: &str, max: usize) {
    let field = format!("{path}.{key}");
    match present(obj, key) {
        None => {}
        Some(Value::String(s)) if chars(s) > max => out.push(Violation::reject(
            &field,
            "VALUE_TOO_LONG",
            format!("Must be at most {max} characters long; it is {}.", chars(s)),
        )),
        Some(Value::String(_)) => {}
        Some(_) => out.push(Violation::reject(
            &field,
            "EXPECTED_STRING",
            "Expected a string.",
        )),
    }
}

fn prose_rules(body: &Value, st: &State) -> Vec<Violation> {
    let mut out = Vec::new();
    let Some(top) = body.as_object() else {
        out.push(Violation::reject(
            "",
            "EXPECTED_OBJECT",
            "The body must be a JSON object.",
        ));
        return out;
    };
    for key in top.keys() {
        if key != "order" && key != "idempotency_key" {
            out.push(Violation::reject(
                key,
                "UNKNOWN_BODY_PARAMETER",
                "If `order` is set, the only other top-level field that can be set is `idempotency_key`.",
            ));
        }
    }
    match present(body, "idempotency_key") {
        None => out.push(Violation::note(
            "idempotency_key",
            "MISSING_REQUIRED_PARAMETER",
            "no idempotency key: a retry could duplicate the order (§A2, §F3); Square accepts it",
        )),
        Some(Value::String(k)) if k.is_empty() => out.push(Violation::reject(
            "idempotency_key",
            "VALUE_TOO_SHORT",
            "Must be at least 1 character long.",
        )),
        Some(Value::String(k)) if chars(k) > 192 => out.push(Violation::reject(
            "idempotency_key",
            "VALUE_TOO_LONG",
            format!("Must be at most 192 characters long; it is {}.", chars(k)),
        )),
        Some(Value::String(_)) => {}
        Some(_) => out.push(Violation::reject(
            "idempotency_key",
            "EXPECTED_STRING",
            "Expected a string.",
        )),
    }
    let Some(order) = present(body, "order") else {
        out.push(Violation::reject(
            "order",
            "MISSING_REQUIRED_PARAMETER",
            "Field must be set.",
        ));
        return out;
    };
    if !order.is_object() {
        out.push(Violation::reject(
            "order",
            "EXPECTED_OBJECT",
            "Expected an object.",
        ));
        return out;
    }

    // Location: required, known, active; its currency is the order's.
    let mut currency: Option<String> = None;
    match present(order, "location_id") {
        None => out.push(Violation::reject(
            "order.location_id",
            "MISSING_REQUIRED_PARAMETER",
            "Field must be set.",
        )),
        Some(Value::String(id)) if id.is_empty() => out.push(Violation::reject(
            "order.location_id",
            "VALUE_TOO_SHORT",
            "Must be at least 1 character long.",
        )),
        Some(Value::String(id)) => match st.location(id) {
            None => out.push(Violation::reject(
                "order.location_id",
                "NOT_FOUND",
                format!("Location `{id}` not found."),
            )),
            Some(location) => {
                if location["status"].as_str().is_some_and(|s| s != "ACTIVE") {
                    out.push(Violation::reject(
                        "order.location_id",
                        "INVALID_VALUE",
                        format!("Location `{id}` is not active."),
                    ));
                }
                currency = location["currency"].as_str().map(str::to_string);
            }
        },
        Some(_) => out.push(Violation::reject(
            "order.location_id",
            "EXPECTED_STRING",
            "Expected a string.",
        )),
    }
    check_string(&mut out, order, "reference_id", "order", 40);
    check_string(&mut out, order, "customer_id", "order", 191);
    check_string(&mut out, order, "ticket_name", "order", 30);
    if let Some(state) = present(order, "state")
        && !["OPEN", "COMPLETED", "CANCELED", "DRAFT"].contains(&state.as_str().unwrap_or(""))
    {
        out.push(Violation::reject(
            "order.state",
            "INVALID_ENUM_VALUE",
            format!("{state} is not OPEN, COMPLETED, CANCELED or DRAFT."),
        ));
    }

    // Line items.
    match present(order, "line_items") {
        None => {}
        Some(Value::Array(lines)) => {
            for (i, line) in lines.iter().enumerate() {
                line_item_rules(&mut out, line, &format!("order.line_items[{i}]"), st);
            }
        }
        Some(_) => out.push(Violation::reject(
            "order.line_items",
            "EXPECTED_ARRAY",
            "Expected an array.",
        )),
    }

    // Fulfillments: at most one on create.
    match present(order, "fulfillments") {
        None => {}
        Some(Value::Array(fulfillments)) => {
            if fulfillments.len() > 1 {
                out.push(Violation::reject(
                    "order.fulfillments",
                    "INVALID_VALUE",
                    "Orders can only be created with at most one fulfillment.",
                ));
            }
            for (i, f) in fulfillments.iter().enumerate() {
                fulfillment_rules(&mut out, f, &format!("order.fulfillments[{i}]"));
            }
        }
        Some(_) => out.push(Violation::reject(
            "order.fulfillments",
            "EXPECTED_ARRAY",
            "Expected an array.",
        )),
    }

    // Metadata maps and money, wherever they are in the order.
    walk_order(&mut out, order, "order", currency.as_deref());
    out
}

fn line_item_rules(out: &mut Vec<Violation>, line: &Value, path: &str, st: &State) {
    if !line.is_object() {
        out.push(Violation::reject(
            path,
            "EXPECTED_OBJECT",
            "Expected an object.",
        ));
        return;
    }
    let has_unit = present(line, "quantity_unit").is_some();
    let precision = line["quantity_unit"]["precision"].as_u64();
    match present(line, "quantity") {
        None => out.push(Violation::reject(
            &format!("{path}.quantity"),
            "MISSING_REQUIRED_PARAMETER",
            "Field must be set.",
        )),
        Some(Value::String(q)) => quantity_rules(
            out,
            q,
            &format!("{path}.quantity"),
            true,
            has_unit,
            precision,
        ),
        Some(_) => out.push(Violation::reject(
            &format!("{path}.quantity"),
            "EXPECTED_STRING",
            "The quantity must be a string, e.g. \"2\".",
        )),
    }
    check_string(out, line, "uid", path, 60);
    check_string(out, line, "name", path, 512);
    check_string(out, line, "note", path, 2000);
    check_string(out, line, "catalog_object_id", path, 192);
    check_string(out, line, "variation_name", path, 400);
    let catalog_id = present(line, "catalog_object_id").and_then(Value::as_str);
    let name = present(line, "name").and_then(Value::as_str);
    match (catalog_id, name) {
        (None, None) => out.push(Violation::reject(
            &format!("{path}.name"),
            "MISSING_REQUIRED_PARAMETER",
            "A line item needs a `name` (ad hoc) or a `catalog_object_id`.",
        )),
        (None, Some(_)) => {
            if present(line, "base_price_money").is_none() {
                out.push(Violation::reject(
                    &format!("{path}.base_price_money"),
                    "MISSING_REQUIRED_PARAMETER",
                    "An ad hoc line item needs `base_price_money`.",
                ));
            }
        }
        (Some(id), _) => {
            if let Some(catalog) = &st.catalog {
                match find_variation(catalog, id) {
                    Some(_) => {}
                    None if catalog.iter().any(|o| o["id"] == json!(id)) => {
                        out.push(Violation::reject(
                            &format!("{path}.catalog_object_id"),
                            "INVALID_VALUE",
                            format!("Object `{id}` is not an ITEM_VARIATION."),
                        ))
                    }
                    None => out.push(Violation::reject(
                        &format!("{path}.catalog_object_id"),
                        "NOT_FOUND",
                        format!("Item variation with catalog object ID `{id}` not found."),
                    )),
                }
            }
        }
    }
    match present(line, "modifiers") {
        None => {}
        Some(Value::Array(mods)) => {
            for (j, m) in mods.iter().enumerate() {
                let mpath = format!("{path}.modifiers[{j}]");
                if !m.is_object() {
                    out.push(Violation::reject(
                        &mpath,
                        "EXPECTED_OBJECT",
                        "Expected an object.",
                    ));
                    continue;
                }
                check_string(out, m, "uid", &mpath, 60);
                check_string(out, m, "name", &mpath, 255);
                check_string(out, m, "catalog_object_id", &mpath, 192);
                let has_catalog = present(m, "catalog_object_id").is_some();
                if !has_catalog && present(m, "name").is_none() {
                    out.push(Violation::reject(
                        &format!("{mpath}.name"),
                        "MISSING_REQUIRED_PARAMETER",
                        "A modifier needs a `catalog_object_id` or an ad hoc `name`.",
                    ));
                }
                if !has_catalog && present(m, "base_price_money").is_none() {
                    out.push(Violation::reject(
                        &format!("{mpath}.base_price_money"),
                        "MISSING_REQUIRED_PARAMETER",
                        "`base_price_money` is required for ad hoc modifiers.",
                    ));
                }
                match present(m, "quantity") {
                    None => {}
                    Some(Value::String(q)) => {
                        quantity_rules(out, q, &format!("{mpath}.quantity"), false, true, None)
                    }
                    Some(_) => out.push(Violation::reject(
                        &format!("{mpath}.quantity"),
                        "EXPECTED_STRING",
                        "The quantity must be a string.",
                    )),
                }
            }
        }
        Some(_) => out.push(Violation::reject(
            &format!("{path}.modifiers"),
            "EXPECTED_ARRAY",
            "Expected an array.",
        )),
    }
}

/// A quantity: a string of 1–12 characters holding a number (positive for line items, ≥ 0 for
/// modifiers); decimals only with a `quantity_unit`, and no more digits than its `precision`.
fn quantity_rules(
    out: &mut Vec<Violation>,
    q: &str,
    field: &str,
    positive: bool,
    decimals_allowed: bool,
    precision: Option<u64>,
) {
    if q.is_empty() {
        out.push(Violation::reject(
            field,
            "VALUE_TOO_SHORT",
            "Must be at least 1 character long.",
        ));
        return;
    }
    if chars(q) > 12 {
        out.push(Violation::reject(
            field,
            "VALUE_TOO_LONG",
            "Must be at most 12 characters long.",
        ));
        return;
    }
    let Some((mantissa, scale)) = parse_decimal(q) else {
        out.push(Violation::reject(
            field,
            "INVALID_VALUE",
            format!("{q:?} is not a number."),
        ));
        return;
    };
    if positive && mantissa <= 0 {
        out.push(Violation::reject(
            field,
            "INVALID_VALUE",
            "The quantity must be positive.",
        ));
    }
    if scale > 0 && !decimals_allowed {
        out.push(Violation::reject(
            field,
            "INVALID_VALUE",
            "A decimal quantity needs a `quantity_unit`.",
        ));
    }
    if let Some(p) = precision
        && u64::from(scale) > p
    {
        out.push(Violation::reject(
            field,
            "INVALID_VALUE",
            format!("The quantity has more decimal places than the unit's precision {p}."),
        ));
    }
}

fn fulfillment_rules(out: &mut Vec<Violation>, f: &Value, path: &str) {
    if !f.is_object() {
        out.push(Violation::reject(
            path,
            "EXPECTED_OBJECT",
            "Expected an object.",
        ));
        return;
    }
    check_string(out, f, "uid", path, 60);
    let Some(kind) = present(f, "type") else {
        out.push(Violation::reject(
            &format!("{path}.type"),
            "MISSING_REQUIRED_PARAMETER",
            "A fulfillment needs a `type`.",
        ));
        return;
    };
    let details_key = match kind.as_str() {
        Some("PICKUP") => "pickup_details",
        Some("DELIVERY") => "delivery_details",
        Some("SHIPMENT") => "shipment_details",
        _ => {
            out.push(Violation::reject(
                &format!("{path}.type"),
                "INVALID_ENUM_VALUE",
                format!("{kind} is not a fulfillment type."),
            ));
            return;
        }
    };
    let dpath = format!("{path}.{details_key}");
    let Some(details) = present(f, details_key) else {
        out.push(Violation::reject(
            &dpath,
            "MISSING_REQUIRED_PARAMETER",
            format!("`{details_key}` is required for a {kind} fulfillment."),
        ));
        return;
    };
    if !details.is_object() {
        out.push(Violation::reject(
            &dpath,
            "EXPECTED_OBJECT",
            "Expected an object.",
        ));
        return;
    }
    let schedule = present(details, "schedule_type")
        .and_then(Value::as_str)
        .unwrap_or("SCHEDULED");
    match details_key {
        "pickup_details" => {
            check_string(out, details, "note", &dpath, 500);
            check_string(out, details, "cancel_reason", &dpath, 100);
            if schedule == "SCHEDULED" && present(details, "pickup_at").is_none() {
                out.push(Violation::reject(
                    &format!("{dpath}.pickup_at"),
                    "MISSING_REQUIRED_PARAMETER",
                    "A SCHEDULED pickup (the default schedule_type) needs `pickup_at`.",
                ));
            }
            for key in ["pickup_at", "expires_at"] {
                check_timestamp(out, details, key, &dpath);
            }
            for key in [
                "prep_time_duration",
                "pickup_window_duration",
                "auto_complete_duration",
            ] {
                check_duration(out, details, key, &dpath);
            }
        }
        "delivery_details" => {
            check_string(out, details, "note", &dpath, 550);
            if schedule == "SCHEDULED" && present(details, "deliver_at").is_none() {
                out.push(Violation::reject(
                    &format!("{dpath}.deliver_at"),
                    "MISSING_REQUIRED_PARAMETER",
                    "A SCHEDULED delivery (the default schedule_type) needs `deliver_at`.",
                ));
            }
            if schedule == "ASAP" && present(details, "prep_time_duration").is_none() {
                out.push(Violation::reject(
                    &format!("{dpath}.prep_time_duration"),
                    "MISSING_REQUIRED_PARAMETER",
                    "An ASAP delivery needs `prep_time_duration`.",
                ));
            }
            for key in ["deliver_at", "courier_pickup_at"] {
                check_timestamp(out, details, key, &dpath);
            }
            for key in [
                "prep_time_duration",
                "delivery_window_duration",
                "courier_pickup_window_duration",
            ] {
                check_duration(out, details, key, &dpath);
            }
        }
        _ => {}
    }
    if let Some(recipient) = present(details, "recipient") {
        let rpath = format!("{dpath}.recipient");
        check_string(out, recipient, "display_name", &rpath, 255);
        check_string(out, recipient, "phone_number", &rpath, 17);
        check_string(out, recipient, "email_address", &rpath, 255);
        check_string(out, recipient, "customer_id", &rpath, 191);
    }
}

fn check_timestamp(out: &mut Vec<Violation>, obj: &Value, key: &str, path: &str) {
    if let Some(v) = present(obj, key) {
        let ok = v
            .as_str()
            .is_some_and(|s| s.contains('T') && s.parse::<jiff::Timestamp>().is_ok());
        if !ok {
            out.push(Violation::reject(
                &format!("{path}.{key}"),
                "INVALID_TIME",
                format!("{v} is not an RFC 3339 timestamp (e.g. 2016-09-04T23:59:33.123Z)."),
            ));
        }
    }
}

fn check_duration(out: &mut Vec<Violation>, obj: &Value, key: &str, path: &str) {
    if let Some(v) = present(obj, key) {
        let ok = v
            .as_str()
            .is_some_and(|s| s.starts_with('P') && s.parse::<jiff::Span>().is_ok());
        if !ok {
            out.push(Violation::reject(
                &format!("{path}.{key}"),
                "INVALID_VALUE",
                format!("{v} is not an RFC 3339 duration (e.g. PT20M, P1W3D)."),
            ));
        }
    }
}

/// Every `metadata` map (keys ≤ 60 of `[a-zA-Z0-9_-]`, values ≤ 255, ≤ 10 entries) and every
/// `*_money` (integer amount ≥ 0, currency of 3 upper-case letters = the location's).
fn walk_order(out: &mut Vec<Violation>, value: &Value, path: &str, currency: Option<&str>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let cpath = format!("{path}.{key}");
                if child.is_null() {
                    continue;
                }
                if key == "metadata" {
                    metadata_rules(out, child, &cpath);
                } else if key.ends_with("_money") && child.is_object() {
                    money_rules(out, child, &cpath, currency);
                } else {
                    walk_order(out, child, &cpath, currency);
                }
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                walk_order(out, child, &format!("{path}[{i}]"), currency);
            }
        }
        _ => {}
    }
}

fn metadata_rules(out: &mut Vec<Violation>, value: &Value, path: &str) {
    let Some(map) = value.as_object() else {
        out.push(Violation::reject(
            path,
            "EXPECTED_OBJECT",
            "Metadata is a map of strings.",
        ));
        return;
    };
    if map.len() > 10 {
        out.push(Violation::reject(
            path,
            "INVALID_VALUE",
            format!(
                "An application can have up to 10 metadata entries; there are {}.",
                map.len()
            ),
        ));
    }
    for (key, v) in map {
        let kpath = format!("{path}.{key}");
        let key_ok = !key.is_empty()
            && chars(key) <= 60
            && key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !key_ok {
            out.push(Violation::reject(
                &kpath,
                "INVALID_VALUE",
                "Metadata keys must be 1–60 characters of [a-zA-Z0-9_-].",
            ));
        }
        match v {
            Value::String(s) if chars(s) > 255 => out.push(Violation::reject(
                &kpath,
                "VALUE_TOO_LONG",
                "Metadata values have a maximum length of 255 characters.",
            )),
            Value::String(_) => {}
            _ => out.push(Violation::reject(
                &kpath,
                "EXPECTED_STRING",
                "Metadata values are strings.",
            )),
        }
    }
}

fn money_rules(out: &mut Vec<Violation>, money: &Value, path: &str, currency: Option<&str>) {
    match present(money, "amount") {
        None => out.push(Violation::reject(
            &format!("{path}.amount"),
            "MISSING_REQUIRED_PARAMETER",
            "Money needs an `amount` in the currency's smallest unit.",
        )),
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => {
            if n.as_i64().is_some_and(|a| a < 0) {
                out.push(Violation::reject(
                    &format!("{path}.amount"),
                    "VALUE_TOO_LOW",
                    "The amount must not be negative.",
                ));
            }
        }
        Some(_) => out.push(Violation::reject(
            &format!("{path}.amount"),
            "EXPECTED_INTEGER",
            "The amount is an integer in the currency's smallest unit.",
        )),
    }
    match present(money, "currency") {
        None => out.push(Violation::reject(
            &format!("{path}.currency"),
            "MISSING_REQUIRED_PARAMETER",
            "Money needs a `currency`.",
        )),
        Some(Value::String(c)) => {
            if c.len() != 3 || !c.bytes().all(|b| b.is_ascii_uppercase()) {
                out.push(Violation::reject(
                    &format!("{path}.currency"),
                    "INVALID_ENUM_VALUE",
                    format!("{c:?} is not an ISO 4217 currency code."),
                ));
            } else if let Some(want) = currency
                && c != want
            {
                out.push(Violation::reject(
                    &format!("{path}.currency"),
                    "INVALID_VALUE",
                    format!("The currency {c} does not match the location's currency {want}."),
                ));
            }
        }
        Some(_) => out.push(Violation::reject(
            &format!("{path}.currency"),
            "EXPECTED_STRING",
            "Expected a string.",
        )),
    }
}

// ------------------------------------------------------------------------------------------------
// Validation: schema errors → Square errors, read-only fields
// ------------------------------------------------------------------------------------------------

fn violation_of(e: &jsonschema::ValidationError<'_>) -> Violation {
    use jsonschema::JsonType;
    use jsonschema::error::{TypeKind, ValidationErrorKind as K};
    let field = location_field(e.instance_path());
    let detail = format!("{e}");
    let code = match e.kind() {
        K::AnyOf { context } => {
            // Square's nullable fields are `anyOf: [{$ref}, {"type": "null"}]`: report the
            // non-null branch.
            for branch in context {
                let null_only = branch.len() == 1
                    && matches!(
                        branch[0].kind(),
                        K::Type {
                            kind: TypeKind::Single(JsonType::Null)
                        }
                    );
                if let (false, Some(first)) = (null_only, branch.first()) {
                    return violation_of(first);
                }
            }
            "INVALID_VALUE"
        }
        K::Required { property } => {
            let name = property.as_str().unwrap_or_default();
            let field = if field.is_empty() {
                name.to_string()
            } else {
                format!("{field}.{name}")
            };
            return Violation::reject(&field, "MISSING_REQUIRED_PARAMETER", detail);
        }
        K::MaxLength { .. } => "VALUE_TOO_LONG",
        K::MinLength { .. } => "VALUE_TOO_SHORT",
        K::Enum { .. } => "INVALID_ENUM_VALUE",
        K::Minimum { .. } | K::ExclusiveMinimum { .. } => "VALUE_TOO_LOW",
        K::Maximum { .. } | K::ExclusiveMaximum { .. } => "VALUE_TOO_HIGH",
        K::MaxItems { .. } => "ARRAY_LENGTH_TOO_LONG",
        K::MinItems { .. } => "ARRAY_LENGTH_TOO_SHORT",
        K::Type { kind } => {
            let wanted: Vec<JsonType> = match kind {
                TypeKind::Single(t) => vec![*t],
                TypeKind::Multiple(set) => set.iter().collect(),
            };
            match wanted.into_iter().find(|t| *t != JsonType::Null) {
                Some(JsonType::String) => "EXPECTED_STRING",
                Some(JsonType::Integer) => "EXPECTED_INTEGER",
                Some(JsonType::Number) => "EXPECTED_FLOAT",
                Some(JsonType::Boolean) => "EXPECTED_BOOLEAN",
                Some(JsonType::Array) => "EXPECTED_ARRAY",
                Some(JsonType::Object) => "EXPECTED_OBJECT",
                _ => "INVALID_VALUE",
            }
        }
        _ => "INVALID_VALUE",
    };
    Violation::reject(&field, code, detail)
}

/// A JSON pointer as Square names fields: `order.line_items[0].quantity`.
fn location_field(location: &jsonschema::paths::Location) -> String {
    use jsonschema::paths::LocationSegment;
    let mut field = String::new();
    for segment in location.segments() {
        match segment {
            LocationSegment::Property(p) => {
                if !field.is_empty() {
                    field.push('.');
                }
                field.push_str(&p);
            }
            LocationSegment::Index(i) => field.push_str(&format!("[{i}]")),
        }
    }
    field
}

/// A path inside a JSON value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Seg {
    Key(String),
    Index(usize),
}

fn field_name(path: &[Seg]) -> String {
    let mut field = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) => {
                if !field.is_empty() {
                    field.push('.');
                }
                field.push_str(k);
            }
            Seg::Index(i) => field.push_str(&format!("[{i}]")),
        }
    }
    field
}

fn remove_path(value: &mut Value, path: &[Seg]) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut cur = value;
    for seg in parents {
        let next = match (seg, cur) {
            (Seg::Key(k), Value::Object(m)) => m.get_mut(k),
            (Seg::Index(i), Value::Array(a)) => a.get_mut(*i),
            _ => None,
        };
        match next {
            Some(v) => cur = v,
            None => return,
        }
    }
    if let (Seg::Key(k), Value::Object(m)) = (last, cur) {
        m.remove(k);
    }
}

/// Paths of read-only fields (per the schema's `readOnly`) present in a CreateOrder body.
fn read_only_paths(schemas: &Schemas, body: &Value) -> Vec<Vec<Seg>> {
    let mut out = Vec::new();
    match &schemas.create_order {
        Some(schema) => {
            let defs = &schema["definitions"];
            walk_read_only(defs, schema, body, &mut Vec::new(), &mut out, 0);
        }
        None => {
            // Without the schema: the Order and line-item read-only fields of this snapshot.
            const ORDER: &[&str] = &[
                "id",
                "returns",
                "return_amounts",
                "net_amounts",
                "rounding_adjustment",
                "tenders",
                "refunds",
                "created_at",
                "updated_at",
                "closed_at",
                "total_money",
                "total_tax_money",
                "total_discount_money",
                "total_tip_money",
                "total_service_charge_money",
                "rewards",
                "net_amount_due_money",
            ];
            const LINE: &[&str] = &[
                "variation_total_price_money",
                "gross_sales_money",
                "total_tax_money",
                "total_discount_money",
                "total_money",
                "total_service_charge_money",
            ];
            let order = &body["order"];
            for key in ORDER {
                if order.get(*key).is_some() {
                    out.push(vec![Seg::Key("order".into()), Seg::Key(key.to_string())]);
                }
            }
            if let Some(lines) = order["line_items"].as_array() {
                for (i, line) in lines.iter().enumerate() {
                    for key in LINE {
                        if line.get(*key).is_some() {
                            out.push(vec![
                                Seg::Key("order".into()),
                                Seg::Key("line_items".into()),
                                Seg::Index(i),
                                Seg::Key(key.to_string()),
                            ]);
                        }
                    }
                }
            }
        }
    }
    let mut seen = HashSet::new();
    out.retain(|p| seen.insert(p.clone()));
    out
}

fn walk_read_only(
    defs: &Value,
    schema: &Value,
    instance: &Value,
    path: &mut Vec<Seg>,
    out: &mut Vec<Vec<Seg>>,
    depth: usize,
) {
    if depth > 64 || instance.is_null() {
        return;
    }
    if schema["readOnly"] == json!(true) {
        out.push(path.clone());
        return;
    }
    if let Some(target) = schema["$ref"].as_str() {
        if let Some(name) = target.strip_prefix("#/definitions/") {
            walk_read_only(defs, &defs[name], instance, path, out, depth + 1);
        }
        return;
    }
    for combinator in ["allOf", "anyOf", "oneOf"] {
        if let Some(subs) = schema[combinator].as_array() {
            for sub in subs {
                walk_read_only(defs, sub, instance, path, out, depth + 1);
            }
        }
    }
    match instance {
        Value::Object(map) => {
            if let Some(props) = schema["properties"].as_object() {
                for (key, child) in map {
                    if let Some(sub) = props.get(key) {
                        path.push(Seg::Key(key.clone()));
                        walk_read_only(defs, sub, child, path, out, depth + 1);
                        path.pop();
                    }
                }
            }
        }
        Value::Array(items) => {
            if let Some(sub) = schema.get("items").filter(|s| s.is_object()) {
                for (i, child) in items.iter().enumerate() {
                    path.push(Seg::Index(i));
                    walk_read_only(defs, sub, child, path, out, depth + 1);
                    path.pop();
                }
            }
        }
        _ => {}
    }
}

// ------------------------------------------------------------------------------------------------
// Catalog
// ------------------------------------------------------------------------------------------------

impl Inner {
    fn list_catalog(&self, req: &Request) -> Action {
        let mut st = self.lock();
        st.requests.push(record(req));
        let ctx = "GET /v2/catalog/list";
        let auth = check_bearer(&mut st, ctx, req, "ITEMS_READ");
        let version = check_square_version(&mut st, ctx, req);
        if let Err(resp) = auth.map(|_| ()).and(version) {
            return Action::Respond(resp);
        }
        let types: Option<Vec<String>> = req.query("types").map(|t| {
            t.split(',')
                .map(|s| s.trim().to_ascii_uppercase())
                .filter(|s| !s.is_empty())
                .collect()
        });
        let objects: Vec<Value> = st
            .catalog
            .iter()
            .flatten()
            .filter(|o| o["is_deleted"] != json!(true))
            .filter(|o| {
                types
                    .as_ref()
                    .is_none_or(|t| t.iter().any(|t| o["type"] == json!(t)))
            })
            .cloned()
            .collect();
        match page(&objects, req.query("cursor"), 100) {
            Ok(answer) => Action::Respond(Response::json(200, &answer)),
            Err(resp) => Action::Respond(resp),
        }
    }

    fn search_catalog(&self, req: &Request) -> Action {
        let mut st = self.lock();
        st.requests.push(record(req));
        let ctx = "POST /v2/catalog/search";
        let auth = check_bearer(&mut st, ctx, req, "ITEMS_READ");
        let version = check_square_version(&mut st, ctx, req);
        let content = check_content_type(&mut st, ctx, req);
        let body = match req.json() {
            Ok(Value::Null) => json!({}),
            Ok(body) => body,
            Err(e) => {
                st.problem(ctx, format!("the body is not JSON: {e}"));
                return Action::Respond(error_response(
                    400,
                    vec![SqError::new("EXPECTED_JSON_BODY", "The body must be JSON.")],
                ));
            }
        };
        let violations = dedupe(self.schema_violations("SearchCatalogObjectsRequest", &body));
        for v in &violations {
            st.problem(
                ctx,
                format!("{}: {}: {}", or_root(&v.field), v.code, v.detail),
            );
        }
        if let Err(resp) = auth.map(|_| ()).and(version).and(content) {
            return Action::Respond(resp);
        }
        if !violations.is_empty() {
            let errors = violations
                .iter()
                .map(|v| SqError::new(v.code, v.detail.clone()).field(v.field.clone()))
                .collect();
            return Action::Respond(error_response(400, errors));
        }
        let types: Option<Vec<&str>> = body["object_types"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect());
        let include_deleted = body["include_deleted_objects"] == json!(true);
        let query = &body["query"];
        let objects: Vec<Value> = st
            .catalog
            .iter()
            .flatten()
            .filter(|o| include_deleted || o["is_deleted"] != json!(true))
            .filter(|o| {
                types
                    .as_ref()
                    .is_none_or(|t| t.iter().any(|t| o["type"] == json!(t)))
            })
            .filter(|o| catalog_matches(o, query))
            .cloned()
            .collect();
        let limit = body["limit"].as_u64().unwrap_or(100).clamp(1, 1000) as usize;
        let cursor = body["cursor"].as_str();
        match page(&objects, cursor, limit) {
            Ok(answer) => Action::Respond(Response::json(200, &answer)),
            Err(resp) => Action::Respond(resp),
        }
    }
}

/// `{objects, cursor?}` from `cursor` (an index); Square answers `{}` when there is nothing.
fn page(objects: &[Value], cursor: Option<&str>, limit: usize) -> Result<Value, Response> {
    let start = match cursor {
        None | Some("") => 0,
        Some(c) => c.parse::<usize>().map_err(|_| {
            error_response(
                400,
                vec![SqError::new("INVALID_CURSOR", "Invalid cursor.").field("cursor")],
            )
        })?,
    };
    let end = (start + limit).min(objects.len());
    let mut answer = json!({});
    if start < end {
        answer["objects"] = json!(objects[start..end]);
    }
    if end < objects.len() {
        answer["cursor"] = json!(end.to_string());
    }
    Ok(answer)
}

/// The `name` attribute of a catalog object (`<type>_data.name`).
fn catalog_name(object: &Value) -> String {
    let kind = object["type"]
        .as_str()
        .unwrap_or_default()
        .to_ascii_lowercase();
    object[format!("{kind}_data")]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn catalog_attribute(object: &Value, name: &str) -> Option<String> {
    if name == "name" {
        return Some(catalog_name(object));
    }
    let kind = object["type"]
        .as_str()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let v = &object[format!("{kind}_data")][name];
    v.as_str()
        .map(str::to_string)
        .or_else(|| (!v.is_null()).then(|| v.to_string()))
}

fn catalog_matches(object: &Value, query: &Value) -> bool {
    if let Some(keywords) = query["text_query"]["keywords"].as_array() {
        let name = catalog_name(object).to_lowercase();
        return keywords
            .iter()
            .filter_map(Value::as_str)
            .all(|k| name.contains(&k.to_lowercase()));
    }
    if query["exact_query"].is_object() {
        let q = &query["exact_query"];
        let attr = q["attribute_name"].as_str().unwrap_or("name");
        return catalog_attribute(object, attr).as_deref() == q["attribute_value"].as_str();
    }
    if query["prefix_query"].is_object() {
        let q = &query["prefix_query"];
        let attr = q["attribute_name"].as_str().unwrap_or("name");
        let prefix = q["attribute_prefix"].as_str().unwrap_or("").to_lowercase();
        return catalog_attribute(object, attr)
            .is_some_and(|v| v.to_lowercase().starts_with(&prefix));
    }
    true
}

// ------------------------------------------------------------------------------------------------
// OAuth
// ------------------------------------------------------------------------------------------------

/// An OAuth failure: Square's `errors` envelope plus the legacy `message`/`type` members.
fn oauth_error(status: u16, code: &str, detail: &str, field: Option<&str>) -> Response {
    let mut e = SqError::new(code, detail);
    e.field = field.map(str::to_string);
    let legacy_type = match status {
        401 => "service.unauthorized",
        _ => "bad_request",
    };
    Response::json(
        status,
        &json!({"message": detail, "type": legacy_type, "errors": [e.to_json()]}),
    )
}

impl Inner {
    fn obtain_token(&self, req: &Request) -> Action {
        let mut st = self.lock();
        st.requests.push(record(req));
        let ctx = "POST /oauth2/token";
        let fault = st.token_faults.pop_front();
        let version = check_square_version(&mut st, ctx, req);
        let content = check_content_type(&mut st, ctx, req);
        let parsed = req.json();
        let mut violations = Vec::new();
        match &parsed {
            Ok(body) => {
                violations = dedupe(self.schema_violations("ObtainTokenRequest", body));
                for v in &violations {
                    st.problem(
                        ctx,
                        format!("{}: {}: {}", or_root(&v.field), v.code, v.detail),
                    );
                }
            }
            Err(e) => st.problem(ctx, format!("the body is not JSON: {e}")),
        }
        let delay = match fault {
            Some(Fault::TimeoutAfterCommit(d)) => Some(d),
            Some(other) => return fault_action(&other),
            None => None,
        };
        let resp = (|| {
            version?;
            content?;
            let body = match parsed {
                Ok(body @ Value::Object(_)) => body,
                _ => {
                    return Err(oauth_error(
                        400,
                        "EXPECTED_JSON_BODY",
                        "The body must be a JSON object.",
                        None,
                    ));
                }
            };
            if let Some(v) = violations.first() {
                return Err(oauth_error(400, v.code, &v.detail, Some(v.field.as_str())));
            }
            self.grant(&mut st, ctx, &body)
        })()
        .unwrap_or_else(|e| e);
        match delay {
            Some(d) => Action::Delayed(d, resp),
            None => Action::Respond(resp),
        }
    }

    /// The grant itself, once the request is well formed.
    fn grant(&self, st: &mut State, ctx: &str, body: &Value) -> Result<Response, Response> {
        let text = |k: &str| body.get(k).and_then(Value::as_str);
        let missing = |st: &mut State, field: &str, why: &str| {
            st.problem(ctx, format!("{field}: MISSING_REQUIRED_PARAMETER: {why}"));
            oauth_error(
                400,
                "MISSING_REQUIRED_PARAMETER",
                &format!("Missing required parameter `{field}`."),
                Some(field),
            )
        };
        // §A5: `client_id` and `grant_type` are required (also a schema rule; checked here so
        // that it holds without the schemas).
        for field in ["client_id", "grant_type"] {
            if text(field).is_none() {
                return Err(missing(st, field, "ObtainToken requires it (§A5)"));
            }
        }
        let grant_type = text("grant_type").unwrap_or_default();
        if !["authorization_code", "refresh_token"].contains(&grant_type) {
            st.problem(
                ctx,
                format!("grant_type {grant_type:?}: possync uses authorization_code and refresh_token only"),
            );
            return Err(oauth_error(
                400,
                "INVALID_VALUE",
                "Unsupported grant_type.",
                Some("grant_type"),
            ));
        }
        if text("client_secret").is_none() {
            if text("code_verifier").is_some() {
                st.problem(ctx, "a PKCE exchange (code_verifier): possync is a confidential client and sends client_secret");
                return Err(oauth_error(
                    400,
                    "BAD_REQUEST",
                    "The mock does not support PKCE.",
                    None,
                ));
            }
            return Err(missing(
                st,
                "client_secret",
                "the code flow sends client_secret (§A5)",
            ));
        }
        if text("client_id") != Some(st.client_id.as_str())
            || text("client_secret") != Some(st.client_secret.as_str())
        {
            return Err(oauth_error(
                401,
                "UNAUTHORIZED",
                "Not Authorized: invalid client_id or client_secret.",
                None,
            ));
        }
        let short_lived = body["short_lived"] == json!(true);
        let (refresh_token, scopes) = if grant_type == "authorization_code" {
            let Some(code) = text("code") else {
                return Err(missing(
                    st,
                    "code",
                    "the authorization_code grant needs the code",
                ));
            };
            let redirect = text("redirect_uri").map(str::to_string);
            let Some(entry) = st.codes.get(code) else {
                return Err(oauth_error(
                    401,
                    "UNAUTHORIZED",
                    "Authorization code not found.",
                    Some("code"),
                ));
            };
            let (used, expired, want, scopes) = (
                entry.used,
                entry.issued.elapsed() > CODE_LIFETIME,
                entry.redirect_uri.clone(),
                entry.scopes.clone(),
            );
            if used {
                return Err(oauth_error(
                    401,
                    "UNAUTHORIZED",
                    "Authorization code is already redeemed.",
                    Some("code"),
                ));
            }
            if expired {
                return Err(oauth_error(
                    401,
                    "UNAUTHORIZED",
                    "Authorization code is expired.",
                    Some("code"),
                ));
            }
            if let Some(want) = want
                && redirect.as_deref() != Some(want.as_str())
            {
                st.problem(
                        ctx,
                        format!("redirect_uri {redirect:?} differs from the authorize request's {want:?} (§A5)"),
                    );
                return Err(oauth_error(
                    400,
                    "INVALID_VALUE",
                    "redirect_uri does not match the authorize request.",
                    Some("redirect_uri"),
                ));
            }
            if let Some(entry) = st.codes.get_mut(code) {
                entry.used = true;
            }
            let refresh = format!("EQAA{}", random_string(60));
            st.refresh_tokens.insert(
                refresh.clone(),
                RefreshToken {
                    scopes: scopes.clone(),
                    revoked: false,
                },
            );
            (refresh, scopes)
        } else {
            let Some(refresh) = text("refresh_token") else {
                return Err(missing(
                    st,
                    "refresh_token",
                    "the refresh_token grant needs the refresh token",
                ));
            };
            let Some(entry) = st.refresh_tokens.get(refresh) else {
                return Err(oauth_error(
                    401,
                    "UNAUTHORIZED",
                    "Refresh token not found.",
                    Some("refresh_token"),
                ));
            };
            if entry.revoked {
                return Err(oauth_error(
                    401,
                    "UNAUTHORIZED",
                    "The refresh token has been revoked.",
                    Some("refresh_token"),
                ));
            }
            let mut scopes = entry.scopes.clone();
            if let Some(narrow) = body["scopes"].as_array() {
                let narrow: Vec<&str> = narrow.iter().filter_map(Value::as_str).collect();
                scopes.retain(|s| narrow.contains(&s.as_str()));
            }
            (refresh.to_string(), scopes)
        };
        let access = format!("EAAA{}", random_string(60));
        let mut info = AccessToken::fresh(&scopes);
        if short_lived {
            info.expires_at = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24);
        }
        let expires_at = rfc3339_seconds(info.expires_at);
        st.tokens.insert(access.clone(), info);
        st.tokens_issued.push(access.clone());
        Ok(Response::json(
            200,
            &json!({
                "access_token": access,
                "token_type": "bearer",
                "expires_at": expires_at,
                "merchant_id": MERCHANT_ID,
                "refresh_token": refresh_token,
                "short_lived": short_lived,
            }),
        ))
    }

    fn revoke_token(&self, req: &Request) -> Action {
        let mut st = self.lock();
        st.requests.push(record(req));
        let ctx = "POST /oauth2/revoke";
        let version = check_square_version(&mut st, ctx, req);
        let content = check_content_type(&mut st, ctx, req);
        let auth = match req.header("authorization") {
            Some(v) if v.starts_with("Client ") => Some(v["Client ".len()..].trim().to_string()),
            Some(v) => {
                let scheme = v.split_whitespace().next().unwrap_or_default().to_string();
                st.problem(
                    ctx,
                    format!(
                        "Authorization scheme {scheme:?}: RevokeToken takes `Client <secret>` (§A5)"
                    ),
                );
                None
            }
            None => {
                st.problem(
                    ctx,
                    "no Authorization header: RevokeToken takes `Client <secret>` (§A5)",
                );
                None
            }
        };
        let body = match req.json() {
            Ok(body @ Value::Object(_)) => body,
            other => {
                st.problem(ctx, format!("the body is not a JSON object: {other:?}"));
                return Action::Respond(oauth_error(
                    400,
                    "EXPECTED_JSON_BODY",
                    "The body must be a JSON object.",
                    None,
                ));
            }
        };
        let mut violations = dedupe(self.schema_violations("RevokeTokenRequest", &body));
        let access_token = present(&body, "access_token")
            .and_then(Value::as_str)
            .map(str::to_string);
        let merchant = present(&body, "merchant_id")
            .and_then(Value::as_str)
            .map(str::to_string);
        if present(&body, "client_id").is_none() {
            violations.push(Violation::reject(
                "client_id",
                "MISSING_REQUIRED_PARAMETER",
                "RevokeToken needs client_id (§A5).",
            ));
        }
        match (&access_token, &merchant) {
            (Some(_), Some(_)) => violations.push(Violation::reject(
                "access_token",
                "CONFLICTING_PARAMETERS",
                "Send access_token or merchant_id, never both.",
            )),
            (None, None) => violations.push(Violation::reject(
                "access_token",
                "MISSING_REQUIRED_PARAMETER",
                "Send access_token or merchant_id.",
            )),
            _ => {}
        }
        for v in &violations {
            st.problem(
                ctx,
                format!("{}: {}: {}", or_root(&v.field), v.code, v.detail),
            );
        }
        if let Err(resp) = version.and(content) {
            return Action::Respond(resp);
        }
        let Some(secret) = auth else {
            return Action::Respond(oauth_error(401, "UNAUTHORIZED", "Not Authorized.", None));
        };
        if let Some(v) = violations.first() {
            return Action::Respond(oauth_error(400, v.code, &v.detail, Some(v.field.as_str())));
        }
        if secret != st.client_secret || body["client_id"].as_str() != Some(st.client_id.as_str()) {
            return Action::Respond(oauth_error(
                401,
                "UNAUTHORIZED",
                "Not Authorized: invalid client credentials.",
                None,
            ));
        }
        let named = match (&access_token, &merchant) {
            (Some(token), _) => {
                if !st.tokens.contains_key(token) {
                    return Action::Respond(oauth_error(
                        404,
                        "NOT_FOUND",
                        "Access token not found.",
                        Some("access_token"),
                    ));
                }
                token.clone()
            }
            (None, Some(m)) => {
                if m != MERCHANT_ID {
                    return Action::Respond(oauth_error(
                        404,
                        "NOT_FOUND",
                        "Merchant not found.",
                        Some("merchant_id"),
                    ));
                }
                m.clone()
            }
            (None, None) => unreachable!("checked above"),
        };
        // Every token of the merchant for this application dies (the mock has one merchant).
        for t in st.tokens.values_mut() {
            t.revoked = true;
        }
        if body["revoke_only_access_token"] != json!(true) {
            for r in st.refresh_tokens.values_mut() {
                r.revoked = true;
            }
        }
        st.revoked.push(named);
        Action::Respond(Response::json(200, &json!({"success": true})))
    }

    fn token_status(&self, req: &Request) -> Action {
        let mut st = self.lock();
        st.requests.push(record(req));
        let ctx = "POST /oauth2/token/status";
        let version = check_square_version(&mut st, ctx, req);
        let token = req
            .header("authorization")
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .map(str::to_string);
        if token.is_none() {
            st.problem(ctx, "no `Authorization: Bearer <token>` header");
        }
        if let Err(resp) = version {
            return Action::Respond(resp);
        }
        let info = token.as_ref().and_then(|t| st.tokens.get(t));
        match info {
            Some(info) if info.usable().is_ok() => Action::Respond(Response::json(
                200,
                &json!({
                    "scopes": info.scopes,
                    "expires_at": rfc3339_seconds(info.expires_at),
                    "client_id": st.client_id,
                    "merchant_id": MERCHANT_ID,
                }),
            )),
            _ => Action::Respond(oauth_error(401, "UNAUTHORIZED", UNAUTHORIZED_DETAIL, None)),
        }
    }

    /// The consent page, answered at once as if the seller pressed Allow (or Deny).
    fn authorize(&self, req: &Request) -> Action {
        let mut st = self.lock();
        st.requests.push(record(req));
        let ctx = "GET /oauth2/authorize";
        let client_id = req.query("client_id");
        if client_id != Some(st.client_id.as_str()) {
            if client_id.is_none() {
                st.problem(ctx, "no client_id");
            }
            return Action::Respond(oauth_error(
                400,
                "BAD_REQUEST",
                "Invalid client_id.",
                Some("client_id"),
            ));
        }
        let Some(redirect) = req.query("redirect_uri").map(str::to_string) else {
            return Action::Respond(oauth_error(
                400,
                "BAD_REQUEST",
                "The mock has no registered redirect URL: send redirect_uri.",
                Some("redirect_uri"),
            ));
        };
        let state = req.query("state").unwrap_or_default().to_string();
        if state.is_empty() {
            st.problem(ctx, "no state parameter (the CSRF value, §A5)");
        }
        let scopes: Vec<String> = match req.query("scope") {
            Some(s) => s
                .split([' ', '+'])
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
            None => AUTHORIZE_DEFAULT_SCOPES
                .iter()
                .map(|s| s.to_string())
                .collect(),
        };
        let mut query = form_urlencoded::Serializer::new(String::new());
        if st.authorize_denies {
            query
                .append_pair("error", "access_denied")
                .append_pair("error_description", "user_denied")
                .append_pair("state", &state);
        } else {
            let code = format!("sq0cgb-{}", random_string(22));
            st.codes.insert(
                code.clone(),
                AuthCode {
                    scopes,
                    redirect_uri: Some(redirect.clone()),
                    issued: Instant::now(),
                    used: false,
                },
            );
            query
                .append_pair("code", &code)
                .append_pair("response_type", "code")
                .append_pair("state", &state);
        }
        let separator = if redirect.contains('?') { '&' } else { '?' };
        let location = format!("{redirect}{separator}{}", query.finish());
        Action::Respond(Response {
            status: 302,
            headers: vec![("Location".into(), location)],
            body: Vec::new(),
        })
    }
}

// ------------------------------------------------------------------------------------------------
// Schemas
// ------------------------------------------------------------------------------------------------

/// The compiled provider schemas (whatever of them was found).
struct Schemas {
    validators: HashMap<&'static str, jsonschema::Validator>,
    /// `create-order.schema.json` itself, for its `readOnly` annotations.
    create_order: Option<Value>,
    /// `ErrorCode.x-error-category`.
    error_categories: HashMap<String, String>,
}

impl Schemas {
    fn loaded(&self) -> bool {
        self.validators.contains_key("CreateOrderRequest")
    }
}

/// `$POSSYNC_PROVIDERS_DIR`, else `<CARGO_MANIFEST_DIR>/../shared/providers`.
fn providers_dir() -> PathBuf {
    match std::env::var_os("POSSYNC_PROVIDERS_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/providers"),
    }
}

/// Compiled once per directory and process.
fn schemas_for(dir: &Path) -> Arc<Schemas> {
    static CACHE: OnceLock<Mutex<HashMap<PathBuf, Arc<Schemas>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
    cache
        .entry(dir.to_path_buf())
        .or_insert_with(|| Arc::new(load_schemas(dir)))
        .clone()
}

fn load_schemas(dir: &Path) -> Schemas {
    let mut schemas = Schemas {
        validators: HashMap::new(),
        create_order: None,
        error_categories: HashMap::new(),
    };
    let missing = std::cell::RefCell::new(Vec::new());
    let read = |file: &str| -> Option<Value> {
        let path = dir.join("square").join(file);
        match std::fs::read_to_string(&path) {
            Ok(text) => Some(
                serde_json::from_str(&text)
                    .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display())),
            ),
            Err(e) => {
                missing
                    .borrow_mut()
                    .push(format!("{} ({e})", path.display()));
                None
            }
        }
    };
    let compile = |name: &str, schema: &Value| -> jsonschema::Validator {
        jsonschema::draft7::new(schema)
            .unwrap_or_else(|e| panic!("the schema {name} does not compile: {e}"))
    };
    let rooted = |file: &Value, def: &str| {
        json!({
            "$schema": "http://json-schema.org/draft-07/schema#",
            "$ref": format!("#/definitions/{def}"),
            "definitions": file["definitions"],
        })
    };
    if let Some(file) = read("create-order.schema.json") {
        schemas
            .validators
            .insert("CreateOrderRequest", compile("CreateOrderRequest", &file));
        schemas.create_order = Some(file);
    }
    if let Some(file) = read("create-order-response.schema.json") {
        schemas
            .validators
            .insert("CreateOrderResponse", compile("CreateOrderResponse", &file));
    }
    if let Some(file) = read("oauth.schema.json") {
        for def in [
            "ObtainTokenRequest",
            "ObtainTokenResponse",
            "RevokeTokenRequest",
            "RevokeTokenResponse",
            "RetrieveTokenStatusResponse",
            "ErrorsEnvelope",
            "Error",
        ] {
            schemas
                .validators
                .insert(def, compile(def, &rooted(&file, def)));
        }
        if let Some(table) = file["definitions"]["ErrorCode"]["x-error-category"].as_object() {
            for (code, category) in table {
                if let Some(category) = category.as_str() {
                    schemas
                        .error_categories
                        .insert(code.clone(), category.to_string());
                }
            }
        }
    }
    if let Some(file) = read("catalog-locations.schema.json") {
        for def in [
            "ListLocationsResponse",
            "ListCatalogResponse",
            "SearchCatalogObjectsRequest",
            "SearchCatalogObjectsResponse",
            "RetrieveOrderResponse",
        ] {
            schemas
                .validators
                .insert(def, compile(def, &rooted(&file, def)));
        }
    }
    let missing = missing.into_inner();
    if !missing.is_empty() {
        eprintln!(
            "\n!!!!!!!! SCHEMA CHECK SKIPPED for the mock Square: {}. The prose and header rules \
             still apply, but nothing is checked against the missing schemas. Set \
             POSSYNC_PROVIDERS_DIR to the folder holding square/. !!!!!!!!\n",
            missing.join("; ")
        );
    }
    schemas
}

// ------------------------------------------------------------------------------------------------
// Small helpers
// ------------------------------------------------------------------------------------------------

fn random_string(len: usize) -> String {
    let mut bytes = vec![0u8; len];
    getrandom::fill(&mut bytes).expect("random bytes");
    bytes
        .iter()
        .map(|b| BASE62[usize::from(*b) % BASE62.len()] as char)
        .collect()
}

fn rfc3339_ms(at: jiff::Timestamp) -> String {
    at.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

fn rfc3339_seconds(at: jiff::Timestamp) -> String {
    at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn now_rfc3339_ms() -> String {
    rfc3339_ms(jiff::Timestamp::now())
}

fn days_from_now(days: i64) -> jiff::Timestamp {
    jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24 * days)
}

fn money(amount: i64, currency: &str) -> Value {
    json!({"amount": amount, "currency": currency})
}

fn first_currency(value: &Value) -> Option<String> {
    match value {
        Value::Object(map) => {
            if let (Some(Value::String(c)), true) =
                (map.get("currency"), map.contains_key("amount"))
            {
                return Some(c.clone());
            }
            map.values().find_map(first_currency)
        }
        Value::Array(items) => items.iter().find_map(first_currency),
        _ => None,
    }
}

/// `"12"` → (12, 0), `"2.25"` → (225, 2); digits with at most one dot.
fn parse_decimal(s: &str) -> Option<(i128, u32)> {
    let (whole, frac) = match s.split_once('.') {
        Some((w, f)) => (w, f),
        None => (s, ""),
    };
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || (s.contains('.') && !digits(frac)) {
        return None;
    }
    let mantissa: i128 = format!("{whole}{frac}").parse().ok()?;
    Some((mantissa, u32::try_from(frac.len()).ok()?))
}

/// `amount × quantity` in integer minor units, rounded half away from zero.
fn times(amount: i64, (mantissa, scale): (i128, u32)) -> i64 {
    let product = i128::from(amount) * mantissa;
    let divisor = 10i128.pow(scale);
    let rounded = if product >= 0 {
        (product + divisor / 2) / divisor
    } else {
        (product - divisor / 2) / divisor
    };
    i64::try_from(rounded).unwrap_or(i64::MAX)
}
