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
//! The HTTP server is the one every mock shares, [`super::mock_http`].

mod contacts;
mod dispatch;
mod helpers;
mod items;
mod oauth;
mod order_status;
mod sales_orders;
mod schemas;
mod state;
mod totals;

pub use self::helpers::{currency_exponent, decimals};
pub use super::mock_schemas::providers_dir;

use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use self::schemas::schemas_for;
use self::state::{ITEM_IDS, Inner, Organization, State};
use super::mock_http::{self, Server};

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
    /// `GET /salesorders/{id}`.
    GetSalesOrder,
    /// `POST /salesorders/{id}/status/void`.
    VoidSalesOrder,
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
        mock_http::header(&self.headers, name)
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

    /// Mark an item `inactive` (Zoho still lists it; possync must leave it out).
    pub fn deactivate_item(&self, item_id: &str) {
        let mut st = self.inner.lock();
        for item in st
            .items
            .iter_mut()
            .filter(|i| i["item_id"] == json!(item_id))
        {
            item["status"] = json!("inactive");
        }
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
