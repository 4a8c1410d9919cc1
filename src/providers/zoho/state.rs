//! Zoho's sales order states: `GET /salesorders/{id}`, one order a request, through the same
//! call path as every Zoho call (so the organisation's request budget counts them). They are
//! background calls: they leave half the burst to pushes and never wait, and a round stops at
//! the first refusal (the rest are read in a later round).

use serde_json::Value;

use super::client::{Failed, Request, ZohoClient, id_text};
use crate::crypto::Secret;
use crate::providers::Outcome;
use crate::providers::governor::Priority;
use crate::providers::state::{PosState, StateReads};
use crate::store::Integration;

/// The state in a `GET /salesorders/{id}` answer: its `status` (`draft`, `confirmed`,
/// `fulfilled`, `closed`, `void`).
pub fn state_of(answer: &Value, pos_order_id: &str) -> Option<PosState> {
    let so = &answer["salesorder"];
    let status = so["status"].as_str()?;
    let id = so.get("salesorder_id").map(id_text);
    Some(PosState {
        pos_order_id: id.unwrap_or_else(|| pos_order_id.to_string()),
        state: status.to_string(),
        canceled: status == "void",
    })
}

impl ZohoClient {
    /// Read the status of each sales order in `ids`, one request each.
    pub(super) fn read_states(
        &self,
        integration: &Integration,
        access_token: &Secret,
        ids: &[String],
    ) -> StateReads {
        let mut reads = StateReads::default();
        for (done, id) in ids.iter().enumerate() {
            let path = format!("/salesorders/{id}");
            let request = Request {
                method: "GET",
                path: &path,
                query: &[],
                body: None,
            };
            match self.governed(integration, access_token, Priority::Background, &request) {
                Ok((_, answer)) => {
                    reads.ok += 1;
                    reads.states.extend(state_of(&answer, id));
                }
                // Zoho's own 429 or possync's budget: the next reads would meet the same.
                Err(Failed(result)) if matches!(result.outcome, Outcome::RateLimited { .. }) => {
                    let error = result.outcome.error().unwrap_or("rate-limited");
                    reads.failed.push(format!(
                        "{error}; the other {} orders are read in a later round",
                        ids.len() - done - 1
                    ));
                    break;
                }
                Err(Failed(result)) => reads.failed.push(
                    result
                        .outcome
                        .error()
                        .unwrap_or("Zoho did not answer")
                        .to_string(),
                ),
            }
        }
        reads
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_status_is_the_state_and_void_is_a_cancellation() {
        for (status, canceled) in [("draft", false), ("confirmed", false), ("void", true)] {
            let answer =
                json!({"code": 0, "salesorder": {"salesorder_id": 4815, "status": status}});
            let found = state_of(&answer, "other").unwrap();
            assert_eq!(
                (
                    found.pos_order_id.as_str(),
                    found.state.as_str(),
                    found.canceled
                ),
                ("4815", status, canceled)
            );
        }
        assert_eq!(state_of(&json!({"code": 0}), "1"), None);
    }
}
