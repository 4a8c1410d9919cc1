//! `GET /items`: Zoho's item list in pages (`page` from 1, `per_page` at most 200), inactive
//! items included, `page_context.has_more_page` saying whether another page follows.

use serde_json::json;

use super::dispatch::zoho_json;
use super::state::State;
use crate::common::mock_http::{Request, Response};

pub(super) fn list_items(st: &mut State, req: &Request) -> Response {
    let number = |name: &str, default: usize| {
        req.query(name).map_or(Ok(default), |v| {
            v.parse::<usize>().map_err(|_| name.to_string())
        })
    };
    let (page, per_page) = match (number("page", 1), number("per_page", 200)) {
        (Ok(p), Ok(n)) if p >= 1 && (1..=200).contains(&n) => (p, n),
        _ => {
            st.problem("GET /items", "page must be >= 1 and per_page 1..=200");
            return zoho_json(
                400,
                &json!({"code": 2, "message": "Invalid value passed for page"}),
            );
        }
    };
    let start = (page - 1) * per_page;
    let items: Vec<_> = st
        .items
        .iter()
        .skip(start)
        .take(per_page)
        .cloned()
        .collect();
    let has_more_page = start + items.len() < st.items.len();
    zoho_json(
        200,
        &json!({
            "code": 0, "message": "success", "items": items,
            "page_context": {
                "page": page, "per_page": per_page, "has_more_page": has_more_page,
                "report_name": "Items", "applied_filter": "Status.All",
                "sort_column": "name", "sort_order": "A",
            },
        }),
    )
}
