//! SearchOrders (`POST /v2/orders/search`): the location and source filters, the created-at
//! start, in creation order. One page: the mock never holds more orders than a page.

use serde_json::{Value, json};

use super::routes::{check_bearer, check_content_type, check_square_version, record};
use super::state::Inner;
use crate::common::mock_http::{Action, Request, Response};

impl Inner {
    pub(super) fn search_orders(&self, req: &Request) -> Action {
        let mut st = self.lock();
        st.requests.push(record(req));
        let ctx = "POST /v2/orders/search";
        let auth = check_bearer(&mut st, ctx, req, "ORDERS_READ");
        let version = check_square_version(&mut st, ctx, req);
        let content = check_content_type(&mut st, ctx, req);
        if let Err(resp) = auth.map(|_| ()).and(version).and(content) {
            return Action::Respond(resp);
        }
        let body = req.json().unwrap_or(Value::Null);
        let locations: Vec<&str> = body["location_ids"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        if locations.is_empty() {
            st.problem(ctx, "location_ids is required (1 to 10 location ids)");
        }
        let filter = &body["query"]["filter"];
        let sources: Option<Vec<&str>> = filter["source_filter"]["source_names"]
            .as_array()
            .map(|names| names.iter().filter_map(Value::as_str).collect());
        let start_at = filter["date_time_filter"]["created_at"]["start_at"].as_str();
        if start_at.is_some() && body["query"]["sort"]["sort_field"] != json!("CREATED_AT") {
            st.problem(
                ctx,
                "a created_at filter needs sort.sort_field CREATED_AT (Square refuses otherwise)",
            );
        }
        let start = start_at.and_then(|s| s.parse::<jiff::Timestamp>().ok());
        let orders: Vec<Value> = st
            .orders
            .iter()
            .filter(|o| {
                o["location_id"]
                    .as_str()
                    .is_some_and(|l| locations.contains(&l))
            })
            .filter(|o| {
                sources.as_ref().is_none_or(|names| {
                    o["source"]["name"]
                        .as_str()
                        .is_some_and(|n| names.contains(&n))
                })
            })
            .filter(|o| {
                let created = o["created_at"]
                    .as_str()
                    .and_then(|s| s.parse::<jiff::Timestamp>().ok());
                match (start, created) {
                    (Some(start), Some(created)) => created >= start,
                    _ => true,
                }
            })
            .cloned()
            .collect();
        // Square leaves `orders` out when none match.
        let answer = if orders.is_empty() {
            json!({})
        } else {
            json!({ "orders": orders })
        };
        Action::Respond(Response::json(200, &answer))
    }
}
