//! `POST /v2/orders`: Square's CreateOrder, idempotent by key, answering the order with the
//! total Square computes (what possync checks against MenuMaker's).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use poem::http::StatusCode;
use poem::web::{Data, Json};
use poem::{Request, Response, handler};
use serde_json::{Value, json};

use super::{Arrival, MockPos, UNAVAILABLE, delay};
use crate::harness::clock::{now_ms, wall_ms};

/// Square's total of a CreateOrder body: each line's quantity × base price, plus service
/// charges (the bench's orders have no taxes or discounts).
fn total(order: &Value) -> i64 {
    let amount = |v: &Value, path: &str| v.pointer(path).and_then(Value::as_i64).unwrap_or(0);
    let lines: i64 = order["line_items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|line| {
            let quantity = line["quantity"]
                .as_str()
                .and_then(|q| q.parse::<i64>().ok())
                .unwrap_or(1);
            quantity * amount(line, "/base_price_money/amount")
        })
        .sum();
    let charges: i64 = order["service_charges"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| amount(c, "/amount_money/amount"))
        .sum();
    lines + charges
}

#[handler]
pub async fn create_order(
    req: &Request,
    body: Json<Value>,
    Data(mock): Data<&Arc<MockPos>>,
) -> Response {
    let at_ms = now_ms();
    let wall = wall_ms();
    let key = body["idempotency_key"].as_str().unwrap_or("").to_string();
    let reference = body["order"]["reference_id"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let location = body["order"]["location_id"].as_str().unwrap_or("");
    let (_in_flight, fault) = mock.enter(location, at_ms);
    let random_failure = mock.roll_failure();
    let id = {
        let mut guard = mock.lock();
        let state = &mut *guard;
        state.requests += 1;
        if let Some(addr) = req.remote_addr().as_socket_addr() {
            state.remotes.insert(*addr);
        }
        if key != format!("menumaker-{reference}") {
            state.key_mismatches += 1;
        }
        let arrivals = state.arrivals.entry(reference.clone()).or_default();
        let failed = fault.is_some()
            || random_failure
            || (mock.fail_first.load(Ordering::SeqCst) && arrivals.is_empty());
        arrivals.push(Arrival {
            at_ms,
            wall_ms: wall,
            failed,
        });
        if failed {
            None
        } else if let Some(id) = state.keys.get(&key) {
            // Square's idempotency: the same key gets the order it already made.
            Some(id.clone())
        } else {
            let id = mock.next_id("SQBENCH");
            state.keys.insert(key, id.clone());
            *state.created.entry(reference.clone()).or_default() += 1;
            Some(id)
        }
    };
    let faulted = delay(mock, fault).await;
    match id.filter(|_| !faulted) {
        None => Response::builder()
            .status(StatusCode::SERVICE_UNAVAILABLE)
            .content_type("application/json")
            .body(UNAVAILABLE),
        Some(id) => {
            mock.lock()
                .ordered
                .entry(reference.clone())
                .or_insert(now_ms());
            let currency = body["order"]["line_items"][0]["base_price_money"]["currency"].clone();
            let order = json!({"order": {
                "id": id, "reference_id": reference, "location_id": location,
                "state": "OPEN", "version": 1,
                "total_money": {"amount": total(&body["order"]), "currency": currency},
            }});
            Response::builder()
                .status(StatusCode::OK)
                .content_type("application/json")
                .body(order.to_string())
        }
    }
}
