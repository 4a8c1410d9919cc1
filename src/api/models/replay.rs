//! What a bulk replay answers.

use poem_openapi::Object;

use crate::api::formats::Id;
use crate::domain::OrderId;
use crate::store::replay::Skip;

/// An order the replay left alone, and why.
#[derive(Debug, Object)]
pub struct SkippedOrder {
    pub order_id: Id,
    pub reason: String,
}

/// `data` of a replay: how many orders were queued again, and the ones skipped.
#[derive(Debug, Object)]
pub struct ReplayData {
    /// Failed orders given a new create log, each pushed in its integration's lane.
    pub queued: i64,
    pub skipped: Vec<SkippedOrder>,
    /// The request's `limit` stopped the replay with matching orders left: replay again (the
    /// ones queued now no longer match) to send the next ones. Always false without `limit`.
    pub more: bool,
}

impl From<(OrderId, Skip)> for SkippedOrder {
    fn from((id, skip): (OrderId, Skip)) -> Self {
        SkippedOrder {
            order_id: Id::of(id),
            reason: skip.reason(),
        }
    }
}
