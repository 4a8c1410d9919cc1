//! A Zoho cancellation (providers/README.md §F6): the sales order possync made is voided,
//! `POST /salesorders/{id}/status/void` with the seller's reason (scope
//! `ZohoInventory.salesorders.UPDATE`). `code == 0` is success; anything else is classified as
//! any Zoho answer (1002, the sales order does not exist, fails with Zoho's message).
//!
//! A push that got no answer may have made a sales order whose id possync never learned: its
//! cancellation comes without one, so it first looks the sales order up by its reference number
//! (the create path's own lookup). Found, it is voided; not found, Zoho never had the order and
//! nothing is left to cancel.

use serde_json::json;

use super::client::{Failed, ZohoClient, id_text};
use crate::domain::Step;
use crate::providers::{Done, Fact, Outcome, PushContext, PushResult, cut};

/// The step a cancellation takes next, from what it has done: the lookup while no sales order
/// is on record, then the void.
pub(super) fn cancel_step(done: &Done) -> Option<Step> {
    if done.canceled || done.not_in_pos {
        None
    } else if done.pos_order_id.is_none() {
        Some(Step::ReadOrder)
    } else {
        Some(Step::CancelOrder)
    }
}

impl ZohoClient {
    /// One step of a cancellation: look the sales order up, or void it.
    pub(super) fn cancel(&self, ctx: &PushContext<'_>, step: Step) -> PushResult {
        match (step, ctx.done.pos_order_id.as_deref()) {
            (Step::CancelOrder, Some(id)) => self.void(ctx, id),
            _ => self.look_up(ctx),
        }
    }

    /// Look the order's sales order up by its reference number.
    fn look_up(&self, ctx: &PushContext<'_>) -> PushResult {
        let learned = match self.find_existing(ctx) {
            Ok(Some(found)) => Fact::PosOrderId(id_text(&found["salesorder_id"])),
            Ok(None) => Fact::NotInPos,
            Err(Failed(result)) => return result,
        };
        PushResult {
            http_status: Some(200),
            outcome: Outcome::Success,
            learned: vec![learned],
        }
    }

    /// Void the sales order `id`.
    fn void(&self, ctx: &PushContext<'_>, id: &str) -> PushResult {
        let reason = ctx
            .order
            .life
            .cancel_reason
            .as_deref()
            .unwrap_or("Canceled in MenuMaker");
        let body = json!({ "reason": cut(reason, 100) });
        let path = format!("/salesorders/{id}/status/void");
        match self.call(ctx, "POST", &path, &[], Some(&body)) {
            Ok((status, _)) => PushResult {
                http_status: Some(status),
                outcome: Outcome::Success,
                learned: vec![Fact::Canceled],
            },
            Err(Failed(result)) => result,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cancellation_without_a_sales_order_looks_first() {
        let on_record = Done {
            pos_order_id: Some("460000000012345".into()),
            ..Done::default()
        };
        let table = [
            (
                "none on record: look",
                Done::default(),
                Some(Step::ReadOrder),
            ),
            (
                "on record: void",
                on_record.clone(),
                Some(Step::CancelOrder),
            ),
            (
                "not in Zoho: done",
                Done {
                    not_in_pos: true,
                    ..Done::default()
                },
                None,
            ),
            (
                "voided: done",
                Done {
                    canceled: true,
                    ..on_record
                },
                None,
            ),
        ];
        for (name, done, want) in table {
            assert_eq!(cancel_step(&done), want, "{name}");
        }
    }
}
