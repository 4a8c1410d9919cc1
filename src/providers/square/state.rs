//! Square's order states: BatchRetrieveOrders (`POST /v2/orders/batch-retrieve`, scope
//! `ORDERS_READ`), at most 100 orders a request.

use serde_json::{Value, json};

use super::SquareClient;
use crate::crypto::Secret;
use crate::providers::http;
use crate::providers::state::{PosState, StateReads};
use crate::store::Integration;

/// "A maximum of 100 orders can be retrieved per request."
pub const BATCH: usize = 100;

/// The state of one Square order: its (first) fulfillment's state, or the order's own state
/// when it has no fulfillment or the order is already `CANCELED` or `COMPLETED` (a terminal
/// order state wins over a fulfillment left behind).
pub fn state_of(order: &Value) -> Option<PosState> {
    let id = order["id"].as_str()?;
    let order_state = order["state"].as_str();
    let fulfillment = order["fulfillments"][0]["state"].as_str();
    let state = match (order_state, fulfillment) {
        (Some(s @ ("CANCELED" | "COMPLETED")), _) => s,
        (_, Some(f)) => f,
        (Some(s), None) => s,
        (None, None) => return None,
    };
    Some(PosState {
        pos_order_id: id.to_string(),
        state: state.to_string(),
        canceled: order_state == Some("CANCELED") || fulfillment == Some("CANCELED"),
    })
}

impl SquareClient {
    /// Read the states of `ids`, [`BATCH`] at a time.
    pub(super) fn read_states(
        &self,
        integration: &Integration,
        access_token: &Secret,
        ids: &[String],
    ) -> StateReads {
        let mut reads = StateReads::default();
        for batch in ids.chunks(BATCH) {
            let body = json!({"location_id": integration.location_id, "order_ids": batch});
            let sent = self
                .post("/v2/orders/batch-retrieve", access_token)
                .send(body.to_string());
            match sent.map_err(|e| http::describe(&e)).and_then(http::read) {
                Ok(answer) if answer.status == 200 => {
                    reads.ok += 1;
                    let page: Value = serde_json::from_str(&answer.body).unwrap_or(Value::Null);
                    reads.states.extend(
                        page["orders"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(state_of),
                    );
                }
                Ok(answer) => reads
                    .failed
                    .push(super::describe_errors(answer.status, &answer.body).0),
                Err(error) => reads.failed.push(error),
            }
        }
        reads
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fulfillment_state_shows_unless_the_order_itself_ended() {
        let order = |state: &str, fulfillment: Option<&str>| {
            let mut o = json!({"id": "SQ1", "state": state});
            if let Some(f) = fulfillment {
                o["fulfillments"] = json!([{"uid": "F1", "state": f}]);
            }
            o
        };
        for (o, state, canceled) in [
            (order("OPEN", Some("PROPOSED")), "PROPOSED", false),
            (order("OPEN", Some("PREPARED")), "PREPARED", false),
            (order("OPEN", Some("CANCELED")), "CANCELED", true),
            (order("CANCELED", Some("PROPOSED")), "CANCELED", true),
            (order("COMPLETED", Some("PREPARED")), "COMPLETED", false),
            (order("OPEN", None), "OPEN", false),
        ] {
            let found = state_of(&o).unwrap();
            assert_eq!(
                (found.state.as_str(), found.canceled),
                (state, canceled),
                "{o}"
            );
            assert_eq!(found.pos_order_id, "SQ1");
        }
        assert_eq!(state_of(&json!({"state": "OPEN"})), None, "no id");
    }
}
