//! A Zoho cancellation (providers/README.md §F6): the sales order possync made is voided,
//! `POST /salesorders/{id}/status/void` with the seller's reason (scope
//! `ZohoInventory.salesorders.UPDATE`). `code == 0` is success; anything else is classified as
//! any Zoho answer (1002, the sales order does not exist, fails with Zoho's message).

use serde_json::json;

use super::client::{Failed, ZohoClient};
use crate::providers::{Fact, Outcome, PushContext, PushResult, cut};

impl ZohoClient {
    /// Void the order's sales order.
    pub(super) fn void(&self, ctx: &PushContext<'_>) -> PushResult {
        let Some(id) = ctx.done.pos_order_id.as_deref() else {
            return PushResult::ended(
                None,
                Outcome::Rejected {
                    error: "no Zoho sales order is on record for this order".into(),
                },
            );
        };
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
