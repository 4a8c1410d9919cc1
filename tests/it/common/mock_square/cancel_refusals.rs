//! Square refusing a cancellation, as providers §F6 leaves open: whether Square accepts
//! `state: CANCELED` on a refunded order is unverified, so tests can make the mock refuse it
//! ([`MockSquare::refuse_canceled_when_refunded`]) the way Square refuses a state it will not
//! take (a 400 `BAD_REQUEST` on the field `order.state`), and refuse the fulfillment cancel
//! that possync falls back on ([`MockSquare::refuse_fulfillment_cancel`]).

use serde_json::Value;

use super::MockSquare;
use super::errors::{SqError, error_response};
use super::state::State;
use crate::common::mock_http::Response;

/// Which cancellations the mock refuses.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Refusals {
    /// `state: CANCELED` on an order that has a refund.
    pub(super) canceled_when_refunded: bool,
    /// A fulfillment set to `CANCELED` (in any update).
    pub(super) fulfillment_cancel: bool,
}

impl State {
    /// The refusal the update `sparse` of the stored `order` meets, if any.
    pub(super) fn cancel_refusal(&self, order: &Value, sparse: &Value) -> Option<Response> {
        let refunded = order["refunds"].as_array().is_some_and(|r| !r.is_empty());
        if self.refusals.canceled_when_refunded && refunded && sparse["state"] == "CANCELED" {
            let from = order["state"].as_str().unwrap_or("OPEN");
            return Some(error_response(
                400,
                vec![
                    SqError::new(
                        "BAD_REQUEST",
                        format!(
                            "An order with refunded tenders cannot transition from {from} to \
                             CANCELED."
                        ),
                    )
                    .field("order.state"),
                ],
            ));
        }
        let fulfillments = sparse["fulfillments"].as_array().into_iter().flatten();
        let canceled = fulfillments
            .enumerate()
            .find(|(_, f)| f["state"] == "CANCELED");
        match canceled {
            Some((i, f)) if self.refusals.fulfillment_cancel => Some(error_response(
                400,
                vec![
                    SqError::new(
                        "BAD_REQUEST",
                        format!(
                            "Fulfillment `{}` cannot be canceled.",
                            f["uid"].as_str().unwrap_or_default()
                        ),
                    )
                    .field(format!("order.fulfillments[{i}].state")),
                ],
            )),
            _ => None,
        }
    }
}

impl MockSquare {
    /// From now on, refuse `state: CANCELED` on an order that has a refund (400 `BAD_REQUEST`,
    /// field `order.state`), as Square may (providers §F6): the fulfillment alone can still be
    /// canceled.
    pub fn refuse_canceled_when_refunded(&self) {
        self.inner.lock().refusals.canceled_when_refunded = true;
    }

    /// From now on, refuse any update that cancels a fulfillment (400 `BAD_REQUEST` on the
    /// fulfillment's `state`).
    pub fn refuse_fulfillment_cancel(&self) {
        self.inner.lock().refusals.fulfillment_cancel = true;
    }
}
