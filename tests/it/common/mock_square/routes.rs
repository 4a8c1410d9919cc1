//! Routing, what every request is recorded as, and the header checks every endpoint shares.

use std::time::Instant;

use serde_json::Value;

use super::errors::{SqError, error_response};
use super::prose::Violation;
use super::schema_errors::violation_of;
use super::state::{Inner, State};
use super::{FORBIDDEN_DETAIL, MERCHANT_ID, Recorded, SQUARE_VERSION, UNAUTHORIZED_DETAIL};
use crate::common::mock_http::{Action, Handler, Request, Response};

const KNOWN_PATHS: &[&str] = &[
    "/v2/orders",
    "/v2/payments",
    "/v2/refunds",
    "/v2/locations",
    "/v2/catalog/list",
    "/v2/catalog/search",
    "/oauth2/token",
    "/oauth2/revoke",
    "/oauth2/token/status",
    "/oauth2/authorize",
];

impl Handler for Inner {
    /// Square answers in the `Square-Version` asked for when it is well formed, else its own.
    fn handle(&self, req: &Request) -> Action {
        let version = req
            .header("square-version")
            .filter(|v| is_square_version(v))
            .unwrap_or(SQUARE_VERSION)
            .to_string();
        self.route(req)
            .map(|resp| resp.with_header("Square-Version", &version))
    }

    fn malformed(&self, why: &str) -> Response {
        error_response(400, vec![SqError::new("BAD_REQUEST", why)])
            .with_header("Square-Version", SQUARE_VERSION)
    }
}

/// What the tests see of a request.
pub(super) fn record(req: &Request) -> Recorded {
    Recorded {
        method: req.method.clone(),
        path: req.path.clone(),
        headers: req.headers.clone(),
        body: req
            .json()
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&req.body).into())),
        at: Instant::now(),
    }
}

/// Record a `POST` to `path` that carries an idempotency key; what problems call it:
/// `POST <path> #<n> (idempotency_key <key>)`, `n` counting the calls to `path`.
pub(super) fn record_keyed(st: &mut State, path: &str, req: &Request) -> String {
    let recorded = record(req);
    let number = st
        .requests
        .iter()
        .filter(|r| r.method == "POST" && r.path.trim_end_matches('/') == path)
        .count()
        + 1;
    let key = recorded
        .body
        .get("idempotency_key")
        .map_or_else(|| "none".to_string(), |k| k.to_string());
    st.requests.push(recorded);
    format!("POST {path} #{number} (idempotency_key {key})")
}

impl Inner {
    pub(super) fn route(&self, req: &Request) -> Action {
        let path = req.path.trim_end_matches('/');
        match (req.method.as_str(), path) {
            ("POST", "/v2/orders") => self.create_order(req),
            ("POST", "/v2/orders/search") => self.search_orders(req),
            ("POST", "/v2/orders/batch-retrieve") => self.batch_retrieve_orders(req),
            ("PUT", p) if p.starts_with("/v2/orders/") && p.len() > "/v2/orders/".len() => {
                self.update_order(req, &p["/v2/orders/".len()..])
            }
            ("POST", p) if pay_order_id(p).is_some() => {
                self.pay_order(req, pay_order_id(p).unwrap_or_default())
            }
            ("POST", "/v2/payments") => self.create_payment(req),
            ("POST", "/v2/refunds") => self.refund_payment(req),
            ("GET", p) if p.starts_with("/v2/orders/") && p.len() > "/v2/orders/".len() => {
                self.retrieve_order(req, &p["/v2/orders/".len()..])
            }
            ("GET", "/v2/locations") => self.list_locations(req),
            ("GET", "/v2/catalog/list") => self.list_catalog(req),
            ("POST", "/v2/catalog/search") => self.search_catalog(req),
            ("POST", "/oauth2/token") => self.obtain_token(req),
            ("POST", "/oauth2/revoke") => self.revoke_token(req),
            ("POST", "/oauth2/token/status") => self.token_status(req),
            ("GET", "/oauth2/authorize") => self.authorize(req),
            (method, p) => {
                let mut st = self.lock();
                st.requests.push(record(req));
                let known = KNOWN_PATHS.contains(&p) || p.starts_with("/v2/orders/");
                let (status, code) = if known {
                    (405, "METHOD_NOT_ALLOWED")
                } else {
                    (404, "NOT_FOUND")
                };
                st.problem(
                    &format!("{method} {}", req.path),
                    format!("the mock Square does not serve this ({status})"),
                );
                Action::Respond(error_response(
                    status,
                    vec![SqError::new(
                        code,
                        format!("{method} {} is not served", req.path),
                    )],
                ))
            }
        }
    }

    /// Schema-check `instance` against `root` (nothing when the schema is not available).
    pub(super) fn schema_violations(&self, root: &str, instance: &Value) -> Vec<Violation> {
        match self.schemas.validators.get(root) {
            Some(validator) => validator
                .iter_errors(instance)
                .map(|e| violation_of(&e))
                .collect(),
            None => Vec::new(),
        }
    }
}

/// The order id of a PayOrder path, `/v2/orders/{order_id}/pay`.
fn pay_order_id(path: &str) -> Option<&str> {
    let id = path.strip_prefix("/v2/orders/")?.strip_suffix("/pay")?;
    (!id.is_empty() && !id.contains('/')).then_some(id)
}

/// `Square-Version` present and `YYYY-MM-DD` (a real date). Records problems; `Err` for a
/// malformed version (Square answers 400 `INVALID_SQUARE_VERSION_FORMAT`).
pub(super) fn check_square_version(
    st: &mut State,
    ctx: &str,
    req: &Request,
) -> Result<(), Response> {
    match req.header("square-version") {
        None => {
            st.problem(
                ctx,
                "no Square-Version header (§A1: send it on every call, e.g. 2025-08-20)",
            );
            Ok(())
        }
        Some(v) if is_square_version(v) => Ok(()),
        Some(v) => {
            st.problem(ctx, format!("Square-Version {v:?} is not YYYY-MM-DD"));
            Err(error_response(
                400,
                vec![SqError::new(
                    "INVALID_SQUARE_VERSION_FORMAT",
                    format!("Invalid Square-Version format: {v}"),
                )],
            ))
        }
    }
}

fn is_square_version(v: &str) -> bool {
    v.len() == 10
        && v.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        })
        && v.parse::<jiff::civil::Date>().is_ok()
}

/// `Content-Type: application/json` on a request with a body.
pub(super) fn check_content_type(st: &mut State, ctx: &str, req: &Request) -> Result<(), Response> {
    let ok = req.header("content-type").is_some_and(|v| {
        v.split(';')
            .next()
            .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
    });
    if ok {
        return Ok(());
    }
    st.problem(
        ctx,
        format!(
            "Content-Type is {:?}, not application/json",
            req.header("content-type")
        ),
    );
    Err(error_response(
        400,
        vec![SqError::new(
            "INVALID_CONTENT_TYPE",
            "Content-Type must be application/json.",
        )],
    ))
}

/// The Bearer token: missing or malformed → problem + 401; unknown → 401 `UNAUTHORIZED`;
/// revoked/expired → 401 `ACCESS_TOKEN_REVOKED`/`ACCESS_TOKEN_EXPIRED`; without `scope` → 403.
pub(super) fn check_bearer(
    st: &mut State,
    ctx: &str,
    req: &Request,
    scope: &str,
) -> Result<String, Response> {
    let unauthorized =
        |code: &str| error_response(401, vec![SqError::new(code, UNAUTHORIZED_DETAIL)]);
    let Some(auth) = req.header("authorization") else {
        st.problem(
            ctx,
            "no Authorization header (§A1: `Authorization: Bearer <token>`)",
        );
        return Err(unauthorized("UNAUTHORIZED"));
    };
    let token = match auth.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            token.trim()
        }
        _ => {
            st.problem(
                ctx,
                format!("Authorization {auth:?} is not `Bearer <token>`"),
            );
            return Err(unauthorized("UNAUTHORIZED"));
        }
    };
    let Some(info) = st.tokens.get(token) else {
        return Err(unauthorized("UNAUTHORIZED"));
    };
    if let Err(code) = info.usable() {
        return Err(unauthorized(code));
    }
    if !info.scopes.iter().any(|s| s == scope) {
        return Err(error_response(
            403,
            vec![SqError::new("FORBIDDEN", FORBIDDEN_DETAIL)],
        ));
    }
    Ok(MERCHANT_ID.to_string())
}
