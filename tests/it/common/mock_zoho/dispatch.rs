//! Routing, what every request is recorded as, the Inventory auth and organisation checks,
//! the queued faults, the rate limit, and the read-only lists.

use std::collections::VecDeque;
use std::time::Instant;

use serde_json::{Value, json};

use super::helpers::json_body;
use super::items::list_items;
use super::sales_orders::list_sales_orders;
use super::state::{Inner, State};
use super::{NOT_AUTHORIZED, Recorded, ZohoEndpoint, ZohoFault};
use crate::common::mock_http::{self, Action, CommitFault, Handler, Request, Response};

/// Zoho names its charset on every JSON answer.
pub(super) fn zoho_json(status: u16, body: &Value) -> Response {
    Response::json(status, body).with_content_type("application/json;charset=UTF-8")
}

pub(super) fn zoho_error(status: u16, code: i64, message: &str) -> Response {
    zoho_json(status, &json!({"code": code, "message": message}))
}

fn endpoint_of(method: &str, path: &str) -> Option<ZohoEndpoint> {
    let path = path.trim_end_matches('/');
    Some(match (method, path) {
        ("POST", "/inventory/v1/salesorders") => ZohoEndpoint::CreateSalesOrder,
        ("GET", "/inventory/v1/salesorders") => ZohoEndpoint::ListSalesOrders,
        ("GET", p) if is_sales_order_path(p, "") => ZohoEndpoint::GetSalesOrder,
        ("POST", p) if is_sales_order_path(p, "/status/void") => ZohoEndpoint::VoidSalesOrder,
        ("POST", "/inventory/v1/contacts") => ZohoEndpoint::CreateContact,
        ("GET", "/inventory/v1/contacts") => ZohoEndpoint::ListContacts,
        ("GET", "/inventory/v1/organizations") => ZohoEndpoint::Organizations,
        ("GET", "/inventory/v1/items") => ZohoEndpoint::Items,
        ("POST", "/oauth/v2/token") => ZohoEndpoint::Token,
        ("POST", "/oauth/v2/token/revoke") => ZohoEndpoint::Revoke,
        ("GET", "/oauth/v2/auth") => ZohoEndpoint::Authorize,
        _ => return None,
    })
}

/// `/inventory/v1/salesorders/{id}` followed by exactly `rest`.
fn is_sales_order_path(path: &str, rest: &str) -> bool {
    path.strip_prefix("/inventory/v1/salesorders/")
        .and_then(|p| p.strip_suffix(rest))
        .is_some_and(|id| !id.is_empty() && !id.contains('/'))
}

fn record(req: &Request, endpoint: Option<ZohoEndpoint>) -> Recorded {
    let raw_body = String::from_utf8_lossy(&req.body).to_string();
    let body = if raw_body.is_empty() {
        Value::Null
    } else if let Ok(v) = serde_json::from_str::<Value>(&raw_body) {
        v
    } else if req
        .header("content-type")
        .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"))
    {
        Value::Object(
            form_urlencoded::parse(&req.body)
                .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
                .collect(),
        )
    } else {
        Value::String(raw_body.clone())
    };
    Recorded {
        path: req.path.clone(),
        query: req.query.clone(),
        headers: req.headers.clone(),
        body,
        raw_body,
        endpoint,
        at: Instant::now(),
    }
}

impl Handler for Inner {
    fn handle(&self, req: &Request) -> Action {
        let endpoint = endpoint_of(&req.method, &req.path);
        let mut st = self.lock();
        st.requests.push(record(req, endpoint));
        let ctx = format!("{} {}", req.method, req.path);
        let Some(endpoint) = endpoint else {
            st.problem(&ctx, "no such endpoint");
            return Action::Respond(zoho_error(404, 5, "Invalid URL Passed"));
        };
        match endpoint {
            ZohoEndpoint::Token => self.token(&mut st, &ctx, req),
            ZohoEndpoint::Revoke => Action::Respond(self.revoke(&mut st, &ctx, req)),
            ZohoEndpoint::Authorize => Action::Respond(self.authorize(&mut st, &ctx, req)),
            _ => self.inventory(&mut st, &ctx, endpoint, req),
        }
    }
}

impl Inner {
    pub(super) fn inventory(
        &self,
        st: &mut State,
        ctx: &str,
        endpoint: ZohoEndpoint,
        req: &Request,
    ) -> Action {
        // The token (§B1): exactly `Zoho-oauthtoken <token>`.
        let token = match req.header("authorization") {
            None => {
                st.problem(ctx, "no Authorization header");
                return Action::Respond(zoho_error(401, 57, NOT_AUTHORIZED));
            }
            Some(value) => match value.strip_prefix("Zoho-oauthtoken ") {
                Some(token) if !token.trim().is_empty() && token.trim() == token => token,
                _ => {
                    st.problem(
                        ctx,
                        format!("Authorization is not `Zoho-oauthtoken <token>`: {value:?}"),
                    );
                    return Action::Respond(zoho_error(401, 57, NOT_AUTHORIZED));
                }
            },
        };
        // organization_id on every call but the organisation list (§B1, §B6.2).
        let org = if endpoint == ZohoEndpoint::Organizations {
            None
        } else {
            let ids: Vec<&str> = req
                .query
                .iter()
                .filter(|(k, _)| k == "organization_id")
                .map(|(_, v)| v.as_str())
                .collect();
            match ids.as_slice() {
                [] | [""] => {
                    st.problem(ctx, "no organization_id query parameter");
                    return Action::Respond(zoho_error(
                        400,
                        2,
                        "Invalid value passed for organization_id",
                    ));
                }
                [one] => Some(one.to_string()),
                _ => {
                    st.problem(ctx, format!("organization_id given {} times", ids.len()));
                    Some(ids[0].to_string())
                }
            }
        };
        if !st.live_access(token) {
            return Action::Respond(zoho_error(401, 57, NOT_AUTHORIZED));
        }
        if let Some(org) = &org
            && st.organization(org).is_none()
        {
            return Action::Respond(zoho_error(
                400,
                6041,
                "This user is not associated with the organization",
            ));
        }
        let fault = st.faults.get_mut(&endpoint).and_then(VecDeque::pop_front);
        let work = |st: &mut State| -> Response {
            match endpoint {
                ZohoEndpoint::CreateSalesOrder => {
                    self.create_sales_order(st, ctx, req, org.as_deref().unwrap_or_default())
                }
                ZohoEndpoint::ListSalesOrders => list_sales_orders(st, req),
                ZohoEndpoint::GetSalesOrder => self.get_sales_order(st, ctx, req),
                ZohoEndpoint::VoidSalesOrder => self.void_sales_order(st, ctx, req),
                ZohoEndpoint::CreateContact => self.create_contact(st, ctx, req),
                ZohoEndpoint::ListContacts => self.list_contacts(st, ctx, req),
                ZohoEndpoint::Organizations => organizations(st),
                ZohoEndpoint::Items => list_items(st, req),
                _ => unreachable!("not an Inventory endpoint"),
            }
        };
        match fault {
            Some(ZohoFault::Status(status)) => Action::Respond(Response::text(
                status,
                "text/html; charset=UTF-8",
                &format!(
                    "<html><body><h1>{status} {}</h1></body></html>",
                    mock_http::reason(status)
                ),
            )),
            Some(ZohoFault::Code {
                status,
                code,
                message,
            }) => Action::Respond(zoho_error(status, code, &message)),
            Some(ZohoFault::RateLimited { retry_after }) => {
                let resp = zoho_error(
                    429,
                    44,
                    "You have made too many requests. Please try after some time.",
                );
                Action::Respond(match retry_after {
                    Some(value) => resp.with_header("Retry-After", &value),
                    None => resp,
                })
            }
            Some(ZohoFault::ConnectionReset) => CommitFault::ResetBefore.around(|| work(st)),
            Some(ZohoFault::ResetAfterCommit) => CommitFault::ResetAfter.around(|| work(st)),
            Some(ZohoFault::TimeoutAfterCommit(delay) | ZohoFault::Delay(delay)) => {
                CommitFault::DelayAfter(delay).around(|| work(st))
            }
            None => {
                if let Some(org) = &org
                    && let Some(limited) = rate_limit(st, org)
                {
                    return Action::Respond(limited);
                }
                Action::Respond(work(st))
            }
        }
    }
}

impl Inner {
    /// The JSON body of a POST, checked against the request schema `root` (when loaded): each
    /// schema error is a problem, and the first is Zoho's 400 code 4.
    pub(super) fn checked_body(
        &self,
        st: &mut State,
        ctx: &str,
        req: &Request,
        root: &str,
    ) -> Result<Value, Response> {
        let body = json_body(st, ctx, req)?;
        if let Some(validator) = self.schemas.validators.get(root) {
            let errors: Vec<String> = validator
                .iter_errors(&body)
                .map(|e| format!("{}: {e}", e.instance_path()))
                .collect();
            for e in &errors {
                st.problem(ctx, format!("schema: {e}"));
            }
            if let Some(first) = errors.first() {
                return Err(zoho_error(
                    400,
                    4,
                    &format!("Invalid value passed: {first}"),
                ));
            }
        }
        Ok(body)
    }
}

/// Count one request of `org`; the 429 when it is over the limit (§B4, §B6.6).
fn rate_limit(st: &mut State, org: &str) -> Option<Response> {
    let now = Instant::now();
    let (max, window) = (st.rate_max, st.rate_window);
    let slot = st.rate.entry(org.to_string()).or_insert((now, 0));
    if now.duration_since(slot.0) >= window {
        *slot = (now, 0);
    }
    if slot.1 >= max {
        let left = window.saturating_sub(now.duration_since(slot.0));
        let secs = left.as_millis().div_ceil(1000).max(1);
        return Some(
            zoho_error(
                429,
                44,
                "You have made too many requests. Please try after some time.",
            )
            .with_header("Retry-After", &secs.to_string())
            .with_header("X-Rate-Limit-Limit", &max.to_string())
            .with_header("X-Rate-Limit-Remaining", "0")
            .with_header("X-Rate-Limit-Reset", &secs.to_string()),
        );
    }
    slot.1 += 1;
    None
}

pub(super) fn organizations(st: &mut State) -> Response {
    let orgs: Vec<Value> = st
        .organizations
        .iter()
        .enumerate()
        .map(|(i, o)| {
            json!({
                "organization_id": o.id, "name": o.name, "currency_code": o.currency,
                "is_default_org": i == 0, "time_zone": "Asia/Calcutta", "country": "India",
            })
        })
        .collect();
    zoho_json(
        200,
        &json!({"code": 0, "message": "success", "organizations": orgs}),
    )
}
