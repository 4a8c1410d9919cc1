//! POS clients. Each turns an order into its provider's request (a pure payload builder),
//! sends it with blocking ureq on a worker thread, and classifies the answer into the retry
//! policy's outcome kinds. The engine knows nothing provider-specific.

pub mod dine;
pub mod http;
pub mod square;
pub mod zoho;

use serde_json::Value;

use crate::crypto::Secret;
use crate::store::{Integration, Order, Store};
use crate::sync::policy::Outcome;

/// What one push attempt produced.
#[derive(Debug, Clone)]
pub struct PushResult {
    /// The HTTP status of the last request, when an answer came.
    pub http_status: Option<u16>,
    pub outcome: Outcome,
}

/// Everything a push needs.
pub struct PushContext<'a> {
    pub order: &'a Order,
    pub integration: &'a Integration,
    pub access_token: &'a Secret,
    /// The business's IANA time zone (Zoho dates the order in it).
    pub timezone: &'a str,
    /// 1 for the first attempt of this log.
    pub attempt_number: i64,
    /// Whether an earlier attempt or an earlier log may already have put the order in the POS
    /// (a provider without idempotency keys then looks before it creates).
    pub may_exist: bool,
    /// For provider-side caches (Zoho contacts).
    pub store: &'a Store,
    /// For providers with idempotency keys: the body an earlier push of this order sent, to be
    /// resent unchanged (a changed body under the same key is refused).
    pub frozen_request: Option<&'a Value>,
}

/// A POS that possync can push orders into.
pub trait PosClient: Send + Sync {
    /// The body a push of `order` would send now (no secrets in it).
    fn build_request(
        &self,
        order: &Order,
        integration: &Integration,
        timezone: &str,
        store: &Store,
    ) -> crate::Result<Value>;

    /// Push one order. Blocking: call only on a worker thread.
    fn push(&self, ctx: &PushContext<'_>) -> PushResult;

    /// Whether every push of one order must send the same body (an idempotency key makes the
    /// provider compare them).
    fn freezes_request(&self) -> bool {
        false
    }
}

/// Cut `text` to at most `max` characters (never inside a character).
pub fn cut(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn cut_counts_characters() {
        assert_eq!(super::cut("Rahul Kumar", 5), "Rahul");
        assert_eq!(super::cut("₹₹₹", 2), "₹₹");
        assert_eq!(super::cut("ab", 30), "ab");
    }
}
