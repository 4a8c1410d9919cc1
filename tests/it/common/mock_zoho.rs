//! A mock Zoho Inventory and Zoho Accounts for the sync tests, over real HTTP/1.1 on 127.0.0.1
//! (port 0), one server for both.
//!
//! What it imitates (providers/README.md §B, §B6, §F4):
//! - Inventory under `/inventory/v1` (pass `{base}/inventory/v1` as `--zoho-api-base-url`):
//!   `POST /salesorders`, `GET /salesorders` (`reference_number` lookup), `GET|POST /contacts`
//!   (`phone_contains`, `contact_name` filters; a duplicate `contact_name` is refused with a
//!   message containing "exists"), `GET /organizations`, `GET /items`.
//!   Every call needs `Authorization: Zoho-oauthtoken <live access token>` (else 401
//!   `{"code":57,…}`) and, except `/organizations`, `organization_id` (else 400 with a non-zero
//!   code). `POST /salesorders` is validated against
//!   `zoho/salesorders.schema.json#/definitions/create-a-sales-order-request` with
//!   `salesorder_number` not required (§B2), plus the rules below, and answers 201
//!   `{code:0, message, salesorder:{salesorder_id: "<19 digits>", salesorder_number: "SO-00001",
//!   status: "draft", …}}`. 100 requests per minute per organisation, then 429
//!   ([`MockZoho::set_rate_limit`] changes both numbers).
//! - Accounts (pass `{base}` as `--zoho-accounts-base-url`): `GET /oauth/v2/auth` (302 back with a
//!   code), `POST /oauth/v2/token` (form or query parameters; `authorization_code` and
//!   `refresh_token` grants; failures are HTTP 200 `{"error":"invalid_code"}`; `expires_in` 3600;
//!   `api_domain` = this mock; the refresh token is never rotated) and
//!   `POST /oauth/v2/token/revoke?token=`.
//! - Faults queued per endpoint with [`MockZoho::push_fault_on`] ([`MockZoho::push_fault`]:
//!   `POST /salesorders`); each request to that endpoint that passes the auth checks consumes one.
//!
//! Anything possync sends that breaks the schemas or the rules (headers, `organization_id`,
//! JSON bodies, line items, rates in the organisation's currency precision, dates, unknown
//! fields, the Accounts form rules, refreshing more than 10 times in 10 minutes) is noted in
//! [`MockZoho::problems`]; the tests assert that it stays empty. A wrong, expired or revoked token
//! is not a problem (the tests provoke those); a malformed `Authorization` header is.
//!
//! Unverified details of the real service that this mock had to choose (see §E): the codes of
//! a missing/unknown organisation (2, 6041), of a schema error (4), of a duplicate contact name
//! (3062), of a duplicate sales order number (36004) and of a rate limit (44); the body of the
//! revoke endpoint; whether `reference_number` filters exactly (here: exactly).
//!
//! The schemas are read from `$POSSYNC_PROVIDERS_DIR` or `<CARGO_MANIFEST_DIR>/../shared/providers`.
//! When a file is missing, the mock warns loudly once ("SCHEMA CHECK SKIPPED") and skips only the
//! schema check: every other rule still applies.
//!
//! The small HTTP server in [`wire`] is shared with the mock Dine POS.

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::mock_http::{self, Action, CommitFault, Handler, Request, Response, Server};

/// The one organisation the mock knows until [`MockZoho::add_organization`].
pub const ORGANIZATION_ID: &str = "60019077540";
/// The OAuth client the Accounts server accepts.
pub const CLIENT_ID: &str = "1000.MOCKZOHOCLIENTID0000000000000";
pub const CLIENT_SECRET: &str = "mockzohoclientsecret00000000000000000000ab";
/// Where the Inventory API lives under the mock's base URL.
pub const API_PREFIX: &str = "/inventory/v1";
/// Access tokens live an hour (§B5).
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(3600);
/// Zoho's message for code 57.
pub const NOT_AUTHORIZED: &str = "You are not authorized to perform this operation";

/// An endpoint of the mock, for targeting faults and filtering requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ZohoEndpoint {
    CreateSalesOrder,
    ListSalesOrders,
    CreateContact,
    ListContacts,
    Organizations,
    Items,
    /// `POST /oauth/v2/token`, both grants.
    Token,
    Revoke,
    Authorize,
}

/// What a request does instead of (or besides) behaving normally.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ZohoFault {
    /// This HTTP status with a non-JSON body, as a gateway in front of Zoho would answer.
    Status(u16),
    /// This HTTP status with `{"code", "message"}` (HTTP 200 with a non-zero code is Zoho's
    /// usual way of failing).
    Code {
        status: u16,
        code: i64,
        message: String,
    },
    /// 429 `{"code":44,…}`, with `Retry-After` when `Some`.
    RateLimited { retry_after: Option<String> },
    /// Do the work (the sales order is created), then sit on the answer this long.
    TimeoutAfterCommit(Duration),
    /// Do the work and answer normally, but only after this long (to line up concurrent calls).
    Delay(Duration),
    /// Read the request, then close the connection without answering; nothing is done.
    ConnectionReset,
    /// Do the work, then close the connection without answering.
    ResetAfterCommit,
}

impl ZohoFault {
    /// HTTP 200 `{"code":1000,"message":"Internal Error"}`: transient.
    pub fn internal_error() -> ZohoFault {
        ZohoFault::http200(1000, "Internal Error")
    }

    /// HTTP 200 with a non-zero code.
    pub fn http200(code: i64, message: &str) -> ZohoFault {
        ZohoFault::Code {
            status: 200,
            code,
            message: message.to_string(),
        }
    }
}

/// One request the mock received.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// The path without the query string, e.g. `/inventory/v1/salesorders`.
    pub path: String,
    /// The decoded query parameters, in order.
    pub query: Vec<(String, String)>,
    /// Header names in lower case, in the order received.
    pub headers: Vec<(String, String)>,
    /// The body: parsed JSON; for a form body an object of its fields; `Value::Null` when
    /// empty; `Value::String(raw)` otherwise.
    pub body: Value,
    pub raw_body: String,
    /// Which endpoint it was for (`None`: an unknown path).
    pub endpoint: Option<ZohoEndpoint>,
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

    /// The first query parameter of that name.
    pub fn query_value(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The token of a `Zoho-oauthtoken` Authorization header.
    pub fn token(&self) -> Option<&str> {
        self.header("authorization")
            .and_then(|v| v.strip_prefix("Zoho-oauthtoken "))
    }

    /// Whether it went to the Inventory API (not Accounts).
    pub fn is_inventory(&self) -> bool {
        self.path.starts_with(API_PREFIX)
    }
}

/// A running mock Zoho. Clones share one server; it stops when the last clone is dropped.
#[derive(Clone)]
pub struct MockZoho {
    inner: Arc<Inner>,
    server: Arc<Server>,
}

impl MockZoho {
    /// A mock on 127.0.0.1 with an OS-assigned port, schemas from the default providers dir.
    pub fn start() -> MockZoho {
        MockZoho::start_with_providers_dir(providers_dir())
    }

    /// A mock reading the schemas from `dir` (the folder holding `zoho/`).
    pub fn start_with_providers_dir(dir: impl Into<PathBuf>) -> MockZoho {
        let schemas = schemas_for(&dir.into());
        let base = Arc::new(OnceLock::new());
        let inner = Arc::new(Inner {
            base: base.clone(),
            schemas,
            state: Mutex::new(State::new()),
        });
        let server = Server::start("mock-zoho", inner.clone());
        let _ = base.set(server.base_url());
        MockZoho {
            inner,
            server: Arc::new(server),
        }
    }

    /// `http://127.0.0.1:PORT`: the Accounts base (`--zoho-accounts-base-url`).
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    /// `http://127.0.0.1:PORT/inventory/v1` (`--zoho-api-base-url`).
    pub fn api_base_url(&self) -> String {
        format!("{}{API_PREFIX}", self.base_url())
    }

    /// The `serve` flags that point possync at this mock with its OAuth client.
    pub fn flags(&self) -> Vec<String> {
        vec![
            "--zoho-api-base-url".into(),
            self.api_base_url(),
            "--zoho-accounts-base-url".into(),
            self.base_url(),
            "--zoho-client-id".into(),
            CLIENT_ID.into(),
            "--zoho-client-secret".into(),
            CLIENT_SECRET.into(),
        ]
    }

    pub fn organization_id(&self) -> String {
        ORGANIZATION_ID.to_string()
    }

    /// Another organisation the tokens can see (for the OAuth organisation choice).
    pub fn add_organization(&self, id: &str, name: &str) {
        let mut st = self.inner.lock();
        st.organizations.push(Organization {
            id: id.to_string(),
            name: name.to_string(),
            currency: "INR".into(),
        });
    }

    /// The currency of the default organisation (rates must fit its precision). Default INR.
    pub fn set_currency(&self, code: &str) {
        let mut st = self.inner.lock();
        st.organizations[0].currency = code.to_string();
    }

    /// The access token issued last (the initial one until a refresh or exchange).
    pub fn current_access_token(&self) -> String {
        self.inner.lock().current_access.clone()
    }

    /// The refresh token issued with the initial access token.
    pub fn refresh_token(&self) -> String {
        self.inner.lock().initial_refresh.clone()
    }

    /// Every live access token stops working, as an hour after it was issued.
    pub fn expire_access_token(&self) {
        let mut st = self.inner.lock();
        let now = Instant::now();
        for token in st.access.values_mut() {
            token.expires = now;
        }
    }

    /// Whether Zoho would take this access token now.
    pub fn token_is_valid(&self, token: &str) -> bool {
        self.inner.lock().live_access(token)
    }

    /// A single-use authorization code (as after the consent page or a Self Client), valid 10
    /// minutes, for any redirect URI.
    pub fn issue_code(&self) -> String {
        self.inner.lock().new_code(None)
    }

    /// While `refuse` holds, every refresh grant answers `{"error":"invalid_code"}`.
    pub fn refuse_refresh(&self, refuse: bool) {
        self.inner.lock().refuse_refresh = refuse;
    }

    /// How many refresh grants succeeded.
    pub fn refreshes(&self) -> usize {
        self.inner.lock().refreshes
    }

    /// How many authorization codes were exchanged.
    pub fn code_exchanges(&self) -> usize {
        self.inner.lock().exchanges
    }

    /// Tokens revoked through `/oauth/v2/token/revoke`, in order.
    pub fn revoked(&self) -> Vec<String> {
        self.inner.lock().revoked.clone()
    }

    /// Every `POST /oauth/v2/token` received.
    pub fn token_requests(&self) -> Vec<Recorded> {
        self.requests_to(ZohoEndpoint::Token)
    }

    /// Queue a fault for `POST /salesorders`.
    pub fn push_fault(&self, fault: ZohoFault) {
        self.push_fault_on(ZohoEndpoint::CreateSalesOrder, fault);
    }

    /// Queue a fault for an endpoint; each request to it that passes the auth checks consumes
    /// one (first in, first out).
    pub fn push_fault_on(&self, endpoint: ZohoEndpoint, fault: ZohoFault) {
        self.inner
            .lock()
            .faults
            .entry(endpoint)
            .or_default()
            .push_back(fault);
    }

    /// At most `max` Inventory requests per `window` per organisation (default 100 a minute).
    pub fn set_rate_limit(&self, max: usize, window: Duration) {
        let mut st = self.inner.lock();
        st.rate_max = max;
        st.rate_window = window;
        st.rate.clear();
    }

    /// Add a contact (as if the seller had made it in Zoho); returns its id.
    pub fn add_contact(&self, name: &str, phone: Option<&str>) -> String {
        let mut st = self.inner.lock();
        let mut person = json!({"first_name": name, "is_primary_contact": true});
        if let Some(phone) = phone {
            person["phone"] = json!(phone);
        }
        let contact = st.make_contact(&json!({
            "contact_name": name, "contact_type": "customer", "contact_persons": [person]
        }));
        let id = contact["contact_id"].as_str().unwrap().to_string();
        st.contacts.push(contact);
        id
    }

    /// Add an item (what a mapping points at); returns its id.
    pub fn add_item(&self, name: &str, rate: f64) -> String {
        let mut st = self.inner.lock();
        let id = st.next_id(ITEM_IDS);
        let sku = format!("SKU-{}", st.items.len() + 1);
        st.items.push(json!({
            "item_id": id, "name": name, "rate": rate, "status": "active", "sku": sku,
        }));
        id
    }

    /// Sales orders created, in creation order.
    pub fn sales_orders(&self) -> Vec<Value> {
        self.inner.lock().sales_orders.clone()
    }

    /// Sales orders whose `reference_number` is `reference`.
    pub fn sales_orders_for(&self, reference: &str) -> Vec<Value> {
        self.sales_orders()
            .into_iter()
            .filter(|so| so["reference_number"] == json!(reference))
            .collect()
    }

    /// Contacts, in creation order.
    pub fn contacts(&self) -> Vec<Value> {
        self.inner.lock().contacts.clone()
    }

    /// Every request received, on any path, in arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.inner.lock().requests.clone()
    }

    /// Requests to one endpoint.
    pub fn requests_to(&self, endpoint: ZohoEndpoint) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.endpoint == Some(endpoint))
            .collect()
    }

    /// `POST /salesorders` requests whose body names `reference` (faulted ones included).
    pub fn create_requests_for(&self, reference: &str) -> Vec<Recorded> {
        self.requests_to(ZohoEndpoint::CreateSalesOrder)
            .into_iter()
            .filter(|r| r.body["reference_number"] == json!(reference))
            .collect()
    }

    /// Every schema, header or protocol violation seen. Tests assert it is empty.
    pub fn problems(&self) -> Vec<String> {
        self.inner.lock().problems.clone()
    }

    /// Whether the schemas were found (false: schema checks are skipped).
    pub fn schemas_loaded(&self) -> bool {
        self.inner.schemas.loaded()
    }
}

// ------------------------------------------------------------------------------------------------
// State
// ------------------------------------------------------------------------------------------------

const SALES_ORDER_IDS: u64 = 4_815_000_000_000_000_000;
const CONTACT_IDS: u64 = 4_816_000_000_000_000_000;
const ITEM_IDS: u64 = 4_817_000_000_000_000_000;
const LINE_IDS: u64 = 4_818_000_000_000_000_000;
/// At most this many refreshes per refresh token in [`REFRESH_WINDOW`] (§B5).
const REFRESH_LIMIT: usize = 10;
const REFRESH_WINDOW: Duration = Duration::from_secs(600);
const CODE_LIFETIME: Duration = Duration::from_secs(600);

struct Organization {
    id: String,
    name: String,
    currency: String,
}

struct AccessToken {
    expires: Instant,
    revoked: bool,
    refresh: Option<String>,
}

struct RefreshToken {
    revoked: bool,
    /// When each access token was made from it (for the 10-in-10-minutes limit).
    grants: Vec<Instant>,
}

struct Code {
    used: bool,
    expires: Instant,
    redirect_uri: Option<String>,
}

struct State {
    organizations: Vec<Organization>,
    access: HashMap<String, AccessToken>,
    refresh: HashMap<String, RefreshToken>,
    codes: HashMap<String, Code>,
    current_access: String,
    initial_refresh: String,
    refuse_refresh: bool,
    refreshes: usize,
    exchanges: usize,
    revoked: Vec<String>,
    sales_orders: Vec<Value>,
    contacts: Vec<Value>,
    items: Vec<Value>,
    faults: HashMap<ZohoEndpoint, VecDeque<ZohoFault>>,
    rate_max: usize,
    rate_window: Duration,
    rate: HashMap<String, (Instant, usize)>,
    requests: Vec<Recorded>,
    problems: Vec<String>,
    counter: u64,
    so_number: u64,
}

impl State {
    fn new() -> State {
        let mut st = State {
            organizations: vec![Organization {
                id: ORGANIZATION_ID.into(),
                name: "Spice Garden Foods Pvt Ltd".into(),
                currency: "INR".into(),
            }],
            access: HashMap::new(),
            refresh: HashMap::new(),
            codes: HashMap::new(),
            current_access: String::new(),
            initial_refresh: String::new(),
            refuse_refresh: false,
            refreshes: 0,
            exchanges: 0,
            revoked: Vec::new(),
            sales_orders: Vec::new(),
            contacts: Vec::new(),
            items: Vec::new(),
            faults: HashMap::new(),
            rate_max: 100,
            rate_window: Duration::from_secs(60),
            rate: HashMap::new(),
            requests: Vec::new(),
            problems: Vec::new(),
            counter: 0,
            so_number: 0,
        };
        let refresh = st.new_refresh();
        st.initial_refresh = refresh.clone();
        st.new_access(Some(refresh));
        st
    }

    fn problem(&mut self, context: &str, what: impl AsRef<str>) {
        let text = format!("{context}: {}", what.as_ref());
        eprintln!("mock Zoho problem: {text}");
        self.problems.push(text);
    }

    fn next_id(&mut self, base: u64) -> String {
        self.counter += 1;
        (base + self.counter * 1_000 + 49).to_string()
    }

    fn new_refresh(&mut self) -> String {
        let token = format!("1000.{}.{}", hex(16), hex(16));
        self.refresh.insert(
            token.clone(),
            RefreshToken {
                revoked: false,
                grants: Vec::new(),
            },
        );
        token
    }

    fn new_access(&mut self, refresh: Option<String>) -> String {
        let token = format!("1000.{}.{}", hex(16), hex(16));
        self.access.insert(
            token.clone(),
            AccessToken {
                expires: Instant::now() + TOKEN_LIFETIME,
                revoked: false,
                refresh,
            },
        );
        self.current_access = token.clone();
        token
    }

    fn new_code(&mut self, redirect_uri: Option<&str>) -> String {
        let code = format!("1000.{}.{}", hex(16), hex(16));
        self.codes.insert(
            code.clone(),
            Code {
                used: false,
                expires: Instant::now() + CODE_LIFETIME,
                redirect_uri: redirect_uri.map(str::to_string),
            },
        );
        code
    }

    fn live_access(&self, token: &str) -> bool {
        self.access
            .get(token)
            .is_some_and(|t| !t.revoked && t.expires > Instant::now())
    }

    fn organization(&self, id: &str) -> Option<&Organization> {
        self.organizations.iter().find(|o| o.id == id)
    }

    fn make_contact(&mut self, body: &Value) -> Value {
        let id = self.next_id(CONTACT_IDS);
        let name = body["contact_name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let persons: Vec<Value> = body["contact_persons"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .map(|mut p| {
                let pid = self.next_id(CONTACT_IDS);
                p["contact_person_id"] = json!(pid);
                p
            })
            .collect();
        let primary = persons
            .iter()
            .find(|p| p["is_primary_contact"] == json!(true))
            .or(persons.first())
            .cloned()
            .unwrap_or(Value::Null);
        let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
        json!({
            "contact_id": id,
            "contact_name": name,
            "company_name": text(&body["company_name"]),
            "contact_type": body["contact_type"].as_str().unwrap_or("customer"),
            "status": "active",
            "payment_terms": 0,
            "payment_terms_label": "Due on Receipt",
            "currency_id": "4816000000000000099",
            "currency_code": self.organizations[0].currency,
            "outstanding_receivable_amount": 0.0,
            "unused_credits_receivable_amount": 0.0,
            "first_name": text(&primary["first_name"]),
            "last_name": text(&primary["last_name"]),
            "email": text(&primary["email"]),
            "phone": text(&primary["phone"]),
            "mobile": text(&primary["mobile"]),
            "primary_contact_id": primary["contact_person_id"].as_str().unwrap_or_default(),
            "contact_persons": persons,
            "created_time": now_zoho(),
            "last_modified_time": now_zoho(),
        })
    }
}

struct Inner {
    base: Arc<OnceLock<String>>,
    schemas: Arc<Schemas>,
    state: Mutex<State>,
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn base(&self) -> String {
        self.base.get().cloned().unwrap_or_default()
    }
}

// ------------------------------------------------------------------------------------------------
// Dispatch
// ------------------------------------------------------------------------------------------------

/// Zoho names its charset on every JSON answer.
fn zoho_json(status: u16, body: &Value) -> Response {
    Response::json(status, body).with_content_type("application/json;charset=UTF-8")
}

fn zoho_error(status: u16, code: i64, message: &str) -> Response {
    zoho_json(status, &json!({"code": code, "message": message}))
}

fn endpoint_of(method: &str, path: &str) -> Option<ZohoEndpoint> {
    let path = path.trim_end_matches('/');
    Some(match (method, path) {
        ("POST", "/inventory/v1/salesorders") => ZohoEndpoint::CreateSalesOrder,
        ("GET", "/inventory/v1/salesorders") => ZohoEndpoint::ListSalesOrders,
        ("POST", "/inventory/v1/contacts") => ZohoEndpoint::CreateContact,
        ("GET", "/inventory/v1/contacts") => ZohoEndpoint::ListContacts,
        ("GET", "/inventory/v1/organizations") => ZohoEndpoint::Organizations,
        ("GET", "/inventory/v1/items") => ZohoEndpoint::Items,
        ("POST", "/oauth/v2/token") => ZohoEndpoint::Token,
        ("POST", "/oauth/v2/token/revoke") => ZohoEndpoint::Revoke,
        ("GET", "/oauth/v2/auth") => ZohoEndpoint::Authorize,
        _ => return None,
    })
}

fn record(req: &Request, endpoint: Option<ZohoEndpoint>) -> Recorded {
    let raw_body = String::from_utf8_lossy(&req.body).to_string();
    let body = if raw_body.is_empty() {
        Value::Null
    } else if let Ok(v) = serde_json::from_str::<Value>(&raw_body) {
        v
    } else if req
        .header("content-type")
        .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"))
    {
        Value::Object(
            form_urlencoded::parse(&req.body)
                .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
                .collect(),
        )
    } else {
        Value::String(raw_body.clone())
    };
    Recorded {
        path: req.path.clone(),
        query: req.query.clone(),
        headers: req.headers.clone(),
        body,
        raw_body,
        endpoint,
        at: Instant::now(),
    }
}

impl Handler for Inner {
    fn handle(&self, req: &Request) -> Action {
        let endpoint = endpoint_of(&req.method, &req.path);
        let mut st = self.lock();
        st.requests.push(record(req, endpoint));
        let ctx = format!("{} {}", req.method, req.path);
        let Some(endpoint) = endpoint else {
            st.problem(&ctx, "no such endpoint");
            return Action::Respond(zoho_error(404, 5, "Invalid URL Passed"));
        };
        match endpoint {
            ZohoEndpoint::Token => self.token(&mut st, &ctx, req),
            ZohoEndpoint::Revoke => Action::Respond(self.revoke(&mut st, &ctx, req)),
            ZohoEndpoint::Authorize => Action::Respond(self.authorize(&mut st, &ctx, req)),
            _ => self.inventory(&mut st, &ctx, endpoint, req),
        }
    }
}

impl Inner {
    fn inventory(
        &self,
        st: &mut State,
        ctx: &str,
        endpoint: ZohoEndpoint,
        req: &Request,
    ) -> Action {
        // The token (§B1): exactly `Zoho-oauthtoken <token>`.
        let token = match req.header("authorization") {
            None => {
                st.problem(ctx, "no Authorization header");
                return Action::Respond(zoho_error(401, 57, NOT_AUTHORIZED));
            }
            Some(value) => match value.strip_prefix("Zoho-oauthtoken ") {
                Some(token) if !token.trim().is_empty() && token.trim() == token => token,
                _ => {
                    st.problem(
                        ctx,
                        format!("Authorization is not `Zoho-oauthtoken <token>`: {value:?}"),
                    );
                    return Action::Respond(zoho_error(401, 57, NOT_AUTHORIZED));
                }
            },
        };
        // organization_id on every call but the organisation list (§B1, §B6.2).
        let org = if endpoint == ZohoEndpoint::Organizations {
            None
        } else {
            let ids: Vec<&str> = req
                .query
                .iter()
                .filter(|(k, _)| k == "organization_id")
                .map(|(_, v)| v.as_str())
                .collect();
            match ids.as_slice() {
                [] | [""] => {
                    st.problem(ctx, "no organization_id query parameter");
                    return Action::Respond(zoho_error(
                        400,
                        2,
                        "Invalid value passed for organization_id",
                    ));
                }
                [one] => Some(one.to_string()),
                _ => {
                    st.problem(ctx, format!("organization_id given {} times", ids.len()));
                    Some(ids[0].to_string())
                }
            }
        };
        if !st.live_access(token) {
            return Action::Respond(zoho_error(401, 57, NOT_AUTHORIZED));
        }
        if let Some(org) = &org
            && st.organization(org).is_none()
        {
            return Action::Respond(zoho_error(
                400,
                6041,
                "This user is not associated with the organization",
            ));
        }
        let fault = st.faults.get_mut(&endpoint).and_then(VecDeque::pop_front);
        let work = |st: &mut State| -> Response {
            match endpoint {
                ZohoEndpoint::CreateSalesOrder => {
                    self.create_sales_order(st, ctx, req, org.as_deref().unwrap_or_default())
                }
                ZohoEndpoint::ListSalesOrders => list_sales_orders(st, req),
                ZohoEndpoint::CreateContact => self.create_contact(st, ctx, req),
                ZohoEndpoint::ListContacts => self.list_contacts(st, ctx, req),
                ZohoEndpoint::Organizations => organizations(st),
                ZohoEndpoint::Items => items(st),
                _ => unreachable!("not an Inventory endpoint"),
            }
        };
        match fault {
            Some(ZohoFault::Status(status)) => Action::Respond(Response::text(
                status,
                "text/html; charset=UTF-8",
                &format!(
                    "<html><body><h1>{status} {}</h1></body></html>",
                    mock_http::reason(status)
                ),
            )),
            Some(ZohoFault::Code {
                status,
                code,
                message,
            }) => Action::Respond(zoho_error(status, code, &message)),
            Some(ZohoFault::RateLimited { retry_after }) => {
                let resp = zoho_error(
                    429,
                    44,
                    "You have made too many requests. Please try after some time.",
                );
                Action::Respond(match retry_after {
                    Some(value) => resp.with_header("Retry-After", &value),
                    None => resp,
                })
            }
            Some(ZohoFault::ConnectionReset) => CommitFault::ResetBefore.around(|| work(st)),
            Some(ZohoFault::ResetAfterCommit) => CommitFault::ResetAfter.around(|| work(st)),
            Some(ZohoFault::TimeoutAfterCommit(delay) | ZohoFault::Delay(delay)) => {
                CommitFault::DelayAfter(delay).around(|| work(st))
            }
            None => {
                if let Some(org) = &org
                    && let Some(limited) = rate_limit(st, org)
                {
                    return Action::Respond(limited);
                }
                Action::Respond(work(st))
            }
        }
    }
}

/// Count one request of `org`; the 429 when it is over the limit (§B4, §B6.6).
fn rate_limit(st: &mut State, org: &str) -> Option<Response> {
    let now = Instant::now();
    let (max, window) = (st.rate_max, st.rate_window);
    let slot = st.rate.entry(org.to_string()).or_insert((now, 0));
    if now.duration_since(slot.0) >= window {
        *slot = (now, 0);
    }
    if slot.1 >= max {
        let left = window.saturating_sub(now.duration_since(slot.0));
        let secs = left.as_millis().div_ceil(1000).max(1);
        return Some(
            zoho_error(
                429,
                44,
                "You have made too many requests. Please try after some time.",
            )
            .with_header("Retry-After", &secs.to_string())
            .with_header("X-Rate-Limit-Limit", &max.to_string())
            .with_header("X-Rate-Limit-Remaining", "0")
            .with_header("X-Rate-Limit-Reset", &secs.to_string()),
        );
    }
    slot.1 += 1;
    None
}

/// The body of a POST: JSON with `Content-Type: application/json` (§B1), else 400 code 1038.
fn json_body(st: &mut State, ctx: &str, req: &Request) -> Result<Value, Response> {
    let content_type = req.header("content-type").unwrap_or_default();
    if !content_type
        .to_ascii_lowercase()
        .starts_with("application/json")
    {
        st.problem(
            ctx,
            format!("Content-Type is {content_type:?}, not application/json"),
        );
    }
    match serde_json::from_slice::<Value>(&req.body) {
        Ok(value @ Value::Object(_)) => Ok(value),
        Ok(other) => {
            st.problem(ctx, format!("the body is not a JSON object: {other}"));
            Err(zoho_error(400, 1038, "JSON is not well formed"))
        }
        Err(e) => {
            st.problem(ctx, format!("the body is not JSON ({e})"));
            Err(zoho_error(400, 1038, "JSON is not well formed"))
        }
    }
}

/// Keys of `obj` that `allowed` does not list.
fn unknown_keys(obj: &Value, allowed: &[String]) -> Vec<String> {
    obj.as_object()
        .map(|m| {
            m.keys()
                .filter(|k| !allowed.iter().any(|a| a == *k))
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}

/// Decimal places of a JSON number as written (`300.0` → 1, `300.5` → 1, `1.234` → 3, `500` → 0),
/// ignoring trailing zeros.
fn decimals(n: &serde_json::Number) -> usize {
    let text = n.to_string();
    if text.contains(['e', 'E']) {
        return 99;
    }
    match text.split_once('.') {
        Some((_, frac)) => frac.trim_end_matches('0').len(),
        None => 0,
    }
}

/// ISO 4217 exponent of the currencies the tests use.
pub fn currency_exponent(code: &str) -> usize {
    match code {
        "JPY" | "KRW" | "VND" | "CLP" | "ISK" | "UGX" | "XAF" | "XOF" => 0,
        "KWD" | "BHD" | "OMR" | "JOD" | "TND" | "LYD" | "IQD" => 3,
        _ => 2,
    }
}

fn valid_date(s: &str) -> bool {
    s.len() == 10 && s.parse::<jiff::civil::Date>().is_ok()
}

impl Inner {
    fn create_sales_order(&self, st: &mut State, ctx: &str, req: &Request, org: &str) -> Response {
        let body = match json_body(st, ctx, req) {
            Ok(body) => body,
            Err(resp) => return resp,
        };
        // The schema, `salesorder_number` relaxed (§B2).
        if let Some(validator) = self.schemas.validators.get(SO_REQUEST) {
            let errors: Vec<String> = validator
                .iter_errors(&body)
                .map(|e| format!("{}: {e}", e.instance_path()))
                .collect();
            if !errors.is_empty() {
                for e in &errors {
                    st.problem(ctx, format!("schema: {e}"));
                }
                return zoho_error(400, 4, &format!("Invalid value passed: {}", errors[0]));
            }
        }
        let mut bad = Vec::new();
        let unknown = unknown_keys(&body, &self.schemas.so_fields);
        if !unknown.is_empty() {
            bad.push(format!("unknown fields {unknown:?}"));
        }
        let auto_off = req
            .query
            .iter()
            .any(|(k, v)| k == "ignore_auto_number_generation" && v == "true");
        let number = body["salesorder_number"].as_str().map(str::to_string);
        if auto_off {
            match &number {
                None => {
                    st.problem(
                        ctx,
                        "ignore_auto_number_generation=true without salesorder_number",
                    );
                    return zoho_error(400, 4, "Invalid value passed for salesorder_number");
                }
                Some(n)
                    if st
                        .sales_orders
                        .iter()
                        .any(|so| so["salesorder_number"] == *n) =>
                {
                    return zoho_error(
                        400,
                        36004,
                        "This sales order number already exists. Please enter a different one.",
                    );
                }
                Some(_) => {}
            }
        } else if number.is_some() {
            bad.push(
                "salesorder_number sent without ignore_auto_number_generation=true".to_string(),
            );
        }
        if let Some(date) = body.get("date")
            && !date.as_str().is_some_and(valid_date)
        {
            bad.push(format!("date {date} is not YYYY-MM-DD"));
        }
        if body["reference_number"]
            .as_str()
            .is_some_and(|r| r.trim().is_empty())
        {
            bad.push("reference_number is blank".into());
        }
        let currency = st
            .organization(org)
            .map_or("INR".to_string(), |o| o.currency.clone());
        let exponent = currency_exponent(&currency);
        let lines = body["line_items"].as_array().cloned().unwrap_or_default();
        if lines.is_empty() {
            st.problem(ctx, "line_items is empty");
            return zoho_error(400, 4, "Invalid value passed for line_items");
        }
        for (i, line) in lines.iter().enumerate() {
            let unknown = unknown_keys(line, &self.schemas.line_fields);
            if !unknown.is_empty() {
                bad.push(format!("line_items[{i}]: unknown fields {unknown:?}"));
            }
            let has_item = line.get("item_id").is_some();
            let has_name = line["name"].as_str().is_some_and(|n| !n.trim().is_empty());
            if !has_item && !has_name {
                bad.push(format!("line_items[{i}] has neither item_id nor a name"));
            }
            match line.get("rate") {
                None if !has_item => {
                    bad.push(format!("line_items[{i}] has no item_id and no rate"))
                }
                None => {}
                Some(Value::Number(n)) => {
                    if n.as_f64().is_some_and(|r| r < 0.0) {
                        bad.push(format!("line_items[{i}].rate {n} is negative"));
                    }
                    if decimals(n) > exponent {
                        bad.push(format!(
                            "line_items[{i}].rate {n} has more decimals than {currency} allows \
                             ({exponent}): is it in minor units?"
                        ));
                    }
                }
                Some(other) => bad.push(format!("line_items[{i}].rate {other} is not a number")),
            }
            match line.get("quantity").and_then(Value::as_f64) {
                Some(q) if q > 0.0 => {}
                _ => bad.push(format!(
                    "line_items[{i}].quantity {} is not a positive number",
                    line["quantity"]
                )),
            }
        }
        for b in &bad {
            st.problem(ctx, b);
        }
        if !bad.is_empty() {
            return zoho_error(400, 4, &format!("Invalid value passed: {}", bad[0]));
        }
        // References: the customer and the items must exist.
        let customer_id = body["customer_id"].as_str().unwrap_or_default().to_string();
        let Some(customer) = st
            .contacts
            .iter()
            .find(|c| c["contact_id"] == json!(customer_id))
            .cloned()
        else {
            return zoho_error(400, 1002, "Contact does not exist.");
        };
        for line in &lines {
            if let Some(item) = line.get("item_id")
                && !st.items.iter().any(|it| it["item_id"] == *item)
            {
                return zoho_error(400, 1002, "Item does not exist.");
            }
        }

        // Commit.
        let id = st.next_id(SALES_ORDER_IDS);
        st.so_number += 1;
        let so_number = number.unwrap_or_else(|| format!("SO-{:05}", st.so_number));
        let mut sub_total = 0.0;
        let mut out_lines = Vec::new();
        for (i, line) in lines.iter().enumerate() {
            let item = line
                .get("item_id")
                .and_then(|id| st.items.iter().find(|it| it["item_id"] == *id).cloned());
            let rate = line
                .get("rate")
                .and_then(Value::as_f64)
                .or_else(|| item.as_ref().and_then(|it| it["rate"].as_f64()))
                .unwrap_or(0.0);
            let quantity = line["quantity"].as_f64().unwrap_or(1.0);
            let total = round_to(rate * quantity, exponent);
            sub_total += total;
            let name = line["name"]
                .as_str()
                .map(str::to_string)
                .or_else(|| {
                    item.as_ref()
                        .and_then(|it| it["name"].as_str().map(String::from))
                })
                .unwrap_or_default();
            let line_id = st.next_id(LINE_IDS);
            out_lines.push(json!({
                "line_item_id": line_id,
                "item_id": line.get("item_id").cloned().unwrap_or(json!("")),
                "name": name,
                "description": line["description"].as_str().unwrap_or_default(),
                "item_order": i + 1,
                "rate": rate,
                "bcy_rate": rate,
                "quantity": quantity,
                "unit": "",
                "item_total": total,
                "quantity_invoiced": 0.0,
                "quantity_packed": 0.0,
                "quantity_shipped": 0.0,
                "is_invoiced": false,
            }));
        }
        let sub_total = round_to(sub_total, exponent);
        let date = body["date"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| jiff::Zoned::now().date().to_string());
        let sales_order = json!({
            "salesorder_id": id,
            "salesorder_number": so_number,
            "date": date,
            "status": "draft",
            "shipment_date": "",
            "reference_number": body["reference_number"].as_str().unwrap_or_default(),
            "customer_id": customer_id,
            "customer_name": customer["contact_name"],
            "currency_code": currency,
            "exchange_rate": 1.0,
            "discount_amount": 0.0,
            "discount": 0.0,
            "is_discount_before_tax": true,
            "line_items": out_lines,
            "location_id": body["location_id"].as_str().unwrap_or_default(),
            "shipping_charge": 0.0,
            "adjustment": 0.0,
            "sub_total": sub_total,
            "tax_total": 0.0,
            "total": sub_total,
            "notes": body["notes"].as_str().unwrap_or_default(),
            "terms": "",
            "created_time": now_zoho(),
            "last_modified_time": now_zoho(),
        });
        self.self_check(st, "sales_order-response", &sales_order);
        st.sales_orders.push(sales_order.clone());
        zoho_json(
            201,
            &json!({"code": 0, "message": "Sales Order has been created.", "salesorder": sales_order}),
        )
    }

    fn create_contact(&self, st: &mut State, ctx: &str, req: &Request) -> Response {
        let body = match json_body(st, ctx, req) {
            Ok(body) => body,
            Err(resp) => return resp,
        };
        if let Some(validator) = self.schemas.validators.get(CONTACT_REQUEST) {
            let errors: Vec<String> = validator
                .iter_errors(&body)
                .map(|e| format!("{}: {e}", e.instance_path()))
                .collect();
            if !errors.is_empty() {
                for e in &errors {
                    st.problem(ctx, format!("schema: {e}"));
                }
                return zoho_error(400, 4, &format!("Invalid value passed: {}", errors[0]));
            }
        }
        let mut bad = Vec::new();
        let unknown = unknown_keys(&body, &self.schemas.contact_fields);
        if !unknown.is_empty() {
            bad.push(format!("unknown fields {unknown:?}"));
        }
        let name = body["contact_name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if name.trim().is_empty() || name.chars().count() > 200 {
            bad.push(format!(
                "contact_name {name:?} is blank or over 200 characters"
            ));
        }
        if let Some(kind) = body.get("contact_type")
            && kind != "customer"
            && kind != "vendor"
        {
            bad.push(format!(
                "contact_type {kind} is neither customer nor vendor"
            ));
        }
        for (i, person) in body["contact_persons"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            let unknown = unknown_keys(person, &self.schemas.person_fields);
            if !unknown.is_empty() {
                bad.push(format!("contact_persons[{i}]: unknown fields {unknown:?}"));
            }
        }
        for b in &bad {
            st.problem(ctx, b);
        }
        if !bad.is_empty() {
            return zoho_error(400, 4, &format!("Invalid value passed: {}", bad[0]));
        }
        let clash = st.contacts.iter().any(|c| {
            c["contact_name"]
                .as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case(&name))
        });
        if clash {
            return zoho_error(
                400,
                3062,
                &format!(
                    "The contact name \"{name}\" already exists. Please specify a different name."
                ),
            );
        }
        let contact = st.make_contact(&body);
        self.self_check(st, "contact-response", &contact);
        st.contacts.push(contact.clone());
        zoho_json(
            201,
            &json!({"code": 0, "message": "The contact has been created", "contact": contact}),
        )
    }

    fn list_contacts(&self, st: &mut State, ctx: &str, req: &Request) -> Response {
        let q = |name: &str| {
            req.query
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        let known = [
            "organization_id",
            "phone_contains",
            "phone",
            "contact_name",
            "contact_name_contains",
            "contact_name_startswith",
            "search_text",
            "filter_by",
            "page",
            "per_page",
            "email",
            "sort_column",
        ];
        for (k, _) in &req.query {
            if !known.contains(&k.as_str()) {
                st.problem(ctx, format!("unknown contacts filter {k:?}"));
            }
        }
        let lower = |s: &str| s.to_lowercase();
        let phones = |c: &Value| -> Vec<String> {
            let mut all = vec![
                c["phone"].as_str().unwrap_or_default().to_string(),
                c["mobile"].as_str().unwrap_or_default().to_string(),
            ];
            for p in c["contact_persons"].as_array().into_iter().flatten() {
                all.push(p["phone"].as_str().unwrap_or_default().to_string());
                all.push(p["mobile"].as_str().unwrap_or_default().to_string());
            }
            all.retain(|p| !p.is_empty());
            all
        };
        let found: Vec<Value> = st
            .contacts
            .iter()
            .filter(|c| {
                let name = lower(c["contact_name"].as_str().unwrap_or_default());
                q("phone_contains").is_none_or(|p| phones(c).iter().any(|x| x.contains(&p)))
                    && q("phone").is_none_or(|p| phones(c).contains(&p))
                    && q("contact_name").is_none_or(|n| name == lower(&n))
                    && q("contact_name_contains").is_none_or(|n| name.contains(&lower(&n)))
                    && q("contact_name_startswith").is_none_or(|n| name.starts_with(&lower(&n)))
                    && q("search_text").is_none_or(|t| {
                        name.contains(&lower(&t)) || phones(c).iter().any(|x| x.contains(&t))
                    })
            })
            .map(|c| {
                let mut summary = c.clone();
                if let Some(m) = summary.as_object_mut() {
                    m.remove("contact_persons");
                    m.remove("primary_contact_id");
                }
                summary
            })
            .collect();
        let answer = json!({
            "code": 0, "message": "success", "contacts": found,
            "page_context": page_context(found.len(), "Contacts"),
        });
        self.self_check(st, "list-contacts-response", &answer);
        zoho_json(200, &answer)
    }

    /// The mock's own answers must fit the schemas too.
    fn self_check(&self, st: &mut State, root: &str, instance: &Value) {
        if let Some(validator) = self.schemas.validators.get(root) {
            let errors: Vec<String> = validator
                .iter_errors(instance)
                .map(|e| format!("{}: {e}", e.instance_path()))
                .collect();
            for e in errors {
                st.problem("mock self-check", format!("{root}: {e}"));
            }
        }
    }

    // --------------------------------------------------------------------------------------------
    // Accounts (§B5)
    // --------------------------------------------------------------------------------------------

    fn token(&self, st: &mut State, ctx: &str, req: &Request) -> Action {
        let mut params: Vec<(String, String)> = req.query.clone();
        let content_type = req.header("content-type").unwrap_or_default().to_string();
        if !req.body.is_empty() {
            if content_type.starts_with("application/x-www-form-urlencoded") {
                params.extend(
                    form_urlencoded::parse(&req.body)
                        .map(|(k, v)| (k.into_owned(), v.into_owned())),
                );
            } else {
                st.problem(
                    ctx,
                    format!(
                        "the token endpoint takes form or query parameters, not a {content_type:?} body"
                    ),
                );
            }
        }
        let p = |name: &str| {
            params
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        let fault = st
            .faults
            .get_mut(&ZohoEndpoint::Token)
            .and_then(VecDeque::pop_front);
        match fault {
            Some(ZohoFault::Status(status)) => {
                return Action::Respond(Response::text(
                    status,
                    "text/html; charset=UTF-8",
                    &format!("<html><body>{status}</body></html>"),
                ));
            }
            Some(ZohoFault::Code { status, .. }) => {
                return Action::Respond(zoho_json(status, &json!({"error": "Access Denied"})));
            }
            Some(ZohoFault::ConnectionReset) => return Action::Reset,
            _ => {}
        }
        let error = |e: &str| zoho_json(200, &json!({"error": e}));
        let grant = p("grant_type").unwrap_or_default();
        if p("client_id").as_deref() != Some(CLIENT_ID)
            || p("client_secret").as_deref() != Some(CLIENT_SECRET)
        {
            return Action::Respond(error("invalid_client"));
        }
        let api_domain = self.base();
        let resp = match grant.as_str() {
            "authorization_code" => {
                let code = p("code").unwrap_or_default();
                let redirect = p("redirect_uri");
                let usable = st.codes.get(&code).is_some_and(|c| {
                    !c.used
                        && c.expires > Instant::now()
                        && c.redirect_uri
                            .as_ref()
                            .is_none_or(|want| Some(want) == redirect.as_ref())
                });
                if !usable {
                    error("invalid_code")
                } else {
                    if let Some(c) = st.codes.get_mut(&code) {
                        c.used = true;
                    }
                    st.exchanges += 1;
                    let refresh = st.new_refresh();
                    let access = st.new_access(Some(refresh.clone()));
                    zoho_json(
                        200,
                        &json!({
                            "access_token": access,
                            "refresh_token": refresh,
                            "scope": "ZohoInventory.salesorders.CREATE ZohoInventory.contacts.READ",
                            "api_domain": api_domain,
                            "token_type": "Bearer",
                            "expires_in": TOKEN_LIFETIME.as_secs(),
                        }),
                    )
                }
            }
            "refresh_token" => {
                let refresh = p("refresh_token").unwrap_or_default();
                let known = st.refresh.get(&refresh).is_some_and(|r| !r.revoked);
                if st.refuse_refresh || !known {
                    error("invalid_code")
                } else {
                    let now = Instant::now();
                    let grants = {
                        let entry = st.refresh.get_mut(&refresh).unwrap();
                        entry
                            .grants
                            .retain(|at| now.duration_since(*at) < REFRESH_WINDOW);
                        entry.grants.len()
                    };
                    if grants >= REFRESH_LIMIT {
                        st.problem(
                            ctx,
                            format!(
                                "more than {REFRESH_LIMIT} refreshes of one refresh token in 10 minutes"
                            ),
                        );
                        zoho_json(
                            400,
                            &json!({
                                "error_description": "You have made too many requests continuously. Please try again after some time.",
                                "error": "Access Denied",
                                "status": "failure",
                            }),
                        )
                    } else {
                        st.refresh.get_mut(&refresh).unwrap().grants.push(now);
                        st.refreshes += 1;
                        let access = st.new_access(Some(refresh));
                        zoho_json(
                            200,
                            &json!({
                                "access_token": access,
                                "scope": "ZohoInventory.salesorders.CREATE ZohoInventory.contacts.READ",
                                "api_domain": api_domain,
                                "token_type": "Bearer",
                                "expires_in": TOKEN_LIFETIME.as_secs(),
                            }),
                        )
                    }
                }
            }
            other => {
                st.problem(ctx, format!("grant_type {other:?}"));
                error("unsupported_grant_type")
            }
        };
        match fault {
            Some(ZohoFault::TimeoutAfterCommit(d) | ZohoFault::Delay(d)) => {
                Action::Delayed(d, resp)
            }
            Some(ZohoFault::ResetAfterCommit) => Action::Reset,
            _ => Action::Respond(resp),
        }
    }

    fn revoke(&self, st: &mut State, ctx: &str, req: &Request) -> Response {
        let token = req
            .query
            .iter()
            .find(|(k, _)| k == "token")
            .map(|(_, v)| v.clone());
        let Some(token) = token.filter(|t| !t.is_empty()) else {
            st.problem(ctx, "no token query parameter");
            return zoho_json(200, &json!({"error": "invalid_token"}));
        };
        if let Some(r) = st.refresh.get_mut(&token) {
            r.revoked = true;
            for a in st.access.values_mut() {
                if a.refresh.as_deref() == Some(token.as_str()) {
                    a.revoked = true;
                }
            }
        } else if let Some(a) = st.access.get_mut(&token) {
            a.revoked = true;
        } else {
            return zoho_json(200, &json!({"error": "invalid_token"}));
        }
        st.revoked.push(token);
        zoho_json(200, &json!({"status": "success"}))
    }

    fn authorize(&self, st: &mut State, ctx: &str, req: &Request) -> Response {
        let q = |name: &str| {
            req.query
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        let Some(redirect) = q("redirect_uri") else {
            st.problem(ctx, "no redirect_uri");
            return Response::text(400, "text/plain", "Invalid Redirect Uri");
        };
        if q("client_id").as_deref() != Some(CLIENT_ID) {
            return Response::text(400, "text/plain", "Invalid Client");
        }
        if q("response_type").as_deref() != Some("code") {
            st.problem(ctx, "response_type is not code");
        }
        if q("access_type").as_deref() != Some("offline") {
            st.problem(
                ctx,
                "access_type is not offline (no refresh token would be issued)",
            );
        }
        match q("scope") {
            Some(scope) if !scope.contains(' ') && scope.contains("ZohoInventory.") => {}
            other => st.problem(
                ctx,
                format!("scope {other:?} is not a comma-separated list of ZohoInventory scopes"),
            ),
        }
        let code = st.new_code(Some(&redirect));
        let mut query = form_urlencoded::Serializer::new(String::new());
        if let Some(state) = q("state") {
            query.append_pair("state", &state);
        }
        query
            .append_pair("code", &code)
            .append_pair("location", "in")
            .append_pair("accounts-server", &self.base());
        let sep = if redirect.contains('?') { '&' } else { '?' };
        Response::text(302, "text/plain", "")
            .with_header("Location", &format!("{redirect}{sep}{}", query.finish()))
    }
}

fn list_sales_orders(st: &mut State, req: &Request) -> Response {
    let q = |name: &str| {
        req.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let found: Vec<Value> = st
        .sales_orders
        .iter()
        .filter(|so| {
            let reference = so["reference_number"].as_str().unwrap_or_default();
            q("reference_number").is_none_or(|r| reference == r)
                && q("reference_number_contains").is_none_or(|r| reference.contains(&r))
                && q("reference_number_startswith").is_none_or(|r| reference.starts_with(&r))
                && q("customer_id").is_none_or(|c| so["customer_id"] == json!(c))
        })
        .map(|so| {
            json!({
                "salesorder_id": so["salesorder_id"],
                "customer_name": so["customer_name"],
                "customer_id": so["customer_id"],
                "status": so["status"],
                "salesorder_number": so["salesorder_number"],
                "reference_number": so["reference_number"],
                "date": so["date"],
                "shipment_date": so["shipment_date"],
                "currency_code": so["currency_code"],
                "total": so["total"],
                "created_time": so["created_time"],
                "last_modified_time": so["last_modified_time"],
            })
        })
        .collect();
    zoho_json(
        200,
        &json!({
            "code": 0, "message": "success", "salesorders": found,
            "page_context": page_context(found.len(), "Sales Orders"),
        }),
    )
}

fn organizations(st: &mut State) -> Response {
    let orgs: Vec<Value> = st
        .organizations
        .iter()
        .enumerate()
        .map(|(i, o)| {
            json!({
                "organization_id": o.id, "name": o.name, "currency_code": o.currency,
                "is_default_org": i == 0, "time_zone": "Asia/Calcutta", "country": "India",
            })
        })
        .collect();
    zoho_json(
        200,
        &json!({"code": 0, "message": "success", "organizations": orgs}),
    )
}

fn items(st: &mut State) -> Response {
    zoho_json(
        200,
        &json!({
            "code": 0, "message": "success", "items": st.items,
            "page_context": page_context(st.items.len(), "Items"),
        }),
    )
}

fn page_context(_count: usize, report: &str) -> Value {
    json!({
        "page": 1, "per_page": 200, "has_more_page": false,
        "report_name": report, "applied_filter": "Status.All",
        "sort_column": "created_time", "sort_order": "D",
    })
}

fn round_to(x: f64, exponent: usize) -> f64 {
    let scale = 10f64.powi(i32::try_from(exponent).unwrap_or(2));
    (x * scale).round() / scale
}

/// Zoho's timestamp style: `2026-11-25T10:15:30+0530`.
fn now_zoho() -> String {
    jiff::Zoned::now()
        .with_time_zone(jiff::tz::TimeZone::get("Asia/Kolkata").unwrap_or(jiff::tz::TimeZone::UTC))
        .strftime("%Y-%m-%dT%H:%M:%S%z")
        .to_string()
}

fn hex(bytes: usize) -> String {
    let mut raw = vec![0u8; bytes];
    getrandom::fill(&mut raw).expect("random bytes");
    raw.iter().map(|b| format!("{b:02x}")).collect()
}

// ------------------------------------------------------------------------------------------------
// Schemas
// ------------------------------------------------------------------------------------------------

const SO_REQUEST: &str = "create-a-sales-order-request";
const CONTACT_REQUEST: &str = "create-a-contact-request";

struct Schemas {
    validators: HashMap<&'static str, jsonschema::Validator>,
    /// The properties the request schemas know (for the unknown-field rule).
    so_fields: Vec<String>,
    line_fields: Vec<String>,
    contact_fields: Vec<String>,
    person_fields: Vec<String>,
}

impl Schemas {
    fn loaded(&self) -> bool {
        self.validators.contains_key(SO_REQUEST) && self.validators.contains_key(CONTACT_REQUEST)
    }
}

/// `$POSSYNC_PROVIDERS_DIR`, else `<CARGO_MANIFEST_DIR>/../shared/providers`.
pub fn providers_dir() -> PathBuf {
    match std::env::var_os("POSSYNC_PROVIDERS_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/providers"),
    }
}

fn schemas_for(dir: &Path) -> Arc<Schemas> {
    static CACHE: OnceLock<Mutex<HashMap<PathBuf, Arc<Schemas>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
    cache
        .entry(dir.to_path_buf())
        .or_insert_with(|| Arc::new(load_schemas(dir)))
        .clone()
}

fn property_names(schema: &Value) -> Vec<String> {
    schema["properties"]
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn load_schemas(dir: &Path) -> Schemas {
    // Without the schema files, the unknown-field rule falls back to the fields possync uses.
    let mut schemas = Schemas {
        validators: HashMap::new(),
        so_fields: strings(&[
            "customer_id",
            "salesorder_number",
            "date",
            "shipment_date",
            "reference_number",
            "location_id",
            "line_items",
            "notes",
            "terms",
            "discount",
            "is_discount_before_tax",
            "discount_type",
            "shipping_charge",
            "delivery_method",
            "adjustment",
            "salesperson_id",
            "is_inclusive_tax",
            "exchange_rate",
            "gst_treatment",
            "gst_no",
            "place_of_supply",
        ]),
        line_fields: strings(&[
            "item_id",
            "name",
            "description",
            "rate",
            "quantity",
            "unit",
            "tax_id",
            "location_id",
            "item_total",
        ]),
        contact_fields: strings(&[
            "contact_name",
            "company_name",
            "contact_type",
            "contact_persons",
            "billing_address",
            "shipping_address",
            "notes",
        ]),
        person_fields: strings(&[
            "salutation",
            "first_name",
            "last_name",
            "email",
            "phone",
            "mobile",
            "is_primary_contact",
        ]),
    };
    let mut missing = Vec::new();
    let mut read = |file: &str| -> Option<Value> {
        let path = dir.join("zoho").join(file);
        match std::fs::read_to_string(&path) {
            Ok(text) => Some(
                serde_json::from_str(&text)
                    .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display())),
            ),
            Err(e) => {
                missing.push(format!("{} ({e})", path.display()));
                None
            }
        }
    };
    let compile = |name: &str, definitions: &Value| -> jsonschema::Validator {
        let rooted = json!({
            "$schema": "http://json-schema.org/draft-07/schema#",
            "$ref": format!("#/definitions/{name}"),
            "definitions": definitions,
        });
        jsonschema::draft7::new(&rooted)
            .unwrap_or_else(|e| panic!("the Zoho schema {name} does not compile: {e}"))
    };
    if let Some(file) = read("salesorders.schema.json") {
        let mut definitions = file["definitions"].clone();
        // §B2: `salesorder_number` is only needed with ignore_auto_number_generation=true.
        if let Some(required) = definitions[SO_REQUEST]["required"].as_array_mut() {
            required.retain(|r| r != "salesorder_number");
        }
        let request = &definitions[SO_REQUEST];
        schemas.so_fields = property_names(request);
        schemas.line_fields = property_names(&request["properties"]["line_items"]["items"]);
        schemas
            .validators
            .insert(SO_REQUEST, compile(SO_REQUEST, &definitions));
        for root in ["sales_order-response", "retrieve-a-sales-order-response"] {
            schemas.validators.insert(root, compile(root, &definitions));
        }
    }
    if let Some(file) = read("contacts.schema.json") {
        let definitions = &file["definitions"];
        schemas.contact_fields = property_names(&definitions[CONTACT_REQUEST]);
        schemas.person_fields = property_names(&definitions["contact_persons"]["items"]);
        for root in [
            CONTACT_REQUEST,
            "contact-response",
            "create-a-contact-response",
            "list-contacts-response",
        ] {
            schemas.validators.insert(root, compile(root, definitions));
        }
    }
    if !missing.is_empty() {
        eprintln!(
            "\n!!!!!!!! SCHEMA CHECK SKIPPED for the mock Zoho: {}. Every other rule still \
             applies, but no body is checked against the missing schemas. Set \
             POSSYNC_PROVIDERS_DIR to the folder holding zoho/. !!!!!!!!\n",
            missing.join("; ")
        );
    }
    schemas
}
