//! What Square's idempotent money writes (CreatePayment, RefundPayment, PayOrder) check alike
//! before any commits: the key is recorded, a queued fault taken, the token's scopes, the
//! version and content-type headers, the body against its schema root and the prose rules; a
//! `TimeoutAfterCommit` fault commits and then sits on the answer.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{Value, json};

use super::Fault;
use super::errors::{SqError, error_response, fault_action};
use super::routes::{check_bearer, check_content_type, check_square_version, record_keyed};
use super::state::{Inner, State};
use crate::common::mock_http::{Action, Request, Response};

/// One money write's own parts.
pub(super) struct MoneyWrite<'a> {
    /// Where it is posted (`/v2/payments`, `/v2/orders/{id}/pay`).
    pub(super) path: &'a str,
    /// The scopes its token needs (all of them).
    pub(super) scopes: &'static [&'static str],
    /// Its request's root in the schemas.
    pub(super) schema: &'static str,
    /// Take the next fault queued for it.
    pub(super) fault: fn(&mut State) -> Option<Fault>,
    /// Square's prose rules for the body: Square's error for each broken one.
    pub(super) prose: &'a dyn Fn(&State, &Value) -> Vec<SqError>,
    /// Commit a body that passed every check (its idempotency table first).
    pub(super) commit: &'a dyn Fn(&mut State, &str, &str, Value) -> Response,
}

/// A broken prose rule, as Square's generic `INVALID_VALUE` on `field`.
pub(super) fn invalid(field: &str, why: impl Into<String>) -> SqError {
    SqError::new("INVALID_VALUE", why).field(field)
}

impl Inner {
    pub(super) fn money_write(&self, req: &Request, write: &MoneyWrite<'_>) -> Action {
        let mut st = self.lock();
        let ctx = record_keyed(&mut st, write.path, req);
        let fault = (write.fault)(&mut st);
        let auth = write.scopes.iter().try_fold(String::new(), |_, scope| {
            check_bearer(&mut st, &ctx, req, scope)
        });
        let version = check_square_version(&mut st, &ctx, req);
        let content = check_content_type(&mut st, &ctx, req);
        let body = req.json().unwrap_or(Value::Null);
        let mut refusals: Vec<SqError> = Vec::new();
        for v in self.schema_violations(write.schema, &body) {
            st.problem(&ctx, format!("{}: {}: {}", v.field, v.code, v.detail));
            refusals.push(SqError::new(v.code, v.detail.clone()).field(v.field.clone()));
        }
        for e in (write.prose)(&st, &body) {
            let field = e.field.clone().unwrap_or_default();
            st.problem(&ctx, format!("{field}: {}: {}", e.code, e.detail));
            refusals.push(e);
        }
        let delay = match commit_delay(fault) {
            Ok(delay) => delay,
            Err(action) => return action,
        };
        let resp = (|| {
            let merchant = auth?;
            version?;
            content?;
            if !refusals.is_empty() {
                // An unknown order in the path is Square's 404; any other refusal a 400.
                let unknown = refusals.iter().any(|e| e.code == "NOT_FOUND");
                return Err(error_response(if unknown { 404 } else { 400 }, refusals));
            }
            Ok((write.commit)(&mut st, &ctx, &merchant, body))
        })()
        .unwrap_or_else(|e| e);
        answer_after(delay, resp)
    }
}

/// What a queued fault does to a write: `TimeoutAfterCommit` lets it commit and delays the
/// answer (`Ok(Some(delay))`); any other fault is the answer instead (`Err`).
pub(super) fn commit_delay(fault: Option<Fault>) -> Result<Option<Duration>, Action> {
    match fault {
        Some(Fault::TimeoutAfterCommit(d)) => Ok(Some(d)),
        Some(other) => Err(fault_action(&other)),
        None => Ok(None),
    }
}

/// `resp`, after `delay` when a fault set one.
pub(super) fn answer_after(delay: Option<Duration>, resp: Response) -> Action {
    match delay {
        Some(d) => Action::Delayed(d, resp),
        None => Action::Respond(resp),
    }
}

/// A write under a key already used (`first`: the body it was first used with, and what it
/// made): the same body gets what it made again, as `{member: ...}`; another body is refused
/// with `IDEMPOTENCY_KEY_REUSED`. `None` for a key not used yet.
pub(super) fn replayed(
    st: &mut State,
    ctx: &str,
    member: &str,
    first: Option<(Value, Value)>,
    body: &Value,
) -> Option<Response> {
    let (first, made) = first?;
    if first == *body {
        return Some(Response::json(200, &json!({ member: made })));
    }
    st.problem(
        ctx,
        format!(
            "IDEMPOTENCY_KEY_REUSED: {member} key {} was first used with a different body",
            body["idempotency_key"]
        ),
    );
    Some(error_response(
        400,
        vec![
            SqError::new(
                "IDEMPOTENCY_KEY_REUSED",
                "The idempotency key was reused with a different request.",
            )
            .field("idempotency_key"),
        ],
    ))
}

/// A money write's entry in its idempotency `table` ((merchant, key)), and for a key already
/// used, its first body and what it made (from `made`, the writes in order), as [`replayed`]
/// takes them.
pub(super) fn first_use(
    table: &HashMap<(String, String), (Value, usize)>,
    made: &[Value],
    merchant: &str,
    body: &Value,
) -> ((String, String), Option<(Value, Value)>) {
    let key = body["idempotency_key"].as_str().unwrap_or_default();
    let entry = (merchant.to_string(), key.to_string());
    let first = table
        .get(&entry)
        .map(|(first, index)| (first.clone(), public(&made[*index])));
    (entry, first)
}

/// A stored payment or refund as Square shows it (without the mock's own bookkeeping).
pub(super) fn public(stored: &Value) -> Value {
    let mut made = stored.clone();
    if let Some(map) = made.as_object_mut() {
        map.remove("idempotency_key_sent");
    }
    made
}
