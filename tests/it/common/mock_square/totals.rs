//! An order's money as Square computes it, in integer minor units: the lines' gross, minus the
//! order-level discounts, plus the catalog taxes of catalog lines (only when `pricing_options`
//! does not turn `auto_apply_taxes` off), plus the service charges. A client that leaves
//! `pricing_options` out of an order with a taxed catalog item gets a total above its own.

use serde_json::{Map, Value, json};

use super::MockSquare;
use super::helpers::{money, parse_decimal, times};
use super::orders::find_variation;
use super::state::State;

/// Fill the order's discount, tax, service-charge and grand totals from `gross` (the sum of
/// its lines' gross sales).
pub(super) fn apply(st: &State, order: &mut Map<String, Value>, gross: i64, currency: &str) {
    let discount = discounts(order, gross, currency);
    let after_discount = (gross - discount).max(0);
    let tax = if auto_applies_taxes(order) {
        catalog_tax(st, order)
    } else {
        0
    } + st.unasked_tax;
    let service = service_charges(order, after_discount, currency);
    let total = after_discount + tax + service;
    for (field, amount) in [
        ("total_money", total),
        ("total_tax_money", tax),
        ("total_discount_money", discount),
        ("total_tip_money", 0),
        ("total_service_charge_money", service),
        ("net_amount_due_money", total),
    ] {
        order.insert(field.into(), money(amount, currency));
    }
    order.insert(
        "net_amounts".into(),
        json!({
            "total_money": money(total, currency),
            "tax_money": money(tax, currency),
            "discount_money": money(discount, currency),
            "tip_money": money(0, currency),
            "service_charge_money": money(service, currency),
        }),
    );
}

impl MockSquare {
    /// Add `amount` of tax to every order from now on, whatever the request says (a location
    /// tax possync was not told of): Square's total then differs from MenuMaker's.
    pub fn add_unasked_tax(&self, amount: i64) {
        self.inner.lock().unasked_tax = amount;
    }
}

/// Square applies the catalog's taxes to catalog lines unless told not to.
fn auto_applies_taxes(order: &Map<String, Value>) -> bool {
    order
        .get("pricing_options")
        .and_then(|p| p.get("auto_apply_taxes"))
        .and_then(Value::as_bool)
        != Some(false)
}

/// ORDER-scoped discounts: a fixed amount or a percentage of the gross; each gets its
/// `applied_money`.
fn discounts(order: &mut Map<String, Value>, gross: i64, currency: &str) -> i64 {
    let mut total = 0;
    if let Some(Value::Array(list)) = order.get_mut("discounts") {
        for d in list.iter_mut().filter_map(Value::as_object_mut) {
            let amount = match d.get("type").and_then(Value::as_str) {
                Some("FIXED_PERCENTAGE") => percent_of(gross, d.get("percentage")),
                _ => d
                    .get("amount_money")
                    .and_then(|m| m["amount"].as_i64())
                    .unwrap_or(0),
            };
            let amount = amount.min(gross - total);
            total += amount;
            d.insert("applied_money".into(), money(amount, currency));
        }
    }
    total
}

/// Service charges: a fixed amount or a percentage of the discounted subtotal.
fn service_charges(order: &mut Map<String, Value>, base: i64, currency: &str) -> i64 {
    let mut total = 0;
    if let Some(Value::Array(list)) = order.get_mut("service_charges") {
        for c in list.iter_mut().filter_map(Value::as_object_mut) {
            let amount = match c.get("amount_money").and_then(|m| m["amount"].as_i64()) {
                Some(amount) => amount,
                None => percent_of(base, c.get("percentage")),
            };
            total += amount;
            c.insert("applied_money".into(), money(amount, currency));
            c.insert("total_money".into(), money(amount, currency));
        }
    }
    total
}

/// The catalog's additive taxes on catalog lines (`item_data.tax_ids` → `TAX` objects).
fn catalog_tax(st: &State, order: &Map<String, Value>) -> i64 {
    let Some(catalog) = &st.catalog else {
        return 0;
    };
    let lines = order.get("line_items").and_then(Value::as_array);
    let mut total = 0;
    for line in lines.into_iter().flatten() {
        let Some(id) = line["catalog_object_id"].as_str() else {
            continue;
        };
        let Some((_, Some(item))) = find_variation(catalog, id) else {
            continue;
        };
        let gross = line["gross_sales_money"]["amount"].as_i64().unwrap_or(0);
        for tax_id in item["item_data"]["tax_ids"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let tax = catalog
                .iter()
                .find(|o| o["type"] == "TAX" && o["id"] == *tax_id && o["is_deleted"] != true);
            if let Some(tax) = tax.filter(|t| t["tax_data"]["enabled"] != false) {
                total += percent_of(gross, tax["tax_data"].get("percentage"));
            }
        }
    }
    total
}

/// `percentage` ("7.25") of `amount`, rounded half away from zero.
fn percent_of(amount: i64, percentage: Option<&Value>) -> i64 {
    let Some((mantissa, scale)) = percentage.and_then(Value::as_str).and_then(parse_decimal) else {
        return 0;
    };
    times(amount, (mantissa, scale + 2))
}
