//! Before a log gives up after pushes that got no answer, look in Square for the order: a
//! push that timed out may have created it, and the seller must not be told to enter it by
//! hand when Square has it. SearchOrders (`POST /v2/orders/search`, scope `ORDERS_READ`) has no
//! filter by `reference_id`, so it lists MenuMaker's orders of the location created since
//! shortly before the order and matches `reference_id` (the bare order id, §F3).

use serde_json::{Value, json};

use super::SquareClient;
use crate::providers::{PushContext, http};

/// Pages of SearchOrders read at most (a location with more MenuMaker orders since this one
/// is searched no further: the seller is still told to check the POS first).
const MAX_PAGES: usize = 5;

/// Orders per page (Square allows up to 1,000).
const PAGE_SIZE: u64 = 500;

/// How long before the order's creation the search starts (clocks differ).
const CLOCK_MARGIN_MS: i64 = 60 * 60 * 1000;

/// The SearchOrders body for MenuMaker's orders of `location_id` created since `since_ms`.
pub fn search_body(location_id: &str, since_ms: i64, cursor: Option<&str>) -> Value {
    let start_at = jiff::Timestamp::from_millisecond(since_ms)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .to_string();
    let mut body = json!({
        "location_ids": [location_id],
        "query": {
            "filter": {
                "source_filter": {"source_names": ["MenuMaker"]},
                "date_time_filter": {"created_at": {"start_at": start_at}},
            },
            "sort": {"sort_field": "CREATED_AT", "sort_order": "ASC"},
        },
        "limit": PAGE_SIZE,
    });
    if let Some(cursor) = cursor {
        body["cursor"] = json!(cursor);
    }
    body
}

/// The id of the order in `page` whose `reference_id` is `reference`, and the next cursor.
pub fn find_in_page(page: &Value, reference: &str) -> (Option<String>, Option<String>) {
    let found = page["orders"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|order| order["reference_id"].as_str() == Some(reference))
        .and_then(|order| order["id"].as_str())
        .map(str::to_string);
    let cursor = page["cursor"]
        .as_str()
        .filter(|c| !c.is_empty())
        .map(str::to_string);
    (found, cursor)
}

impl SquareClient {
    /// The Square order id of `ctx.order`, when Square has it; `None` when it does not or
    /// Square could not be asked (logged).
    pub(super) fn look_up(&self, ctx: &PushContext<'_>) -> Option<String> {
        let location_id = ctx.integration.location_id.as_deref()?;
        let since = ctx.order.created_at.saturating_sub(CLOCK_MARGIN_MS);
        let mut cursor = None;
        for _ in 0..MAX_PAGES {
            let body = search_body(location_id, since, cursor.as_deref());
            let sent = self
                .post("/v2/orders/search", ctx.access_token)
                .send(body.to_string());
            let page = match sent.map_err(|e| http::describe(&e)).and_then(http::read) {
                Ok(answer) if answer.status == 200 => {
                    serde_json::from_str::<Value>(&answer.body).unwrap_or(Value::Null)
                }
                Ok(answer) => {
                    tracing::warn!(
                        order_id = %ctx.order.id,
                        http_status = answer.status,
                        "could not look the order up in Square"
                    );
                    return None;
                }
                Err(error) => {
                    tracing::warn!(order_id = %ctx.order.id, %error, "could not look the order up in Square");
                    return None;
                }
            };
            let (found, next) = find_in_page(&page, ctx.order.id.as_str());
            if found.is_some() {
                return found;
            }
            cursor = Some(next?);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_search_lists_menumaker_orders_of_the_location_since_the_order() {
        let body = search_body("L1", 1_700_000_000_000, Some("next"));
        assert_eq!(body["location_ids"], json!(["L1"]));
        assert_eq!(
            body["query"]["filter"]["date_time_filter"]["created_at"]["start_at"],
            json!("2023-11-14T22:13:20Z")
        );
        assert_eq!(body["query"]["sort"]["sort_field"], json!("CREATED_AT"));
        assert_eq!(body["cursor"], json!("next"));
    }

    #[test]
    fn the_order_is_found_by_its_reference() {
        let page = json!({"orders": [
            {"id": "A", "reference_id": "other"},
            {"id": "B", "reference_id": "mine"},
        ], "cursor": "c2"});
        assert_eq!(
            find_in_page(&page, "mine"),
            (Some("B".into()), Some("c2".into()))
        );
        assert_eq!(find_in_page(&json!({}), "mine"), (None, None));
    }
}
