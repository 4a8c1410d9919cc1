//! Response bodies (what `data` holds) and their conversions from the store's types, one file
//! per resource, with the larger request bodies (the integration's, apply-suggestions); what
//! every list shares (`PageInfo`, `listed`) and `Empty` live here.

mod accounts;
mod businesses;
mod catalog;
mod dispatch;
mod integrations;
mod order_list;
mod orders;
mod pos_requests;
mod replay;
mod sync_logs;

use poem_openapi::Object;

pub use accounts::{LoginData, SellerData};
pub use businesses::{BusinessData, BusinessList, DishData, DishList};
pub use catalog::{
    AppliedData, ApplySuggestionsRequest, CatalogData, CatalogItemOut, DishMappingOut, MappingData,
};
pub use integrations::{IntegrationData, IntegrationOut, Provider};
pub use order_list::{ListedOrder, OrderList, OrderState};
pub use orders::{CanceledData, OrderData, TestOrderData};
pub use pos_requests::{ConnectRequest, DisconnectRequest, UpdateIntegrationRequest};
pub use replay::ReplayData;
pub use sync_logs::{
    AttemptList, CancellationStats, HistoryData, PreviewData, PreviewStep, StatsData, StatsOut,
    SyncLogData, SyncLogOut, SyncState,
};

use crate::store::{Page, Paged};

/// Where a page sits in the whole list. Flattened into every list answer, so the wire keeps
/// `{<items>, total, limit, offset}` with each list's own name for its items.
#[derive(Debug, Object)]
pub struct PageInfo {
    /// How many there are in all.
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

/// A page of store rows as the wire shows it: the items converted, and where the page sits.
pub fn listed<S, T: From<S>>(found: Paged<S>, page: Page) -> (Vec<T>, PageInfo) {
    let info = PageInfo {
        total: found.total,
        limit: page.limit,
        offset: page.offset,
    };
    (found.items.into_iter().map(T::from).collect(), info)
}

/// An empty `data`.
#[derive(Debug, Object)]
pub struct Empty {}
