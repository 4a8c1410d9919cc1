//! `POST /salesorders` (validated against the schema and §B2 rules) and `GET /salesorders`.

use serde_json::{Value, json};

use super::dispatch::{zoho_error, zoho_json};
use super::helpers::{
    currency_exponent, decimals, now_zoho, page_context, round_to, unknown_keys, valid_date,
};
use super::schemas::SO_REQUEST;
use super::state::{Inner, LINE_IDS, SALES_ORDER_IDS, State};
use super::totals::{answer_fields, money};
use crate::common::mock_http::{Request, Response};

impl Inner {
    pub(super) fn create_sales_order(
        &self,
        st: &mut State,
        ctx: &str,
        req: &Request,
        org: &str,
    ) -> Response {
        // The schema has `salesorder_number` relaxed (§B2).
        let body = match self.checked_body(st, ctx, req, SO_REQUEST) {
            Ok(body) => body,
            Err(resp) => return resp,
        };
        let mut bad = Vec::new();
        let unknown = unknown_keys(&body, &self.schemas.so_fields);
        if !unknown.is_empty() {
            bad.push(format!("unknown fields {unknown:?}"));
        }
        let auto_off = req
            .query
            .iter()
            .any(|(k, v)| k == "ignore_auto_number_generation" && v == "true");
        let number = body["salesorder_number"].as_str().map(str::to_string);
        if auto_off {
            match &number {
                None => {
                    st.problem(
                        ctx,
                        "ignore_auto_number_generation=true without salesorder_number",
                    );
                    return zoho_error(400, 4, "Invalid value passed for salesorder_number");
                }
                Some(n)
                    if st
                        .sales_orders
                        .iter()
                        .any(|so| so["salesorder_number"] == *n) =>
                {
                    return zoho_error(
                        400,
                        36004,
                        "This sales order number already exists. Please enter a different one.",
                    );
                }
                Some(_) => {}
            }
        } else if number.is_some() {
            bad.push(
                "salesorder_number sent without ignore_auto_number_generation=true".to_string(),
            );
        }
        if let Some(date) = body.get("date")
            && !date.as_str().is_some_and(valid_date)
        {
            bad.push(format!("date {date} is not YYYY-MM-DD"));
        }
        if body["reference_number"]
            .as_str()
            .is_some_and(|r| r.trim().is_empty())
        {
            bad.push("reference_number is blank".into());
        }
        let currency = st
            .organization(org)
            .map_or("INR".to_string(), |o| o.currency.clone());
        let exponent = currency_exponent(&currency);
        let lines = body["line_items"].as_array().cloned().unwrap_or_default();
        if lines.is_empty() {
            st.problem(ctx, "line_items is empty");
            return zoho_error(400, 4, "Invalid value passed for line_items");
        }
        for (i, line) in lines.iter().enumerate() {
            let unknown = unknown_keys(line, &self.schemas.line_fields);
            if !unknown.is_empty() {
                bad.push(format!("line_items[{i}]: unknown fields {unknown:?}"));
            }
            let has_item = line.get("item_id").is_some();
            let has_name = line["name"].as_str().is_some_and(|n| !n.trim().is_empty());
            if !has_item && !has_name {
                bad.push(format!("line_items[{i}] has neither item_id nor a name"));
            }
            match line.get("rate") {
                None if !has_item => {
                    bad.push(format!("line_items[{i}] has no item_id and no rate"))
                }
                None => {}
                Some(Value::Number(n)) => {
                    if n.as_f64().is_some_and(|r| r < 0.0) {
                        bad.push(format!("line_items[{i}].rate {n} is negative"));
                    }
                    if decimals(n) > exponent {
                        bad.push(format!(
                            "line_items[{i}].rate {n} has more decimals than {currency} allows \
                             ({exponent}): is it in minor units?"
                        ));
                    }
                }
                Some(other) => bad.push(format!("line_items[{i}].rate {other} is not a number")),
            }
            match line.get("quantity").and_then(Value::as_f64) {
                Some(q) if q > 0.0 => {}
                _ => bad.push(format!(
                    "line_items[{i}].quantity {} is not a positive number",
                    line["quantity"]
                )),
            }
        }
        for b in &bad {
            st.problem(ctx, b);
        }
        if !bad.is_empty() {
            return zoho_error(400, 4, &format!("Invalid value passed: {}", bad[0]));
        }
        // References: the customer and the items must exist.
        let customer_id = body["customer_id"].as_str().unwrap_or_default().to_string();
        let Some(customer) = st
            .contacts
            .iter()
            .find(|c| c["contact_id"] == json!(customer_id))
            .cloned()
        else {
            return zoho_error(400, 1002, "Contact does not exist.");
        };
        for line in &lines {
            if let Some(item) = line.get("item_id")
                && !st.items.iter().any(|it| it["item_id"] == *item)
            {
                return zoho_error(400, 1002, "Item does not exist.");
            }
        }

        // Commit.
        let id = st.next_id(SALES_ORDER_IDS);
        st.so_number += 1;
        let so_number = number.unwrap_or_else(|| format!("SO-{:05}", st.so_number));
        let mut sub_total = 0.0;
        let mut out_lines = Vec::new();
        for (i, line) in lines.iter().enumerate() {
            let item = line
                .get("item_id")
                .and_then(|id| st.items.iter().find(|it| it["item_id"] == *id).cloned());
            let rate = line
                .get("rate")
                .and_then(Value::as_f64)
                .or_else(|| item.as_ref().and_then(|it| it["rate"].as_f64()))
                .unwrap_or(0.0);
            let quantity = line["quantity"].as_f64().unwrap_or(1.0);
            let total = round_to(rate * quantity, exponent);
            sub_total += total;
            let name = line["name"]
                .as_str()
                .map(str::to_string)
                .or_else(|| {
                    item.as_ref()
                        .and_then(|it| it["name"].as_str().map(String::from))
                })
                .unwrap_or_default();
            let line_id = st.next_id(LINE_IDS);
            out_lines.push(json!({
                "line_item_id": line_id,
                "item_id": line.get("item_id").cloned().unwrap_or(json!("")),
                "name": name,
                "description": line["description"].as_str().unwrap_or_default(),
                "item_order": i + 1,
                "rate": rate,
                "bcy_rate": rate,
                "quantity": quantity,
                "unit": "",
                "item_total": total,
                "quantity_invoiced": 0.0,
                "quantity_packed": 0.0,
                "quantity_shipped": 0.0,
                "is_invoiced": false,
            }));
        }
        let sub_total = round_to(sub_total, exponent);
        let mut bad = Vec::new();
        let unasked_tax = st.unasked_tax;
        let money = money(&body, sub_total, exponent, unasked_tax, &mut bad);
        if !bad.is_empty() {
            for b in &bad {
                st.problem(ctx, b);
            }
            return zoho_error(400, 4, &format!("Invalid value passed: {}", bad[0]));
        }
        let date = body["date"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| jiff::Zoned::now().date().to_string());
        let mut sales_order = json!({
            "salesorder_id": id,
            "salesorder_number": so_number,
            "date": date,
            "status": "draft",
            "shipment_date": "",
            "reference_number": body["reference_number"].as_str().unwrap_or_default(),
            "customer_id": customer_id,
            "customer_name": customer["contact_name"],
            "currency_code": currency,
            "exchange_rate": 1.0,
            "discount_amount": 0.0,
            "discount": 0.0,
            "is_discount_before_tax": true,
            "line_items": out_lines,
            "location_id": body["location_id"].as_str().unwrap_or_default(),
            "shipping_charge": 0.0,
            "adjustment": 0.0,
            "sub_total": sub_total,
            "tax_total": 0.0,
            "total": sub_total,
            "notes": body["notes"].as_str().unwrap_or_default(),
            "terms": "",
            "created_time": now_zoho(),
            "last_modified_time": now_zoho(),
        });
        for (field, value) in answer_fields(&money, &body, unasked_tax) {
            sales_order[field] = value;
        }
        self.self_check(st, "sales_order-response", &sales_order);
        st.sales_orders.push(sales_order.clone());
        zoho_json(
            201,
            &json!({"code": 0, "message": "Sales Order has been created.", "salesorder": sales_order}),
        )
    }
}

pub(super) fn list_sales_orders(st: &mut State, req: &Request) -> Response {
    let q = |name: &str| {
        req.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let found: Vec<Value> = st
        .sales_orders
        .iter()
        .filter(|so| {
            let reference = so["reference_number"].as_str().unwrap_or_default();
            q("reference_number").is_none_or(|r| reference == r)
                && q("reference_number_contains").is_none_or(|r| reference.contains(&r))
                && q("reference_number_startswith").is_none_or(|r| reference.starts_with(&r))
                && q("customer_id").is_none_or(|c| so["customer_id"] == json!(c))
        })
        .map(|so| {
            json!({
                "salesorder_id": so["salesorder_id"],
                "customer_name": so["customer_name"],
                "customer_id": so["customer_id"],
                "status": so["status"],
                "salesorder_number": so["salesorder_number"],
                "reference_number": so["reference_number"],
                "date": so["date"],
                "shipment_date": so["shipment_date"],
                "currency_code": so["currency_code"],
                "total": so["total"],
                "created_time": so["created_time"],
                "last_modified_time": so["last_modified_time"],
            })
        })
        .collect();
    zoho_json(
        200,
        &json!({
            "code": 0, "message": "success", "salesorders": found,
            "page_context": page_context(found.len(), "Sales Orders"),
        }),
    )
}
