//! POS clients. Each turns an order into its provider's request (a pure payload builder),
//! sends it with blocking ureq on a worker thread, and classifies the answer for the policy.

pub mod http;
pub mod square;

use serde_json::Value;

use crate::crypto::Secret;
use crate::store::{Integration, Order};
use crate::sync::policy::Outcome;

/// What one push attempt produced.
#[derive(Debug, Clone)]
pub struct PushResult {
    /// The HTTP status, when an answer came.
    pub http_status: Option<u16>,
    pub outcome: Outcome,
}

/// A POS that possync can push orders into.
pub trait PosClient: Send + Sync {
    /// The exact JSON body a push of `order` would send now (no secrets in it).
    fn build_request(&self, order: &Order, integration: &Integration) -> Value;

    /// Push one order. Blocking: call only on a worker thread.
    fn push(&self, order: &Order, integration: &Integration, access_token: &Secret) -> PushResult;
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
