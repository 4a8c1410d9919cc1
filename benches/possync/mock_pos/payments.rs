//! `POST /v2/payments`: Square's CreatePayment (an EXTERNAL payment against the order),
//! idempotent by key. Its 2xx answer is when the order shows on the POS.

use std::sync::Arc;

use poem::http::StatusCode;
use poem::web::{Data, Json};
use poem::{Response, handler};
use serde_json::{Value, json};

use super::{MockPos, UNAVAILABLE, delay};
use crate::harness::clock::now_ms;

#[handler]
pub async fn create_payment(body: Json<Value>, Data(mock): Data<&Arc<MockPos>>) -> Response {
    let at_ms = now_ms();
    let key = body["idempotency_key"].as_str().unwrap_or("").to_string();
    let reference = body["reference_id"].as_str().unwrap_or("").to_string();
    let location = body["location_id"].as_str().unwrap_or("");
    let (_in_flight, fault) = mock.enter(location, at_ms);
    let id = {
        let mut state = mock.lock();
        state.requests += 1;
        if key != format!("mmpay-{reference}") {
            state.key_mismatches += 1;
        }
        match state.payment_keys.get(&key) {
            _ if fault.is_some() => None,
            Some(id) => Some(id.clone()),
            None => {
                let id = mock.next_id("PAYBENCH");
                state.payment_keys.insert(key, id.clone());
                *state.paid.entry(reference.clone()).or_default() += 1;
                Some(id)
            }
        }
    };
    let faulted = delay(mock, fault).await;
    let Some(id) = id.filter(|_| !faulted) else {
        return Response::builder()
            .status(StatusCode::SERVICE_UNAVAILABLE)
            .content_type("application/json")
            .body(UNAVAILABLE);
    };
    mock.lock()
        .answered
        .entry(reference.clone())
        .or_insert(now_ms());
    let payment = json!({"payment": {
        "id": id, "status": "COMPLETED", "order_id": body["order_id"],
        "reference_id": reference, "amount_money": body["amount_money"],
        "location_id": location,
    }});
    Response::builder()
        .status(StatusCode::OK)
        .content_type("application/json")
        .body(payment.to_string())
}
