//! An order's standing and the order list (`GET /orders`).

use poem_openapi::{Enum, Object};

use super::orders::OrderOut;
use super::{PageInfo, SyncLogOut};
use crate::api::formats::Nullable;
use crate::domain::OrderStatus;
use crate::store;

/// Whether an order still stands: `canceled` once the seller canceled it
/// (`POST /orders/{orderId}/cancel`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum OrderState {
    /// Placed and not canceled.
    Open,
    /// Canceled by the seller.
    Canceled,
}

impl From<OrderStatus> for OrderState {
    fn from(s: OrderStatus) -> Self {
        match s {
            OrderStatus::Open => OrderState::Open,
            OrderStatus::Canceled => OrderState::Canceled,
        }
    }
}

impl From<OrderState> for OrderStatus {
    fn from(s: OrderState) -> Self {
        match s {
            OrderState::Open => OrderStatus::Open,
            OrderState::Canceled => OrderStatus::Canceled,
        }
    }
}

/// An order in a list, with its latest create sync log (null when it has none).
#[derive(Debug, Object)]
#[oai(rename = "OrderWithSyncLog")]
pub struct ListedOrder {
    #[oai(flatten)]
    pub order: OrderOut,
    pub sync_log: Nullable<SyncLogOut>,
}

impl From<(store::Order, Option<store::SyncLog>)> for ListedOrder {
    fn from((order, log): (store::Order, Option<store::SyncLog>)) -> Self {
        ListedOrder {
            order: order.into(),
            sync_log: Nullable(log.map(Into::into)),
        }
    }
}

/// A page of orders, newest first.
#[derive(Debug, Object)]
pub struct OrderList {
    pub orders: Vec<ListedOrder>,
    #[oai(flatten)]
    pub page: PageInfo,
}
