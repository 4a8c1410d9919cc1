//! Notifications and their channel deliveries (an outbox worked by the delivery thread).

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::{Page, Paged};
use crate::domain::{
    BusinessId, Channel, DeliveryStatus, Millis, NotificationKind, OrderId, SyncLogId, new_id,
};
use crate::notify::{Notice, NotifySettings};
use crate::{Error, Result};

/// A stored notification with its deliveries.
#[derive(Debug, Clone)]
pub struct Notification {
    pub id: String,
    pub business_id: BusinessId,
    pub kind: NotificationKind,
    pub title: String,
    pub message: String,
    pub order_id: Option<OrderId>,
    pub sync_log_id: Option<SyncLogId>,
    pub created_at: Millis,
    pub read_at: Option<Millis>,
    pub deliveries: Vec<Delivery>,
}

/// One channel delivery.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub channel: Channel,
    pub status: DeliveryStatus,
    pub attempts: i64,
    pub last_error: Option<String>,
}

const HOUR: Millis = 3_600_000;

/// Raise a notification unless the per-business, per-kind hourly cap is reached; queue a
/// delivery for every enabled channel. Returns the id, or `None` when capped.
pub fn raise(
    tx: &Transaction<'_>,
    notice: &Notice,
    settings: &NotifySettings,
    now: Millis,
) -> Result<Option<String>> {
    let recent: i64 = crate::store::cached_row(
        tx,
        "SELECT count(*) FROM notifications WHERE business_id = ?1 AND kind = ?2 AND created_at > ?3",
        params![notice.business_id, notice.kind.as_str(), now - HOUR],
        |r| r.get(0),
    )?;
    if recent >= settings.cap_per_hour {
        tracing::info!(business = %notice.business_id, kind = notice.kind.as_str(), "notification capped");
        return Ok(None);
    }
    let id = new_id();
    tx.execute(
        "INSERT INTO notifications (id, business_id, kind, title, message, order_id, sync_log_id, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            id,
            notice.business_id,
            notice.kind.as_str(),
            notice.title,
            notice.message,
            notice.order_id,
            notice.sync_log_id,
            now
        ],
    )?;
    let (whatsapp_on, number): (bool, Option<String>) = crate::store::cached_row(
        tx,
        "SELECT whatsapp_enabled, whatsapp_number FROM businesses WHERE id = ?1",
        [&notice.business_id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let mut channels = Vec::new();
    if settings.email {
        channels.push(Channel::Email);
    }
    if settings.whatsapp && whatsapp_on && number.is_some() {
        channels.push(Channel::WhatsApp);
    }
    for channel in channels {
        tx.execute(
            "INSERT INTO notification_deliveries (id, notification_id, channel, status, attempts, next_attempt_at)
             VALUES (?1, ?2, ?3, 'pending', 0, ?4)",
            params![new_id(), id, channel, now],
        )?;
    }
    tracing::info!(business = %notice.business_id, kind = notice.kind.as_str(), notification = %id, "notification raised");
    Ok(Some(id))
}

/// Whether a notification of this kind was raised for the business since `since`.
pub fn raised_since(
    conn: &Connection,
    business_id: &BusinessId,
    kind: NotificationKind,
    since: Millis,
) -> Result<bool> {
    Ok(crate::store::cached_row(
        conn,
        "SELECT EXISTS (SELECT 1 FROM notifications WHERE business_id = ?1 AND kind = ?2 AND created_at > ?3)",
        params![business_id, kind, since],
        |r| r.get(0),
    )?)
}

fn deliveries(conn: &Connection, id: &str) -> Result<Vec<Delivery>> {
    let mut stmt = conn.prepare_cached(
        "SELECT channel, status, attempts, last_error FROM notification_deliveries
         WHERE notification_id = ?1 ORDER BY channel",
    )?;
    let rows = stmt
        .query_map([id], |r| {
            Ok(Delivery {
                channel: r.get(0)?,
                status: r.get(1)?,
                attempts: r.get(2)?,
                last_error: r.get(3)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

const COLUMNS: &str = "n.id, n.business_id, n.kind, n.title, n.message, n.order_id, n.sync_log_id, \
                       n.created_at, n.read_at";

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Notification> {
    Ok(Notification {
        id: r.get(0)?,
        business_id: r.get(1)?,
        kind: r.get(2)?,
        title: r.get(3)?,
        message: r.get(4)?,
        order_id: r.get(5)?,
        sync_log_id: r.get(6)?,
        created_at: r.get(7)?,
        read_at: r.get(8)?,
        deliveries: Vec::new(),
    })
}

/// The seller's notifications (of one business, when given), newest first, and the unread count.
pub fn list(
    conn: &Connection,
    seller_id: &str,
    business_id: Option<&BusinessId>,
    unread_only: bool,
    page: Page,
) -> Result<(Paged<Notification>, i64)> {
    if let Some(b) = business_id {
        super::businesses::owned_business(conn, seller_id, b)?;
    }
    let filter = "FROM notifications n JOIN businesses b ON b.id = n.business_id
                  WHERE b.seller_id = ?1 AND (?2 IS NULL OR n.business_id = ?2)";
    let unread: i64 = crate::store::cached_row(
        conn,
        &format!("SELECT count(*) {filter} AND n.read_at IS NULL"),
        params![seller_id, business_id],
        |r| r.get(0),
    )?;
    let total: i64 = crate::store::cached_row(
        conn,
        &format!("SELECT count(*) {filter} AND (NOT ?3 OR n.read_at IS NULL)"),
        params![seller_id, business_id, unread_only],
        |r| r.get(0),
    )?;
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} {filter} AND (NOT ?3 OR n.read_at IS NULL)
         ORDER BY n.created_at DESC, n.id DESC LIMIT ?4 OFFSET ?5"
    ))?;
    let mut items = stmt
        .query_map(
            params![seller_id, business_id, unread_only, page.limit, page.offset],
            from_row,
        )?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    for n in &mut items {
        n.deliveries = deliveries(conn, &n.id)?;
    }
    Ok((Paged { items, total }, unread))
}

/// Mark the seller's notification read.
pub fn mark_read(
    tx: &Transaction<'_>,
    seller_id: &str,
    id: &str,
    now: Millis,
) -> Result<Notification> {
    let mut n = crate::store::cached_row(
        tx,
        &format!(
            "SELECT {COLUMNS} FROM notifications n JOIN businesses b ON b.id = n.business_id
                 WHERE n.id = ?1 AND b.seller_id = ?2"
        ),
        params![id, seller_id],
        from_row,
    )
    .optional()?
    .ok_or(Error::NotFound("notification"))?;
    if n.read_at.is_none() {
        tx.execute(
            "UPDATE notifications SET read_at = ?2 WHERE id = ?1",
            params![id, now],
        )?;
        n.read_at = Some(now);
    }
    n.deliveries = deliveries(tx, id)?;
    Ok(n)
}

/// A delivery to send, with what it needs.
#[derive(Debug, Clone)]
pub struct DueDelivery {
    pub id: String,
    pub channel: Channel,
    pub attempts: i64,
    pub title: String,
    pub message: String,
    /// Email: the business's notification email or the seller's; WhatsApp: the number.
    pub recipient: Option<String>,
}

/// Claim the most overdue delivery: push its next attempt out by `hold` while it is being sent.
pub fn claim_due_delivery(
    tx: &Transaction<'_>,
    now: Millis,
    hold: Millis,
) -> Result<Option<DueDelivery>> {
    let due = crate::store::cached_row(
        tx,
        "SELECT d.id, d.channel, d.attempts, n.title, n.message,
                    CASE d.channel WHEN 'email' THEN coalesce(b.notification_email, s.email)
                                   ELSE b.whatsapp_number END
             FROM notification_deliveries d
             JOIN notifications n ON n.id = d.notification_id
             JOIN businesses b ON b.id = n.business_id
             JOIN sellers s ON s.id = b.seller_id
             WHERE d.status = 'pending' AND d.next_attempt_at <= ?1
             ORDER BY d.next_attempt_at LIMIT 1",
        [now],
        |r| {
            Ok(DueDelivery {
                id: r.get(0)?,
                channel: r.get(1)?,
                attempts: r.get(2)?,
                title: r.get(3)?,
                message: r.get(4)?,
                recipient: r.get(5)?,
            })
        },
    )
    .optional()?;
    if let Some(d) = &due {
        tx.execute(
            "UPDATE notification_deliveries SET next_attempt_at = ?2 WHERE id = ?1",
            params![d.id, now + hold],
        )?;
    }
    Ok(due)
}

/// Record how a delivery went: sent, retried later, or failed for good.
pub fn finish_delivery(
    tx: &Transaction<'_>,
    id: &str,
    result: std::result::Result<(), String>,
    retry_at: Option<Millis>,
) -> Result<()> {
    match (result, retry_at) {
        (Ok(()), _) => tx.execute(
            "UPDATE notification_deliveries SET status = 'sent', attempts = attempts + 1,
                next_attempt_at = NULL, last_error = NULL WHERE id = ?1",
            [id],
        )?,
        (Err(e), Some(at)) => tx.execute(
            "UPDATE notification_deliveries SET attempts = attempts + 1, next_attempt_at = ?2,
                last_error = ?3 WHERE id = ?1",
            params![id, at, e],
        )?,
        (Err(e), None) => tx.execute(
            "UPDATE notification_deliveries SET status = 'failed', attempts = attempts + 1,
                next_attempt_at = NULL, last_error = ?2 WHERE id = ?1",
            params![id, e],
        )?,
    };
    Ok(())
}
