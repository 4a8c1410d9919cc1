//! Telling the seller when something needs a human: in-app notifications, and an outbox of
//! email and WhatsApp deliveries that a thread of its own works through, so a channel that is
//! down never slows or fails an order sync.

pub mod channels;
pub mod delivery;
pub mod messages;

use std::time::Duration;

use crate::config::NotifyArgs;
use crate::domain::{BusinessId, Millis, OrderId, SyncLogId};

/// The kinds of notification (API.md).
pub use crate::domain::NotificationKind as Kind;

/// A notification to raise.
#[derive(Debug, Clone)]
pub struct Notice {
    pub business_id: BusinessId,
    pub kind: Kind,
    pub title: String,
    pub message: String,
    pub order_id: Option<OrderId>,
    pub sync_log_id: Option<SyncLogId>,
}

/// Notification settings.
#[derive(Debug, Clone)]
pub struct NotifySettings {
    pub after_failures: i64,
    /// At most this many notifications of one kind per business per hour.
    pub cap_per_hour: i64,
    pub email: bool,
    pub whatsapp: bool,
    /// Deliveries give up after this many attempts.
    pub max_attempts: i64,
    /// First wait after a failed delivery; doubles each time.
    pub retry_base: Duration,
}

impl NotifySettings {
    /// From the command line.
    pub fn from_args(args: &NotifyArgs) -> NotifySettings {
        NotifySettings {
            after_failures: i64::from(args.notify_after_failures.max(1)),
            cap_per_hour: i64::from(args.notify_cap_per_hour.max(1)),
            email: args.smtp_url.is_some() && args.email_from.is_some(),
            whatsapp: args.whatsapp_phone_number_id.is_some() && args.whatsapp_token.is_some(),
            max_attempts: 8,
            retry_base: args.notify_retry_interval,
        }
    }

    /// When a delivery that failed `attempts` times is tried again.
    pub fn next_attempt(&self, attempts: i64, now: Millis) -> Millis {
        let base = i64::try_from(self.retry_base.as_millis()).unwrap_or(i64::MAX);
        let factor = 1i64 << attempts.clamp(0, 16);
        now.saturating_add(base.saturating_mul(factor).min(3_600_000))
    }
}
