//! The seller's notifications: the in-app list with its unread badge, and mark-read.

use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Enum, Object, OpenApi};
use uuid::Uuid;

use super::ApiTags;
use super::auth::BearerAuth;
use super::envelope::{ApiResult, Envelope, ok};
use super::formats::{Id, Timestamp};
use super::models::{PageInfo, listed};
use super::params;
use crate::app::App;
use crate::domain::{self, BusinessId, now_millis};
use crate::store::notifications;

/// What a notification is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum NotificationKind {
    /// An integration's consecutive failures reached `--notify-after-failures`.
    SyncFailing,
    /// An order failed for good; names the order.
    SyncFailed,
    /// The POS refused the credentials; reconnect it.
    ReconnectRequired,
    /// A token that cannot be refreshed expires within 3 days.
    TokenExpiring,
    /// An ambiguous push to a POS without idempotency; check for a duplicate.
    PossibleDuplicate,
    /// The POS has no cancellation API: cancel the order on the POS by hand; names the order.
    CancelByHand,
    /// The POS shows an order canceled that MenuMaker did not cancel; names the order.
    CanceledInPos,
    /// The POS stopped answering and its lane's circuit opened: orders are held and sent when
    /// it answers again (once per opening).
    PosUnreachable,
}

impl From<domain::NotificationKind> for NotificationKind {
    fn from(kind: domain::NotificationKind) -> Self {
        match kind {
            domain::NotificationKind::SyncFailing => NotificationKind::SyncFailing,
            domain::NotificationKind::SyncFailed => NotificationKind::SyncFailed,
            domain::NotificationKind::ReconnectRequired => NotificationKind::ReconnectRequired,
            domain::NotificationKind::TokenExpiring => NotificationKind::TokenExpiring,
            domain::NotificationKind::PossibleDuplicate => NotificationKind::PossibleDuplicate,
            domain::NotificationKind::CancelByHand => NotificationKind::CancelByHand,
            domain::NotificationKind::CanceledInPos => NotificationKind::CanceledInPos,
            domain::NotificationKind::PosUnreachable => NotificationKind::PosUnreachable,
        }
    }
}

/// One channel delivery of a notification.
#[derive(Debug, Object)]
#[oai(rename = "NotificationDelivery")]
pub struct DeliveryOut {
    /// `email` or `whatsapp`.
    pub channel: String,
    /// `pending`, `sent` or `failed`.
    pub status: String,
    pub attempts: i64,
    #[oai(nullable)]
    pub last_error: Option<String>,
}

/// A notification for the seller.
#[derive(Debug, Object)]
#[oai(rename = "Notification")]
pub struct NotificationOut {
    pub id: Id,
    pub business_id: Id,
    pub kind: NotificationKind,
    pub title: String,
    /// What went wrong and what to do.
    pub message: String,
    #[oai(nullable)]
    pub order_id: Option<Id>,
    #[oai(nullable)]
    pub sync_log_id: Option<Id>,
    pub created_at: Timestamp,
    #[oai(nullable)]
    pub read_at: Option<Timestamp>,
    pub deliveries: Vec<DeliveryOut>,
}

impl From<notifications::Notification> for NotificationOut {
    fn from(n: notifications::Notification) -> Self {
        NotificationOut {
            id: Id::of(n.id),
            business_id: Id::of(n.business_id),
            kind: n.kind.into(),
            title: n.title,
            message: n.message,
            order_id: n.order_id.map(Id::of),
            sync_log_id: n.sync_log_id.map(Id::of),
            created_at: n.created_at.into(),
            read_at: n.read_at.map(Timestamp::from),
            deliveries: n
                .deliveries
                .into_iter()
                .map(|d| DeliveryOut {
                    channel: d.channel.as_str().to_string(),
                    status: d.status.as_str().to_string(),
                    attempts: d.attempts,
                    last_error: d.last_error,
                })
                .collect(),
        }
    }
}

/// A page of notifications, newest first, and the unread count for the badge.
#[derive(Debug, Object)]
pub struct NotificationList {
    pub notifications: Vec<NotificationOut>,
    /// Unread notifications (of the business, when filtered): the dashboard badge.
    pub unread_count: i64,
    #[oai(flatten)]
    pub page: PageInfo,
}

/// `data` holding one notification.
#[derive(Debug, Object)]
pub struct NotificationData {
    pub notification: NotificationOut,
}

/// The seller's notifications. The app comes to each operation as request data.
#[derive(Default)]
pub struct NotificationsApi;

#[OpenApi(prefix_path = "/api/v1/notifications", tag = "ApiTags::Notifications")]
impl NotificationsApi {
    /// List notifications
    ///
    /// Newest first, with `unread_count` for the badge.
    #[oai(path = "/", method = "get", operation_id = "listNotifications")]
    async fn list(
        &self,
        app: Data<&App>,
        auth: BearerAuth,
        /// Only this business's notifications.
        business_id: Query<Option<Uuid>>,
        /// Only unread ones.
        unread_only: Query<Option<bool>>,
        /// 1 to 200 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<i64>>,
        /// 0 or more (default 0).
        #[oai(validator(minimum(value = "0")))]
        offset: Query<Option<i64>>,
    ) -> ApiResult<Json<Envelope<NotificationList>>> {
        let page = params::page(limit.0, offset.0)?;
        let business = business_id.0.map(BusinessId::from);
        let unread_only = unread_only.0.unwrap_or(false);
        let (found, unread) = app
            .as_seller(&auth)
            .read(move |c, seller| {
                notifications::list(c, seller, business.as_ref(), unread_only, page)
            })
            .await?;
        let (notifications, page) = listed(found, page);
        Ok(ok(NotificationList {
            notifications,
            unread_count: unread,
            page,
        }))
    }

    /// Mark a notification read
    #[oai(
        path = "/:notificationId/read",
        method = "post",
        operation_id = "markNotificationRead"
    )]
    async fn read(
        &self,
        app: Data<&App>,
        auth: BearerAuth,
        #[oai(name = "notificationId")] notification_id: Path<Uuid>,
    ) -> ApiResult<Json<Envelope<NotificationData>>> {
        let id = notification_id.0.to_string();
        let n = app
            .as_seller(&auth)
            .write(move |tx, seller| notifications::mark_read(tx, seller, &id, now_millis()))
            .await?;
        Ok(ok(NotificationData {
            notification: n.into(),
        }))
    }
}
