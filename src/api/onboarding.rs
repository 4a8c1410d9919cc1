//! The first day and fixing things without a developer: a test order that shows the POS
//! connection works end to end, and the replay of failed orders once their cause is fixed.

use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use uuid::Uuid;

use super::ApiTags;
use super::auth::BearerAuth;
use super::envelope::{Accepted, ApiResult, accepted};
use super::models::{ReplayData, TestOrderData};
use super::text::{DateTimeText, Text};
use crate::app::App;
use crate::domain::{BusinessId, OrderId, bounded, now_millis, parse_rfc3339};
use crate::store::replay::{self, ReplayFilter};
use crate::store::test_orders;
use crate::{Error, Result};

/// Which failed orders to send again. Without any filter: the orders that failed in the last
/// 7 days.
#[derive(Debug, Object)]
pub struct ReplayRequest {
    pub business_id: Uuid,
    /// Only orders whose push failed at or after this time (RFC 3339).
    #[oai(nullable)]
    pub since: Option<DateTimeText>,
    /// Only orders whose push failed before this time (RFC 3339).
    #[oai(nullable)]
    pub until: Option<DateTimeText>,
    /// Only these orders, 1 to 500 (each one that does not qualify is skipped with its reason).
    #[oai(nullable, validator(min_items = 1, max_items = 500))]
    pub order_ids: Option<Vec<Uuid>>,
    /// Only failures whose error message contains this (case-insensitive), at most 200
    /// characters.
    #[oai(nullable, validator(max_length = 200))]
    pub error_contains: Option<Text>,
    /// Queue at most this many (1 to 500), oldest failure first; `more` in the answer says whether
    /// matching orders are left for another replay. Without it a replay that matches more than
    /// 500 orders is refused whole (400) and queues nothing.
    #[oai(nullable, validator(minimum(value = "1"), maximum(value = "500")))]
    pub limit: Option<i64>,
}

/// The `limit` of a replay request, checked (1 to [`replay::MAX_ORDERS`]).
fn replay_limit(body: &ReplayRequest) -> Result<Option<usize>> {
    body.limit
        .map(|n| {
            usize::try_from(n)
                .ok()
                .filter(|n| (1..=replay::MAX_ORDERS).contains(n))
                .ok_or_else(|| {
                    Error::invalid("limit", format!("must be 1 to {}", replay::MAX_ORDERS))
                })
        })
        .transpose()
}

/// The filters of a replay request, checked.
fn replay_filter(body: &ReplayRequest) -> Result<ReplayFilter> {
    let time = |field: &str, t: &Option<DateTimeText>| {
        t.as_ref()
            .map(|t| parse_rfc3339(field, t.as_str()))
            .transpose()
    };
    let (since, until) = (time("since", &body.since)?, time("until", &body.until)?);
    if let (Some(since), Some(until)) = (since, until)
        && until <= since
    {
        return Err(Error::invalid("until", "must be later than since"));
    }
    if body.order_ids.as_ref().is_some_and(|ids| ids.len() > 500) {
        return Err(Error::invalid("order_ids", "must list at most 500 orders"));
    }
    Ok(ReplayFilter {
        since,
        until,
        order_ids: body
            .order_ids
            .as_ref()
            .map(|ids| ids.iter().map(|id| OrderId::from(*id)).collect()),
        error_contains: body
            .error_contains
            .as_ref()
            .map(|t| bounded("error_contains", t.as_str(), 200))
            .transpose()?,
    })
}

/// Test orders and bulk replay. The app comes to each operation as request data.
#[derive(Default)]
pub struct OnboardingApi;

#[OpenApi(prefix_path = "/api/v1/pos", tag = "ApiTags::Pos")]
impl OnboardingApi {
    /// Send a test order to the POS
    ///
    /// An order marked `is_test` for "possync test order", one line "possync test item" at 100
    /// minor units, paid, pickup as soon as possible, pushed at once whatever
    /// `auto_sync_orders` says. Watch its `syncLog` (or `GET /orders/{orderId}`) reach
    /// `success`. Test orders appear in history (the log shows `is_test`), are left out of
    /// stats, and can be canceled like any order. 409 without an active integration.
    #[oai(
        path = "/test-order/:businessId",
        method = "post",
        operation_id = "sendTestOrder"
    )]
    async fn test_order(
        &self,
        app: Data<&App>,
        auth: BearerAuth,
        #[oai(name = "businessId")] business_id: Path<Uuid>,
    ) -> ApiResult<Accepted<TestOrderData>> {
        let id = BusinessId::from(business_id.0);
        let max_retries = app.sync.settings().max_retries;
        let (order, log) = app
            .as_seller(&auth)
            .write(move |tx, seller| {
                test_orders::insert_test_order(tx, seller, &id, max_retries, now_millis())
            })
            .await?;
        app.sync.wake_one();
        Ok(accepted(
            TestOrderData {
                order: order.into(),
                sync_log: log.into(),
            },
            "Test order sent",
        ))
    }

    /// Send failed orders again
    ///
    /// After fixing what made them fail (a mapping, a token): every order of the business whose
    /// latest push failed and that matches the filters gets a new push, as a manual sync of
    /// each would. Without filters: the orders that failed in the last 7 days. `since` and
    /// `until` are when the push failed. Canceled orders, orders already in the POS and orders
    /// whose push is on its way are skipped with the reason. The pushes go through the
    /// integration's lane like any other (the POS is never flooded) and each order reaches the
    /// POS once. One replay queues at most 500 orders: when more match, it is refused with 400
    /// and queues nothing, unless `limit` asks for the oldest ones first (then `more: true` says
    /// to replay again for the rest). 409 without an active integration.
    #[oai(path = "/replay", method = "post", operation_id = "replayFailedOrders")]
    async fn replay(
        &self,
        app: Data<&App>,
        auth: BearerAuth,
        body: Json<ReplayRequest>,
    ) -> ApiResult<Accepted<ReplayData>> {
        let filter = replay_filter(&body)?;
        let limit = replay_limit(&body)?;
        let id = BusinessId::from(body.business_id);
        let max_retries = app.sync.settings().max_retries;
        let done = app
            .as_seller(&auth)
            .write(move |tx, seller| {
                replay::replay(tx, seller, &id, &filter, limit, max_retries, now_millis())
            })
            .await?;
        if !done.queued.is_empty() {
            app.sync.wake();
        }
        let queued = done.queued.len() as i64;
        let mut message = match queued {
            0 => "No failed order to send again".to_string(),
            1 => "1 failed order queued again".to_string(),
            n => format!("{n} failed orders queued again"),
        };
        if done.more {
            message.push_str("; more remain: replay again to send the next ones");
        }
        Ok(accepted(
            ReplayData {
                queued,
                skipped: done.skipped.into_iter().map(Into::into).collect(),
                more: done.more,
            },
            message,
        ))
    }
}
