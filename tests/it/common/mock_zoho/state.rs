//! What the mock Zoho remembers: organisations, tokens, codes, contacts, items, sales orders.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::helpers::{hex, now_zoho};
use super::schemas::Schemas;
use super::{ORGANIZATION_ID, Recorded, TOKEN_LIFETIME, ZohoEndpoint, ZohoFault};

pub(super) const SALES_ORDER_IDS: u64 = 4_815_000_000_000_000_000;
const CONTACT_IDS: u64 = 4_816_000_000_000_000_000;
pub(super) const ITEM_IDS: u64 = 4_817_000_000_000_000_000;
pub(super) const LINE_IDS: u64 = 4_818_000_000_000_000_000;
/// At most this many refreshes per refresh token in [`REFRESH_WINDOW`] (§B5).
pub(super) const REFRESH_LIMIT: usize = 10;
pub(super) const REFRESH_WINDOW: Duration = Duration::from_secs(600);
const CODE_LIFETIME: Duration = Duration::from_secs(600);

pub(super) struct Organization {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) currency: String,
}

pub(super) struct AccessToken {
    pub(super) expires: Instant,
    pub(super) revoked: bool,
    pub(super) refresh: Option<String>,
}

pub(super) struct RefreshToken {
    pub(super) revoked: bool,
    /// When each access token was made from it (for the 10-in-10-minutes limit).
    pub(super) grants: Vec<Instant>,
}

pub(super) struct Code {
    pub(super) used: bool,
    pub(super) expires: Instant,
    pub(super) redirect_uri: Option<String>,
}

pub(super) struct State {
    pub(super) organizations: Vec<Organization>,
    pub(super) access: HashMap<String, AccessToken>,
    pub(super) refresh: HashMap<String, RefreshToken>,
    pub(super) codes: HashMap<String, Code>,
    pub(super) current_access: String,
    pub(super) initial_refresh: String,
    pub(super) refuse_refresh: bool,
    pub(super) refreshes: usize,
    pub(super) exchanges: usize,
    pub(super) revoked: Vec<String>,
    pub(super) sales_orders: Vec<Value>,
    /// Sales orders voided through the API, one entry per call.
    pub(super) voids: Vec<String>,
    pub(super) contacts: Vec<Value>,
    pub(super) items: Vec<Value>,
    pub(super) faults: HashMap<ZohoEndpoint, VecDeque<ZohoFault>>,
    pub(super) rate_max: usize,
    pub(super) rate_window: Duration,
    pub(super) rate: HashMap<String, (Instant, usize)>,
    pub(super) requests: Vec<Recorded>,
    pub(super) problems: Vec<String>,
    pub(super) counter: u64,
    pub(super) so_number: u64,
    /// Tax (major units) Zoho adds to every sales order from now on (see `totals.rs`).
    pub(super) unasked_tax: f64,
}

impl State {
    pub(super) fn new() -> State {
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
            voids: Vec::new(),
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
            unasked_tax: 0.0,
        };
        let refresh = st.new_refresh();
        st.initial_refresh = refresh.clone();
        st.new_access(Some(refresh));
        st
    }

    pub(super) fn problem(&mut self, context: &str, what: impl AsRef<str>) {
        let text = format!("{context}: {}", what.as_ref());
        eprintln!("mock Zoho problem: {text}");
        self.problems.push(text);
    }

    pub(super) fn next_id(&mut self, base: u64) -> String {
        self.counter += 1;
        (base + self.counter * 1_000 + 49).to_string()
    }

    pub(super) fn new_refresh(&mut self) -> String {
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

    pub(super) fn new_access(&mut self, refresh: Option<String>) -> String {
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

    pub(super) fn new_code(&mut self, redirect_uri: Option<&str>) -> String {
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

    pub(super) fn live_access(&self, token: &str) -> bool {
        self.access
            .get(token)
            .is_some_and(|t| !t.revoked && t.expires > Instant::now())
    }

    pub(super) fn organization(&self, id: &str) -> Option<&Organization> {
        self.organizations.iter().find(|o| o.id == id)
    }

    pub(super) fn make_contact(&mut self, body: &Value) -> Value {
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

pub(super) struct Inner {
    pub(super) base: Arc<OnceLock<String>>,
    pub(super) schemas: Arc<Schemas>,
    pub(super) state: Mutex<State>,
}

impl Inner {
    pub(super) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn base(&self) -> String {
        self.base.get().cloned().unwrap_or_default()
    }
}
