//! A mock "Dine POS" aggregator webhook for the sync tests, over real HTTP/1.1 on 127.0.0.1
//! (port 0).
//!
//! The contract is possync's own (providers/README.md §C, §F5), modelled on
//! `vtechshop/dine-pos` `backend/src/routes/aggregatorRoutes.ts`:
//! - `POST /api/aggregator/order` with `X-Webhook-Secret: <secret>` (else 401
//!   `{"message":"Unauthorized: invalid webhook secret"}`) and the body
//!   `{hotelId, source: "menumaker", items: [{productId?, name, quantity, price}], total,
//!   customerName?, notes}`; an unknown `hotelId` is 404 `{"message":"Hotel not found or
//!   inactive"}`, a malformed body 400 `{"message":…}`, success 201
//!   `{"success":true,"orderNumber":"AGG-YYYYMMDD-NNN"}` (UTC date, a per-hotel daily sequence).
//! - Faults queued with [`MockDine::push_fault`]; each request that passes the secret check
//!   consumes one.
//!
//! Everything possync sends that breaks §F5 (a missing secret header, a malformed body, a wrong
//! `source`, unknown fields, a total other than the lines' sum less `discount` plus
//! `deliveryCharge` and `tip`, a discount above the lines, prices finer than the currency
//! allows) is noted in [`MockDine::problems`]; tests assert that it stays empty. A wrong
//! secret or an unknown hotel is not a problem (tests provoke those).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::{Value, json};

use super::mock_http::{self, Action, CommitFault, Handler, Request, Response, Server};
use super::mock_zoho::{currency_exponent, decimals};

/// The webhook secret the mock accepts until [`MockDine::set_secret`].
pub const WEBHOOK_SECRET: &str = "agg-secret-spice-garden-7f3a";
/// The one hotel the mock knows until [`MockDine::add_hotel`] (a MongoDB ObjectId).
pub const HOTEL_ID: &str = "665f1c2e8b3a4d0012a4e9b1";
/// The one path the aggregator webhook serves.
pub const WEBHOOK_PATH: &str = "/api/aggregator/order";
/// What the mock's Express handler names as its JSON content type.
const CONTENT_TYPE: &str = "application/json;charset=UTF-8";

/// What the next webhook call does instead of (or besides) behaving normally.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DineFault {
    /// This status with `{"message": …}` (500 as the Express handler's catch answers).
    Status(u16),
    /// Take the order, then sit on the answer this long.
    TimeoutAfterCommit(Duration),
    /// Read the whole request, then close the connection without answering; no order is made.
    ConnectionReset,
    /// Take the order, then close the connection without answering.
    ResetAfterCommit,
}

/// One request the mock received.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    /// Parsed JSON; `Value::String(raw)` when not JSON; `Value::Null` when empty.
    pub body: Value,
}

impl Recorded {
    /// A header by name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        mock_http::header(&self.headers, name)
    }
}

/// A running mock Dine POS. Clones share one server; it stops when the last clone is dropped.
#[derive(Clone)]
pub struct MockDine {
    inner: Arc<Inner>,
    server: Arc<Server>,
}

struct State {
    secret: String,
    /// hotel id → currency.
    hotels: HashMap<String, String>,
    orders: Vec<Value>,
    /// (hotel, YYYYMMDD) → last sequence number.
    sequences: HashMap<(String, String), u32>,
    faults: VecDeque<DineFault>,
    requests: Vec<Recorded>,
    problems: Vec<String>,
}

struct Inner {
    state: Mutex<State>,
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl MockDine {
    /// A mock on 127.0.0.1 with an OS-assigned port.
    pub fn start() -> MockDine {
        let inner = Arc::new(Inner {
            state: Mutex::new(State {
                secret: WEBHOOK_SECRET.into(),
                hotels: HashMap::from([(HOTEL_ID.to_string(), "INR".to_string())]),
                orders: Vec::new(),
                sequences: HashMap::new(),
                faults: VecDeque::new(),
                requests: Vec::new(),
                problems: Vec::new(),
            }),
        });
        let server = Server::start("mock-dine", inner.clone());
        MockDine {
            inner,
            server: Arc::new(server),
        }
    }

    /// `http://127.0.0.1:PORT` (`--dine-base-url`).
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    pub fn secret(&self) -> String {
        self.inner.lock().secret.clone()
    }

    pub fn hotel_id(&self) -> String {
        HOTEL_ID.to_string()
    }

    /// Another hotel, whose prices are in `currency` (precision check).
    pub fn add_hotel(&self, id: &str, currency: &str) {
        self.inner
            .lock()
            .hotels
            .insert(id.to_string(), currency.to_string());
    }

    /// The currency of the default hotel (default INR).
    pub fn set_currency(&self, currency: &str) {
        self.add_hotel(HOTEL_ID, currency);
    }

    /// Queue a fault (first in, first out).
    pub fn push_fault(&self, fault: DineFault) {
        self.inner.lock().faults.push_back(fault);
    }

    /// Orders taken, in order: the body received plus `orderNumber`.
    pub fn orders(&self) -> Vec<Value> {
        self.inner.lock().orders.clone()
    }

    /// Orders whose `notes` name this possync order (`"… MenuMaker <id>…"`: the fulfillment
    /// comes first).
    pub fn orders_for(&self, order_id: &str) -> Vec<Value> {
        self.orders()
            .into_iter()
            .filter(|o| names(&o["notes"], order_id))
            .collect()
    }

    /// Every request received.
    pub fn requests(&self) -> Vec<Recorded> {
        self.inner.lock().requests.clone()
    }

    /// Webhook requests whose body names this possync order.
    pub fn requests_for(&self, order_id: &str) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| names(&r.body["notes"], order_id))
            .collect()
    }

    /// Every violation of §F5 seen. Tests assert it is empty.
    pub fn problems(&self) -> Vec<String> {
        self.inner.lock().problems.clone()
    }
}

/// Whether `notes` names the possync order `order_id`.
fn names(notes: &Value, order_id: &str) -> bool {
    notes
        .as_str()
        .is_some_and(|n| n.contains(&format!("MenuMaker {order_id}")))
}

fn message(status: u16, text: &str) -> Response {
    Response::json(status, &json!({"message": text})).with_content_type(CONTENT_TYPE)
}

fn problem(st: &mut State, what: impl AsRef<str>) {
    let text = format!("POST {WEBHOOK_PATH}: {}", what.as_ref());
    eprintln!("mock Dine problem: {text}");
    st.problems.push(text);
}

impl Handler for Inner {
    fn handle(&self, req: &Request) -> Action {
        let mut st = self.lock();
        let body = if req.body.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&req.body)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&req.body).to_string()))
        };
        st.requests.push(Recorded {
            headers: req.headers.clone(),
            body: body.clone(),
        });
        if req.path != WEBHOOK_PATH {
            problem(&mut st, format!("request to unknown path {}", req.path));
            return Action::Respond(message(404, "Not Found"));
        }
        if req.method != "POST" {
            problem(&mut st, format!("method {}", req.method));
            return Action::Respond(message(404, "Not Found"));
        }
        match req.header("x-webhook-secret") {
            None => {
                problem(&mut st, "no X-Webhook-Secret header");
                return Action::Respond(message(401, "Unauthorized: invalid webhook secret"));
            }
            Some(secret) if secret != st.secret => {
                return Action::Respond(message(401, "Unauthorized: invalid webhook secret"));
            }
            Some(_) => {}
        }
        let commit = match st.faults.pop_front() {
            Some(DineFault::Status(status)) => {
                let text = match status {
                    500 => "Server error",
                    400 => "hotelId required",
                    404 => "Hotel not found or inactive",
                    _ => "Error",
                };
                return Action::Respond(message(status, text));
            }
            Some(DineFault::ConnectionReset) => CommitFault::ResetBefore,
            Some(DineFault::ResetAfterCommit) => CommitFault::ResetAfter,
            Some(DineFault::TimeoutAfterCommit(delay)) => CommitFault::DelayAfter(delay),
            None => return Action::Respond(take_order(&mut st, req, &body)),
        };
        commit.around(|| take_order(&mut st, req, &body))
    }
}

/// Validate the §F5 body and take the order.
fn take_order(st: &mut State, req: &Request, body: &Value) -> Response {
    let content_type = req.header("content-type").unwrap_or_default();
    if !content_type
        .to_ascii_lowercase()
        .starts_with("application/json")
    {
        problem(
            st,
            format!("Content-Type is {content_type:?}, not application/json"),
        );
    }
    let Some(obj) = body.as_object() else {
        problem(st, format!("the body is not a JSON object: {body}"));
        return message(400, "Invalid JSON body");
    };
    let mut bad: Vec<String> = Vec::new();
    let known = [
        "hotelId",
        "source",
        "items",
        "total",
        "discount",
        "deliveryCharge",
        "tip",
        "customerName",
        "address",
        "notes",
    ];
    let unknown: Vec<&String> = obj
        .keys()
        .filter(|k| !known.contains(&k.as_str()))
        .collect();
    if !unknown.is_empty() {
        bad.push(format!("unknown fields {unknown:?}"));
    }
    let hotel = match body.get("hotelId") {
        Some(Value::String(h)) if !h.trim().is_empty() => h.clone(),
        other => {
            problem(st, format!("hotelId is {other:?}, not a non-empty string"));
            return message(400, "hotelId required");
        }
    };
    if body.get("source") != Some(&json!("menumaker")) {
        bad.push(format!(
            "source is {:?}, not \"menumaker\"",
            body.get("source")
        ));
    }
    let currency = st
        .hotels
        .get(&hotel)
        .cloned()
        .unwrap_or_else(|| "INR".into());
    let exponent = currency_exponent(&currency);
    let price_ok = |v: &Value| match v {
        Value::Number(n) => n.as_f64().is_some_and(|x| x >= 0.0) && decimals(n) <= exponent,
        _ => false,
    };
    let mut sum = 0.0;
    match body.get("items").and_then(Value::as_array) {
        Some(items) if !items.is_empty() => {
            for (i, item) in items.iter().enumerate() {
                let Some(fields) = item.as_object() else {
                    bad.push(format!("items[{i}] is not an object"));
                    continue;
                };
                let allowed = [
                    "productId",
                    "name",
                    "quantity",
                    "price",
                    "taxPercent",
                    "taxAmount",
                ];
                let unknown: Vec<&String> = fields
                    .keys()
                    .filter(|k| !allowed.contains(&k.as_str()))
                    .collect();
                if !unknown.is_empty() {
                    bad.push(format!("items[{i}]: unknown fields {unknown:?}"));
                }
                if item["name"].as_str().is_none_or(|n| n.trim().is_empty()) {
                    bad.push(format!("items[{i}].name is not a non-empty string"));
                }
                if let Some(p) = item.get("productId")
                    && p.as_str().is_none_or(str::is_empty)
                {
                    bad.push(format!(
                        "items[{i}].productId {p} is not a non-empty string"
                    ));
                }
                let quantity = item["quantity"].as_f64().filter(|q| *q > 0.0);
                if quantity.is_none() || !item["quantity"].is_number() {
                    bad.push(format!(
                        "items[{i}].quantity {} is not a positive number",
                        item["quantity"]
                    ));
                }
                if !price_ok(&item["price"]) {
                    bad.push(format!(
                        "items[{i}].price {} is not a non-negative number in {currency} major units",
                        item["price"]
                    ));
                }
                sum += quantity.unwrap_or(0.0) * item["price"].as_f64().unwrap_or(0.0);
            }
        }
        other => bad.push(format!("items is {other:?}, not a non-empty array")),
    }
    // Order-level money (§F5): optional non-negative major-unit amounts.
    let mut charge = |field: &str| match body.get(field) {
        None => 0.0,
        Some(v) if price_ok(v) && v.as_f64().is_some_and(|x| x > 0.0) => v.as_f64().unwrap_or(0.0),
        Some(v) => {
            bad.push(format!(
                "{field} {v} is not a positive number in {currency} major units (omit it when 0)"
            ));
            0.0
        }
    };
    let (discount, delivery, tip) = (charge("discount"), charge("deliveryCharge"), charge("tip"));
    if discount > sum + 1e-6 {
        bad.push(format!("discount {discount} is above the lines' sum {sum}"));
    }
    let want = sum - discount + delivery + tip;
    if !price_ok(&body["total"]) {
        bad.push(format!(
            "total {} is not a non-negative number in {currency} major units",
            body["total"]
        ));
    } else if (body["total"].as_f64().unwrap_or(0.0) - want).abs() > 1e-6 {
        bad.push(format!(
            "total {} is not price × quantity ({sum}) − discount ({discount}) + deliveryCharge \
             ({delivery}) + tip ({tip}) = {want}",
            body["total"]
        ));
    }
    if let Some(name) = body.get("customerName")
        && !name.is_string()
    {
        bad.push(format!("customerName {name} is not a string"));
    }
    if !body["notes"].is_string() {
        bad.push(format!("notes {} is not a string", body["notes"]));
    }
    if !bad.is_empty() {
        for b in &bad {
            problem(st, b);
        }
        return message(400, &bad[0]);
    }
    if !st.hotels.contains_key(&hotel) {
        return message(404, "Hotel not found or inactive");
    }
    let day = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .strftime("%Y%m%d")
        .to_string();
    let seq = st.sequences.entry((hotel, day.clone())).or_insert(0);
    *seq += 1;
    let number = format!("AGG-{day}-{:03}", *seq);
    let mut order = body.clone();
    order["orderNumber"] = json!(number);
    st.orders.push(order);
    Response::json(201, &json!({"success": true, "orderNumber": number}))
        .with_content_type(CONTENT_TYPE)
}
