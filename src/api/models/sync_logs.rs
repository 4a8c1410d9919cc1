//! Sync logs, their attempts, statistics and previews as the wire shows them.

use poem_openapi::{Enum, Object};

use super::{PageInfo, Provider};
use crate::api::formats::{Id, Timestamp};
use crate::domain::{SyncAction, SyncStatus};
use crate::store;

/// Where a sync log is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum SyncState {
    /// Queued, waiting for a worker.
    Pending,
    /// A worker is pushing it now.
    Syncing,
    /// An attempt failed; another is scheduled at `next_retry_at`.
    Retry,
    /// The POS has the order (`pos_order_id`); a cancellation: the POS has it canceled, or
    /// never had it (no `pos_order_id`: Zoho's lookup after a push that got no answer found
    /// no sales order).
    Success,
    /// Given up; `error_message` says why.
    Failed,
}

impl From<SyncStatus> for SyncState {
    fn from(s: SyncStatus) -> Self {
        match s {
            SyncStatus::Pending => SyncState::Pending,
            SyncStatus::Syncing => SyncState::Syncing,
            SyncStatus::Retry => SyncState::Retry,
            SyncStatus::Success => SyncState::Success,
            SyncStatus::Failed => SyncState::Failed,
        }
    }
}

impl From<SyncState> for SyncStatus {
    fn from(s: SyncState) -> Self {
        match s {
            SyncState::Pending => SyncStatus::Pending,
            SyncState::Syncing => SyncStatus::Syncing,
            SyncState::Retry => SyncStatus::Retry,
            SyncState::Success => SyncStatus::Success,
            SyncState::Failed => SyncStatus::Failed,
        }
    }
}

/// What a sync log does in the POS: `create` makes the order there; `cancel` cancels it there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum LogAction {
    /// Make the order in the POS.
    Create,
    /// Cancel the order in the POS.
    Cancel,
}

impl From<SyncAction> for LogAction {
    fn from(a: SyncAction) -> Self {
        match a {
            SyncAction::Create => LogAction::Create,
            SyncAction::Cancel => LogAction::Cancel,
        }
    }
}

/// One push of one order to the POS: its creation there, or its cancellation.
#[derive(Debug, Object)]
#[oai(rename = "SyncLog")]
pub struct SyncLogOut {
    pub id: Id,
    pub order_id: Id,
    pub business_id: Id,
    pub provider: Provider,
    // Described on the enum: a doc line here would wrap the $ref in an allOf, which SDK
    // generators refuse for a string enum.
    pub action: LogAction,
    pub status: SyncState,
    /// The order's id in the POS, once it is there.
    #[oai(nullable)]
    pub pos_order_id: Option<String>,
    /// Square: the payment recorded against the order, once it is; null for an order whose
    /// total is 0, which Square marks paid without a payment (PayOrder).
    #[oai(nullable)]
    pub pos_payment_id: Option<String>,
    /// Square: true once the order is paid and so shown on the POS; false when it is not
    /// (or `record_payment` is off); null for other providers and before the push settles.
    #[oai(nullable)]
    pub pos_visible: Option<bool>,
    /// A cancellation that succeeded: true when the order itself stays `OPEN` in the POS with
    /// only its fulfillments canceled (Square refused `CANCELED` on the order: the kitchen no
    /// longer sees it, Square's order list still does); false when the POS holds the order
    /// canceled. Null for create logs and until a cancellation succeeds.
    #[oai(nullable)]
    pub pos_order_open: Option<bool>,
    /// Retries scheduled so far.
    pub retry_count: i64,
    /// Retries allowed (so at most `max_retries + 1` attempts).
    pub max_retries: i64,
    /// When the next attempt is due (pending/retry).
    #[oai(nullable)]
    pub next_retry_at: Option<Timestamp>,
    #[oai(nullable)]
    pub error_message: Option<String>,
    /// Duration of the last attempt.
    #[oai(nullable)]
    pub duration_ms: Option<i64>,
    #[oai(nullable)]
    pub completed_at: Option<Timestamp>,
    pub created_at: Timestamp,
    /// A log of a test order: shown in history, left out of stats.
    pub is_test: bool,
}

impl From<store::SyncLog> for SyncLogOut {
    fn from(l: store::SyncLog) -> Self {
        SyncLogOut {
            id: Id::of(l.id),
            order_id: Id::of(l.order_id),
            business_id: Id::of(l.business_id),
            provider: l.provider.into(),
            action: l.action.into(),
            status: l.status.into(),
            pos_order_id: l.pos_order_id,
            pos_payment_id: l.pos_payment_id,
            pos_visible: l.pos_visible,
            pos_order_open: l.pos_order_open,
            retry_count: l.retry_count,
            max_retries: l.max_retries,
            next_retry_at: l.next_retry_at.map(Timestamp::from),
            error_message: l.error_message,
            duration_ms: l.duration_ms,
            completed_at: l.completed_at.map(Timestamp::from),
            created_at: l.created_at.into(),
            is_test: l.is_test,
        }
    }
}

/// `data` of a manual sync (camelCase `syncLog`, as the integration guide has it), and when the
/// order actually goes to the POS.
#[derive(Debug, Object)]
pub struct SyncLogData {
    #[oai(rename = "syncLog")]
    pub sync_log: SyncLogOut,
    // Described on its type.
    pub dispatch: super::dispatch::DispatchOut,
}

/// A page of sync logs, newest first.
#[derive(Debug, Object)]
pub struct HistoryData {
    pub logs: Vec<SyncLogOut>,
    #[oai(flatten)]
    pub page: PageInfo,
}

/// Sync statistics of a business.
#[derive(Debug, Object)]
#[oai(rename = "SyncStats")]
pub struct StatsOut {
    /// All sync logs (each manual re-sync is a log of its own).
    pub total_syncs: i64,
    pub successful_syncs: i64,
    /// Logs that failed for good.
    pub failed_syncs: i64,
    /// Logs waiting for a retry.
    pub pending_retries: i64,
    /// successful_syncs / total_syncs × 100, one decimal; 0 without syncs.
    pub success_rate: f64,
    /// Cancellation logs (the counts above are of create logs only).
    pub cancellations: CancellationStats,
}

/// Cancellation logs of a business.
#[derive(Debug, Object)]
pub struct CancellationStats {
    /// Every cancellation log.
    pub total: i64,
    /// The POS has the order canceled (or, after a Zoho push that got no answer, never had it).
    pub successful: i64,
    /// Given up (or impossible through the POS's API: Dine POS).
    pub failed: i64,
}

/// `data` of stats.
#[derive(Debug, Object)]
pub struct StatsData {
    pub stats: StatsOut,
}

/// How an attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum AttemptOutcome {
    /// The POS has the order.
    Success,
    /// Failed; retried after the interval.
    Retry,
    /// 429; retried after the back-off, the integration paused.
    RateLimited,
    /// The POS refused the credentials; reconnect.
    AuthFailed,
    /// Failed for good.
    Failed,
    /// Unknown whether the POS took the order (possync stopped mid-attempt, or a provider
    /// without idempotency timed out).
    Ambiguous,
}

/// One HTTP attempt of a sync log.
#[derive(Debug, Object)]
#[oai(rename = "SyncAttempt")]
pub struct AttemptOut {
    pub id: Id,
    pub sync_log_id: Id,
    /// 1 for the first attempt.
    pub attempt_number: i64,
    pub started_at: Timestamp,
    pub duration_ms: i64,
    /// Null when no answer came (timeout, connection error).
    #[oai(nullable)]
    pub http_status: Option<i64>,
    pub outcome: AttemptOutcome,
    #[oai(nullable)]
    pub error_message: Option<String>,
    #[oai(nullable)]
    pub pos_order_id: Option<String>,
    /// The call this attempt made: `create_order`, `record_payment` (Square's payment) or
    /// `pay_order` (Square's PayOrder, for a total of 0); a cancellation's `refund_payment`,
    /// `read_order` or `cancel_order`. Null when possync stopped during the attempt, and for
    /// attempts made before steps.
    #[oai(nullable)]
    pub step: Option<String>,
}

impl From<store::Attempt> for AttemptOut {
    fn from(a: store::Attempt) -> Self {
        use crate::domain::AttemptOutcome as Recorded;
        let outcome = match a.outcome {
            Recorded::Success => AttemptOutcome::Success,
            Recorded::Retry => AttemptOutcome::Retry,
            Recorded::RateLimited => AttemptOutcome::RateLimited,
            Recorded::AuthFailed => AttemptOutcome::AuthFailed,
            Recorded::Ambiguous => AttemptOutcome::Ambiguous,
            Recorded::Failed => AttemptOutcome::Failed,
        };
        AttemptOut {
            id: Id::of(a.id),
            sync_log_id: Id::of(a.sync_log_id),
            attempt_number: a.attempt_number,
            started_at: a.started_at.into(),
            duration_ms: a.duration_ms,
            http_status: a.http_status,
            outcome,
            error_message: a.error_message,
            pos_order_id: a.pos_order_id,
            step: a.step.map(|s| s.as_str().to_string()),
        }
    }
}

/// A page of attempts, oldest first.
#[derive(Debug, Object)]
pub struct AttemptList {
    pub attempts: Vec<AttemptOut>,
    #[oai(flatten)]
    pub page: PageInfo,
}

/// `data` of a preview.
#[derive(Debug, Object)]
pub struct PreviewData {
    pub provider: Provider,
    /// The exact JSON body a sync would send now (no secrets): its first call's.
    pub request: serde_json::Value,
    /// Every call a sync makes, in order (Square: `create_order`, then `record_payment`, or
    /// `pay_order` for a total of 0, unless `record_payment` is off). An id the POS has not
    /// given yet is named in words.
    pub steps: Vec<PreviewStep>,
}

/// One call of a sync, as the preview shows it.
#[derive(Debug, Object)]
pub struct PreviewStep {
    /// `create_order`, `record_payment` or `pay_order`.
    pub step: String,
    /// The exact JSON body of this call.
    pub request: serde_json::Value,
}
