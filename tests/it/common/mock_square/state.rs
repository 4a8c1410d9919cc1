//! What the mock Square remembers: tokens, codes, orders, the idempotency table, faults.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use serde_json::{Value, json};

use super::cancel_refusals::Refusals;
use super::helpers::days_from_now;
use super::schemas::Schemas;
use super::{
    ALL_SCOPES, DEFAULT_ACCESS_TOKEN, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET,
    DEFAULT_LOCATION_ID, Fault, MERCHANT_ID, Recorded,
};

pub(super) struct Inner {
    pub(super) state: Mutex<State>,
    pub(super) schemas: Arc<Schemas>,
}

impl Inner {
    pub(super) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

pub(super) struct AccessToken {
    pub(super) scopes: Vec<String>,
    pub(super) expires_at: jiff::Timestamp,
    pub(super) revoked: bool,
    pub(super) expired: bool,
}

impl AccessToken {
    pub(super) fn fresh(scopes: &[impl AsRef<str>]) -> AccessToken {
        AccessToken {
            scopes: scopes.iter().map(|s| s.as_ref().to_string()).collect(),
            expires_at: days_from_now(30),
            revoked: false,
            expired: false,
        }
    }

    /// `Err(code)` when Square would refuse it.
    pub(super) fn usable(&self) -> Result<(), &'static str> {
        if self.revoked {
            Err("ACCESS_TOKEN_REVOKED")
        } else if self.expired || self.expires_at <= jiff::Timestamp::now() {
            Err("ACCESS_TOKEN_EXPIRED")
        } else {
            Ok(())
        }
    }
}

pub(super) struct RefreshToken {
    pub(super) scopes: Vec<String>,
    pub(super) revoked: bool,
}

pub(super) struct AuthCode {
    pub(super) scopes: Vec<String>,
    pub(super) redirect_uri: Option<String>,
    pub(super) issued: Instant,
    pub(super) used: bool,
}

pub(super) struct State {
    pub(super) faults: VecDeque<Fault>,
    pub(super) payment_faults: VecDeque<Fault>,
    pub(super) token_faults: VecDeque<Fault>,
    pub(super) requests: Vec<Recorded>,
    pub(super) problems: Vec<String>,
    pub(super) orders: Vec<Value>,
    /// order id → index in `orders`
    pub(super) order_index: HashMap<String, usize>,
    /// (merchant, idempotency key) → (request body, index in `orders`)
    pub(super) idempotency: HashMap<(String, String), (Value, usize)>,
    /// Payments made, each with the key it was made under (`idempotency_key_sent`).
    pub(super) payments: Vec<Value>,
    /// (merchant, payment idempotency key) → (request body, index in `payments`)
    pub(super) payment_idempotency: HashMap<(String, String), (Value, usize)>,
    /// Refunds made, each with the key it was made under (`idempotency_key_sent`).
    pub(super) refunds: Vec<Value>,
    /// (merchant, refund idempotency key) → (request body, index in `refunds`)
    pub(super) refund_idempotency: HashMap<(String, String), (Value, usize)>,
    pub(super) refund_faults: VecDeque<Fault>,
    /// Orders PayOrder marked paid, each as it answered them, with the key it was made under
    /// (`idempotency_key_sent`).
    pub(super) paid_orders: Vec<Value>,
    /// (merchant, PayOrder idempotency key) → (request body, index in `paid_orders`)
    pub(super) pay_order_idempotency: HashMap<(String, String), (Value, usize)>,
    /// Faults for `POST /v2/orders/{id}/pay` (PayOrder), one per call.
    pub(super) pay_order_faults: VecDeque<Fault>,
    /// Faults for `PUT /v2/orders/{id}` (UpdateOrder), one per call.
    pub(super) update_faults: VecDeque<Fault>,
    /// UpdateOrders still to meet a change made just before them (a stale version).
    pub(super) stale_updates: usize,
    /// Cancellations UpdateOrder refuses.
    pub(super) refusals: Refusals,
    pub(super) static_token: String,
    pub(super) tokens: HashMap<String, AccessToken>,
    pub(super) refresh_tokens: HashMap<String, RefreshToken>,
    pub(super) codes: HashMap<String, AuthCode>,
    pub(super) tokens_issued: Vec<String>,
    pub(super) revoked: Vec<String>,
    pub(super) client_id: String,
    pub(super) client_secret: String,
    pub(super) authorize_denies: bool,
    pub(super) locations: Vec<Value>,
    pub(super) catalog: Option<Vec<Value>>,
    /// Tax added to every order whatever it asks ([`super::MockSquare::add_unasked_tax`]).
    pub(super) unasked_tax: i64,
}

impl State {
    pub(super) fn new() -> State {
        let mut tokens = HashMap::new();
        tokens.insert(
            DEFAULT_ACCESS_TOKEN.to_string(),
            AccessToken::fresh(ALL_SCOPES),
        );
        State {
            faults: VecDeque::new(),
            payment_faults: VecDeque::new(),
            token_faults: VecDeque::new(),
            requests: Vec::new(),
            problems: Vec::new(),
            orders: Vec::new(),
            order_index: HashMap::new(),
            idempotency: HashMap::new(),
            payments: Vec::new(),
            payment_idempotency: HashMap::new(),
            refunds: Vec::new(),
            refund_idempotency: HashMap::new(),
            refund_faults: VecDeque::new(),
            paid_orders: Vec::new(),
            pay_order_idempotency: HashMap::new(),
            pay_order_faults: VecDeque::new(),
            update_faults: VecDeque::new(),
            stale_updates: 0,
            refusals: Refusals::default(),
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
            unasked_tax: 0,
        }
    }

    pub(super) fn problem(&mut self, context: &str, what: impl AsRef<str>) {
        let line = format!("{context}: {}", what.as_ref());
        eprintln!("mock Square problem: {line}");
        self.problems.push(line);
    }

    pub(super) fn location(&self, id: &str) -> Option<&Value> {
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
