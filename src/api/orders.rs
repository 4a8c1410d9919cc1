//! Orders from MenuMaker.

use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::types::Example;
use poem_openapi::{Object, OpenApi};
use uuid::Uuid;

use super::ApiTags;
use super::auth::BearerAuth;
use super::envelope::{ApiResult, Created, Envelope, created, ok, ok_with};
use super::formats::{Nullable, Timestamp};
use super::kitchen::{self, FulfillmentIn, FulfillmentKind, PayMethod, PaymentIn, PaymentState};
use super::models::{
    CanceledData, ListedOrder, OrderData, OrderList, OrderState, SyncState, listed,
};
use super::params;
use super::text::{NonBlank, Text};
use crate::app::App;
use crate::domain::{
    BusinessId, Charges, Millis, OrderId, SyncAction, bounded, limits, now_millis,
    optional_bounded, parse_rfc3339,
};
use crate::store::cancel;
use crate::store::order_list::{self, OrderFilter};
use crate::store::{NewOrder, NewOrderItem, orders, sync_logs};
use crate::{Error, Result};

/// One line of a new order. The price comes from the dish.
#[derive(Debug, Object)]
pub struct OrderItemRequest {
    /// A dish of the order's business.
    pub dish_id: Uuid,
    /// 1 to 999.
    #[oai(validator(minimum(value = "1"), maximum(value = "999")))]
    pub quantity: i64,
    /// For the kitchen, at most 500 characters.
    #[oai(nullable, validator(max_length = 500))]
    pub note: Option<Text>,
}

/// A new order.
#[derive(Debug, Object)]
#[oai(example)]
pub struct CreateOrderRequest {
    pub business_id: Uuid,
    /// At most 200 characters.
    #[oai(validator(min_length = 1, max_length = 200))]
    pub customer_name: NonBlank,
    /// At most 32 characters.
    #[oai(nullable, validator(max_length = 32))]
    pub customer_phone: Option<Text>,
    /// At most 2000 characters.
    #[oai(nullable, validator(max_length = 2000))]
    pub special_instructions: Option<Text>,
    /// 1 to 100 lines.
    #[oai(validator(min_items = 1, max_items = 100))]
    pub items: Vec<OrderItemRequest>,
    pub fulfillment: Option<FulfillmentIn>,
    pub payment: Option<PaymentIn>,
    /// Minor units, 0 or more (default 0), at most the subtotal.
    #[oai(default, validator(minimum(value = "0")))]
    pub discount: i64,
    /// Minor units, 0 or more (default 0).
    #[oai(default, validator(minimum(value = "0")))]
    pub delivery_fee: i64,
    /// Minor units, 0 or more (default 0).
    #[oai(default, validator(minimum(value = "0")))]
    pub tip: i64,
}

impl Example for CreateOrderRequest {
    fn example() -> Self {
        CreateOrderRequest {
            business_id: Uuid::from_u128(0x0193a1b2_7c3d_7e4f_8a9b_0c1d2e3f4a5b),
            customer_name: NonBlank("Rahul Kumar".into()),
            customer_phone: Some(Text("+919876543210".into())),
            special_instructions: Some(Text("Ring the bell twice".into())),
            items: vec![OrderItemRequest {
                dish_id: Uuid::from_u128(0x0193a1b2_8d4e_7f50_9b0c_1d2e3f4a5b6c),
                quantity: 2,
                note: Some(Text("Extra spicy".into())),
            }],
            fulfillment: Some(FulfillmentIn {
                kind: Some(FulfillmentKind::Delivery),
                pickup_at: None,
                delivery_address: Some(Text("12 MG Road, Bengaluru 560001".into())),
                table: None,
            }),
            payment: Some(PaymentIn {
                status: Some(PaymentState::Paid),
                method: Some(PayMethod::Upi),
            }),
            discount: 0,
            delivery_fee: 4000,
            tip: 2000,
        }
    }
}

fn new_order(body: &CreateOrderRequest, now: Millis) -> Result<NewOrder> {
    if body.items.is_empty() || body.items.len() > limits::ITEMS_MAX {
        return Err(Error::invalid(
            "items",
            format!("must have 1 to {} lines", limits::ITEMS_MAX),
        ));
    }
    let items = body
        .items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            if !(1..=limits::QUANTITY_MAX).contains(&item.quantity) {
                return Err(Error::invalid(
                    &format!("items[{i}].quantity"),
                    format!("must be 1 to {}", limits::QUANTITY_MAX),
                ));
            }
            Ok(NewOrderItem {
                dish_id: item.dish_id.to_string(),
                quantity: item.quantity,
                note: optional_bounded(
                    &format!("items[{i}].note"),
                    item.note.as_ref().map(Text::as_str),
                    limits::ITEM_NOTE,
                )?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(NewOrder {
        business_id: BusinessId::from(body.business_id),
        customer_name: bounded(
            "customer_name",
            body.customer_name.as_str(),
            limits::CUSTOMER_NAME,
        )?,
        customer_phone: optional_bounded(
            "customer_phone",
            body.customer_phone.as_ref().map(Text::as_str),
            limits::CUSTOMER_PHONE,
        )?,
        special_instructions: optional_bounded(
            "special_instructions",
            body.special_instructions.as_ref().map(Text::as_str),
            limits::SPECIAL_INSTRUCTIONS,
        )?,
        items,
        charges: Charges {
            discount: body.discount,
            delivery_fee: body.delivery_fee,
            tip: body.tip,
        },
        fulfillment: kitchen::fulfillment(body.fulfillment.as_ref(), now)?,
        payment: kitchen::payment(body.payment.as_ref()),
    })
}

/// Why an order is canceled.
#[derive(Debug, Object)]
pub struct CancelOrderRequest {
    /// At most 100 characters; Square shows it as the pickup's cancel reason.
    #[oai(nullable, validator(max_length = 100))]
    pub reason: Option<Text>,
}

/// Orders from MenuMaker. The app comes to each operation as request data.
#[derive(Default)]
pub struct OrdersApi;

#[OpenApi(prefix_path = "/api/v1/orders", tag = "ApiTags::Orders")]
impl OrdersApi {
    /// Create an order
    ///
    /// Names and prices are copied from the dishes: the server is authoritative. When the
    /// business has an active POS integration with auto-sync, a `pending` sync log is queued in
    /// the same transaction and returned as `sync_log`.
    #[oai(path = "/", method = "post", operation_id = "createOrder")]
    async fn create(
        &self,
        app: Data<&App>,
        auth: BearerAuth,
        body: Json<CreateOrderRequest>,
    ) -> ApiResult<Created<OrderData>> {
        let new = new_order(&body, now_millis())?;
        let max_retries = app.sync.settings().max_retries;
        // The order and its pending sync log commit together (the outbox): once the client
        // has its 201, the push is on its way even if possync stops this instant.
        let (order, sync_log) = app
            .as_seller(&auth)
            .write(move |tx, seller| {
                let now = now_millis();
                let order = orders::insert_order(tx, seller, new, now)?;
                let log = sync_logs::queue_auto_sync(
                    tx,
                    &order.id,
                    &order.business_id,
                    max_retries,
                    now,
                )?;
                Ok((order, log))
            })
            .await?;
        if sync_log.is_some() {
            app.sync.wake_one();
        }
        Ok(created(OrderData {
            order: order.into(),
            sync_log: Nullable(sync_log.map(Into::into)),
        }))
    }

    /// List your orders
    ///
    /// Newest first, each with its latest create sync log (null when it has none). Filters:
    /// `business_id` (a business that is not yours gives an empty list), `status`, `sync_status`
    /// (of the order's latest create log), and the creation time: `since` (inclusive) to
    /// `until` (exclusive).
    #[oai(path = "/", method = "get", operation_id = "listOrders")]
    #[expect(
        clippy::too_many_arguments,
        reason = "poem-openapi declares each query filter as a parameter of its own"
    )]
    async fn list(
        &self,
        app: Data<&App>,
        auth: BearerAuth,
        /// Only this business's orders.
        business_id: Query<Option<Uuid>>,
        /// Only open or only canceled orders.
        status: Query<Option<OrderState>>,
        /// Only orders whose latest create log is in this state.
        sync_status: Query<Option<SyncState>>,
        /// Created at or after this time (RFC 3339).
        since: Query<Option<Timestamp>>,
        /// Created before this time (RFC 3339).
        until: Query<Option<Timestamp>>,
        /// 1 to 200 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<i64>>,
        /// 0 or more (default 0).
        #[oai(validator(minimum(value = "0")))]
        offset: Query<Option<i64>>,
    ) -> ApiResult<Json<Envelope<OrderList>>> {
        let page = params::page(limit.0, offset.0)?;
        let time = |field: &str, t: &Option<Timestamp>| {
            t.as_ref().map(|t| parse_rfc3339(field, &t.0)).transpose()
        };
        let filter = OrderFilter {
            business_id: business_id.0.map(BusinessId::from),
            status: status.0.map(Into::into),
            sync_status: sync_status.0.map(Into::into),
            since: time("since", &since.0)?,
            until: time("until", &until.0)?,
        };
        let found = app
            .as_seller(&auth)
            .read(move |c, seller| {
                let found = order_list::list_orders(c, seller, &filter, page)?;
                let mut items = Vec::with_capacity(found.items.len());
                for order in found.items {
                    let log = sync_logs::latest_log_of_order(c, &order.id, SyncAction::Create)?;
                    items.push((order, log));
                }
                Ok(crate::store::Paged {
                    items,
                    total: found.total,
                })
            })
            .await?;
        let (orders, page) = listed::<_, ListedOrder>(found, page);
        Ok(ok(OrderList { orders, page }))
    }

    /// Get an order
    #[oai(path = "/:orderId", method = "get", operation_id = "getOrder")]
    async fn get(
        &self,
        app: Data<&App>,
        auth: BearerAuth,
        #[oai(name = "orderId")] order_id: Path<Uuid>,
    ) -> ApiResult<Json<Envelope<OrderData>>> {
        let id = OrderId::from(order_id.0);
        let (order, sync_log) = app
            .as_seller(&auth)
            .read(move |c, seller| {
                let order = orders::owned_order(c, seller, &id)?;
                let log = sync_logs::latest_log_of_order(c, &order.id, SyncAction::Create)?;
                Ok((order, log))
            })
            .await?;
        Ok(ok(OrderData {
            order: order.into(),
            sync_log: Nullable(sync_log.map(Into::into)),
        }))
    }

    /// Cancel an order
    ///
    /// The order becomes `canceled`. A push that has not reached the POS yet is failed
    /// (`"order canceled before it reached the POS"`) and the POS is never called; a push in
    /// flight finishes first; once the order is in the POS, a cancellation log
    /// (`action: "cancel"`) is queued and answered as `sync_log` (null otherwise, and while a
    /// push in flight has not finished). Square: the recorded payment is refunded and the order
    /// canceled; Zoho: the sales order is voided; Dine POS has no cancellation API, so the log
    /// fails and a `cancel_by_hand` notification names the order. Calling it again answers the
    /// same and queues nothing.
    #[oai(
        path = "/:orderId/cancel",
        method = "post",
        operation_id = "cancelOrder"
    )]
    async fn cancel(
        &self,
        app: Data<&App>,
        auth: BearerAuth,
        #[oai(name = "orderId")] order_id: Path<Uuid>,
        body: Json<CancelOrderRequest>,
    ) -> ApiResult<Json<Envelope<CanceledData>>> {
        let reason = optional_bounded(
            "reason",
            body.reason.as_ref().map(Text::as_str),
            limits::CANCEL_REASON,
        )?;
        let id = OrderId::from(order_id.0);
        let max_retries = app.sync.settings().max_retries;
        let canceled = app
            .as_seller(&auth)
            .write(move |tx, seller| {
                cancel::cancel_order(tx, seller, &id, reason, max_retries, now_millis())
            })
            .await?;
        if canceled.queued {
            app.sync.wake_one();
        }
        Ok(ok_with(
            CanceledData {
                order: canceled.order.into(),
                sync_log: Nullable(canceled.log.map(Into::into)),
            },
            "Order canceled",
        ))
    }
}
