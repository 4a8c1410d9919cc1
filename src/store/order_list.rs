//! The seller's orders as a list (`GET /orders`): filters, newest first, paged.

use rusqlite::Connection;
use rusqlite::types::Value;

use super::orders::{ORDER_SELECT, Order, load_items, order_from_row};
use super::{Page, Paged};
use crate::Result;
use crate::domain::{BusinessId, Millis, OrderStatus, SyncStatus};

/// What `GET /orders` filters on. Every filter is optional; the seller's own orders only.
#[derive(Debug, Clone, Default)]
pub struct OrderFilter {
    pub business_id: Option<BusinessId>,
    pub status: Option<OrderStatus>,
    /// The status of the order's latest `create` log (an order without one never matches).
    pub sync_status: Option<SyncStatus>,
    /// Created at or after.
    pub since: Option<Millis>,
    /// Created before.
    pub until: Option<Millis>,
}

/// The WHERE clause of a filter and its parameters (numbered from 1, the seller first).
fn where_clause(seller_id: &str, filter: &OrderFilter) -> (String, Vec<Value>) {
    let mut clauses = vec!["b.seller_id = ?1".to_string()];
    let mut values = vec![Value::from(seller_id.to_string())];
    let mut add = |clause: &str, value: Value| {
        values.push(value);
        clauses.push(clause.replace('?', &format!("?{}", values.len())));
    };
    if let Some(business) = &filter.business_id {
        add(
            "o.business_id = ?",
            Value::from(business.as_str().to_string()),
        );
    }
    if let Some(status) = filter.status {
        add("o.status = ?", Value::from(status.as_str().to_string()));
    }
    if let Some(since) = filter.since {
        add("o.created_at >= ?", Value::from(since));
    }
    if let Some(until) = filter.until {
        add("o.created_at < ?", Value::from(until));
    }
    if let Some(sync) = filter.sync_status {
        add(
            "(SELECT l.status FROM sync_logs l WHERE l.order_id = o.id AND l.action = 'create'
              ORDER BY l.created_at DESC, l.id DESC LIMIT 1) = ?",
            Value::from(sync.as_str().to_string()),
        );
    }
    (clauses.join(" AND "), values)
}

/// The seller's orders matching `filter`, newest first, with their items. Call it inside one
/// read transaction so that `total` counts the same rows the page shows.
pub fn list_orders(
    conn: &Connection,
    seller_id: &str,
    filter: &OrderFilter,
    page: Page,
) -> Result<Paged<Order>> {
    let (clause, mut values) = where_clause(seller_id, filter);
    let from = "FROM orders o JOIN businesses b ON b.id = o.business_id";
    let total: i64 = conn.query_row(
        &format!("SELECT count(*) {from} WHERE {clause}"),
        rusqlite::params_from_iter(values.iter()),
        |r| r.get(0),
    )?;
    let n = values.len();
    values.push(Value::from(page.limit));
    values.push(Value::from(page.offset));
    let mut stmt = conn.prepare(&format!(
        "{ORDER_SELECT} JOIN businesses b ON b.id = o.business_id WHERE {clause}
         ORDER BY o.created_at DESC, o.id DESC LIMIT ?{} OFFSET ?{}",
        n + 1,
        n + 2
    ))?;
    let mut items = stmt
        .query_map(rusqlite::params_from_iter(values.iter()), order_from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    for order in &mut items {
        order.items = load_items(conn, &order.id)?;
    }
    Ok(Paged { items, total })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_filter_adds_one_numbered_clause() {
        let all = OrderFilter {
            business_id: Some(BusinessId::from("b".to_string())),
            status: Some(OrderStatus::Canceled),
            sync_status: Some(SyncStatus::Failed),
            since: Some(1),
            until: Some(2),
        };
        for (filter, clauses) in [(OrderFilter::default(), 1), (all, 6)] {
            let (sql, values) = where_clause("s", &filter);
            assert_eq!(values.len(), clauses, "{sql}");
            assert!(!sql.contains(&format!("?{}", clauses + 1)), "{sql}");
            for i in 1..=clauses {
                assert!(sql.contains(&format!("?{i}")), "?{i} missing in {sql}");
            }
        }
    }
}
