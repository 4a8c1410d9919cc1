//! CreateOrder (with its idempotency table), RetrieveOrder and ListLocations.

use serde_json::{Map, Value, json};

use super::errors::{SqError, error_response, fault_action};
use super::helpers::{
    first_currency, money, now_rfc3339_ms, parse_decimal, random_string, rfc3339_ms, times,
};
use super::prose::{Violation, dedupe, or_root, prose_rules};
use super::routes::{check_bearer, check_content_type, check_square_version, record, record_keyed};
use super::schema_errors::{Seg, field_name, read_only_paths, remove_path};
use super::state::{Inner, State};
use super::{APP_NAME, Fault};
use crate::common::mock_http::{Action, Request, Response};

impl Inner {
    pub(super) fn create_order(&self, req: &Request) -> Action {
        let mut st = self.lock();
        let ctx = record_keyed(&mut st, "/v2/orders", req);
        let fault = st.faults.pop_front();

        // Headers: every violation is noted; the first refusal is the answer.
        let auth = check_bearer(&mut st, &ctx, req, "ORDERS_WRITE");
        let version = check_square_version(&mut st, &ctx, req);
        let content = check_content_type(&mut st, &ctx, req);

        // The body: schema + prose rules.
        let parsed = req.json();
        let mut violations = Vec::new();
        let mut read_only = Vec::new();
        match &parsed {
            Ok(body) => {
                let mut found = self.schema_violations("CreateOrderRequest", body);
                found.extend(prose_rules(body, &st));
                read_only = read_only_paths(&self.schemas, body);
                for path in &read_only {
                    found.push(Violation::note(
                        &field_name(path),
                        "READ_ONLY_FIELD",
                        "a read-only field was sent; Square ignores it and clients should not send it",
                    ));
                }
                violations = dedupe(found);
                for v in &violations {
                    let line = format!("{}: {}: {}", or_root(&v.field), v.code, v.detail);
                    st.problem(&ctx, line);
                }
            }
            Err(e) => st.problem(&ctx, format!("the body is not JSON: {e}")),
        }

        let delay = match fault {
            Some(Fault::TimeoutAfterCommit(d)) => Some(d),
            Some(other) => return fault_action(&other),
            None => None,
        };
        let resp = (|| {
            let merchant = auth?;
            version?;
            content?;
            let body = match parsed {
                Ok(Value::Null) | Err(_) => {
                    return Err(error_response(
                        400,
                        vec![SqError::new(
                            "EXPECTED_JSON_BODY",
                            "The body must be a JSON object.",
                        )],
                    ));
                }
                Ok(body) => body,
            };
            let refusals: Vec<SqError> = violations
                .iter()
                .filter(|v| v.reject)
                .map(|v| SqError::new(v.code, v.detail.clone()).field(v.field.clone()))
                .collect();
            if !refusals.is_empty() {
                return Err(error_response(400, refusals));
            }
            Ok(self.commit_order(&mut st, &ctx, &merchant, body, &read_only))
        })()
        .unwrap_or_else(|e| e);
        match delay {
            Some(d) => Action::Delayed(d, resp),
            None => Action::Respond(resp),
        }
    }

    /// The idempotency table, then a new order.
    pub(super) fn commit_order(
        &self,
        st: &mut State,
        ctx: &str,
        merchant: &str,
        body: Value,
        read_only: &[Vec<Seg>],
    ) -> Response {
        let key = body
            .get("idempotency_key")
            .and_then(Value::as_str)
            .map(str::to_string);
        if let Some(key) = &key
            && let Some((first, index)) = st.idempotency.get(&(merchant.to_string(), key.clone()))
        {
            let order = st.orders[*index].clone();
            if *first == body {
                return Response::json(200, &json!({ "order": order }));
            }
            let id = order["id"].as_str().unwrap_or_default().to_string();
            st.problem(
                    ctx,
                    format!(
                        "IDEMPOTENCY_KEY_REUSED: key {key:?} was first used for order {id} with a different body"
                    ),
                );
            return error_response(
                400,
                vec![
                    SqError::new(
                        "IDEMPOTENCY_KEY_REUSED",
                        format!("Order {id} already exists."),
                    )
                    .field("idempotency_key"),
                ],
            );
        }
        let order = build_order(st, &body, read_only);
        let index = st.orders.len();
        st.order_index
            .insert(order["id"].as_str().unwrap_or_default().to_string(), index);
        st.orders.push(order.clone());
        if let Some(key) = key {
            st.idempotency
                .insert((merchant.to_string(), key), (body, index));
        }
        Response::json(200, &json!({ "order": order }))
    }

    pub(super) fn retrieve_order(&self, req: &Request, id: &str) -> Action {
        let mut st = self.lock();
        st.requests.push(record(req));
        let ctx = format!("GET /v2/orders/{id}");
        let auth = check_bearer(&mut st, &ctx, req, "ORDERS_READ");
        let version = check_square_version(&mut st, &ctx, req);
        if let Err(resp) = auth.map(|_| ()).and(version) {
            return Action::Respond(resp);
        }
        match st.order_index.get(id) {
            Some(&i) => Action::Respond(Response::json(200, &json!({"order": st.orders[i]}))),
            None => Action::Respond(error_response(
                404,
                vec![
                    SqError::new("NOT_FOUND", format!("Order `{id}` not found.")).field("order_id"),
                ],
            )),
        }
    }

    pub(super) fn list_locations(&self, req: &Request) -> Action {
        let mut st = self.lock();
        st.requests.push(record(req));
        let ctx = "GET /v2/locations";
        let auth = check_bearer(&mut st, ctx, req, "MERCHANT_PROFILE_READ");
        let version = check_square_version(&mut st, ctx, req);
        if let Err(resp) = auth.map(|_| ()).and(version) {
            return Action::Respond(resp);
        }
        Action::Respond(Response::json(200, &json!({"locations": st.locations})))
    }
}

/// The Order Square answers: the request's order without read-only fields, plus id, version,
/// state, timestamps, uids and totals.
fn build_order(st: &State, body: &Value, read_only: &[Vec<Seg>]) -> Value {
    let mut request = body.clone();
    for path in read_only {
        remove_path(&mut request, path);
    }
    let mut order = match request.get("order") {
        Some(Value::Object(o)) => o.clone(),
        _ => Map::new(),
    };
    order.remove("version");
    // Null means "unset" in Square's requests.
    order.retain(|_, v| !v.is_null());
    let location_id = order
        .get("location_id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let currency = st
        .location(&location_id)
        .and_then(|l| l["currency"].as_str())
        .map(str::to_string)
        .or_else(|| first_currency(&Value::Object(order.clone())))
        .unwrap_or_else(|| "USD".into());
    let now = now_rfc3339_ms();
    let mut total: i64 = 0;
    if let Some(Value::Array(lines)) = order.get_mut("line_items") {
        for line in lines.iter_mut() {
            let Some(line) = line.as_object_mut() else {
                continue;
            };
            line.retain(|_, v| !v.is_null());
            if !line.contains_key("uid") {
                line.insert("uid".into(), json!(random_string(22)));
            }
            fill_from_catalog(st, line);
            let qty = line
                .get("quantity")
                .and_then(Value::as_str)
                .and_then(parse_decimal)
                .unwrap_or((1, 0));
            let base = line
                .get("base_price_money")
                .and_then(|m| m["amount"].as_i64())
                .unwrap_or(0);
            if !line.contains_key("base_price_money") {
                line.insert("base_price_money".into(), money(0, &currency));
            }
            let variation_total = times(base, qty);
            let mut modifiers_total = 0;
            if let Some(Value::Array(mods)) = line.get_mut("modifiers") {
                for m in mods.iter_mut().filter_map(Value::as_object_mut) {
                    m.retain(|_, v| !v.is_null());
                    if !m.contains_key("uid") {
                        m.insert("uid".into(), json!(random_string(22)));
                    }
                    let each = m
                        .get("base_price_money")
                        .and_then(|v| v["amount"].as_i64())
                        .unwrap_or(0);
                    let mod_qty = m
                        .get("quantity")
                        .and_then(Value::as_str)
                        .and_then(parse_decimal)
                        .unwrap_or((1, 0));
                    let amount = times(times(each, mod_qty), qty);
                    modifiers_total += amount;
                    m.insert("total_price_money".into(), money(amount, &currency));
                }
            }
            let gross = variation_total + modifiers_total;
            total += gross;
            line.insert(
                "variation_total_price_money".into(),
                money(variation_total, &currency),
            );
            line.insert("gross_sales_money".into(), money(gross, &currency));
            line.insert("total_tax_money".into(), money(0, &currency));
            line.insert("total_discount_money".into(), money(0, &currency));
            line.insert("total_service_charge_money".into(), money(0, &currency));
            line.insert("total_money".into(), money(gross, &currency));
        }
    }
    if let Some(Value::Array(fulfillments)) = order.get_mut("fulfillments") {
        for f in fulfillments.iter_mut().filter_map(Value::as_object_mut) {
            f.retain(|_, v| !v.is_null());
            if !f.contains_key("uid") {
                f.insert("uid".into(), json!(random_string(22)));
            }
            if !f.contains_key("state") {
                f.insert("state".into(), json!("PROPOSED"));
            }
            for details in ["pickup_details", "delivery_details", "shipment_details"] {
                if let Some(Value::Object(d)) = f.get_mut(details) {
                    d.retain(|_, v| !v.is_null());
                    d.insert("placed_at".into(), json!(now));
                }
            }
            if let Some(Value::Object(p)) = f.get_mut("pickup_details")
                && p.get("schedule_type") == Some(&json!("ASAP"))
                && !p.contains_key("pickup_at")
            {
                let prep = p
                    .get("prep_time_duration")
                    .and_then(Value::as_str)
                    .and_then(|d| d.parse::<jiff::Span>().ok())
                    .unwrap_or_default();
                let at = jiff::Timestamp::now()
                    .to_zoned(jiff::tz::TimeZone::UTC)
                    .checked_add(prep)
                    .map(|z| z.timestamp())
                    .unwrap_or_else(|_| jiff::Timestamp::now());
                p.insert("pickup_at".into(), json!(rfc3339_ms(at)));
            }
        }
    }
    order.insert("id".into(), json!(random_string(27)));
    order.insert("location_id".into(), json!(location_id));
    if !order.contains_key("source") {
        order.insert("source".into(), json!({"name": APP_NAME}));
    }
    if !order.contains_key("state") {
        order.insert("state".into(), json!("OPEN"));
    }
    order.insert("version".into(), json!(1));
    order.insert("created_at".into(), json!(now));
    order.insert("updated_at".into(), json!(now));
    super::totals::apply(st, &mut order, total, &currency);
    Value::Object(order)
}

/// A catalog line: the name, variation name and price Square fills in from the catalog.
fn fill_from_catalog(st: &State, line: &mut Map<String, Value>) {
    let Some(id) = line.get("catalog_object_id").and_then(Value::as_str) else {
        return;
    };
    let Some(catalog) = &st.catalog else { return };
    let Some((variation, item)) = find_variation(catalog, id) else {
        return;
    };
    let data = &variation["item_variation_data"];
    if !line.contains_key("name")
        && let Some(name) = item.and_then(|i| i["item_data"]["name"].as_str())
    {
        line.insert("name".into(), json!(name));
    }
    if !line.contains_key("variation_name")
        && let Some(name) = data["name"].as_str()
    {
        line.insert("variation_name".into(), json!(name));
    }
    if !line.contains_key("base_price_money") && data["price_money"].is_object() {
        line.insert("base_price_money".into(), data["price_money"].clone());
    }
    if !line.contains_key("catalog_version")
        && let Some(v) = variation["version"].as_i64()
    {
        line.insert("catalog_version".into(), json!(v));
    }
}

/// An ITEM_VARIATION by id (top level or embedded in an ITEM), with its ITEM.
pub(super) fn find_variation<'a>(
    catalog: &'a [Value],
    id: &str,
) -> Option<(&'a Value, Option<&'a Value>)> {
    for object in catalog {
        if object["is_deleted"] == json!(true) {
            continue;
        }
        if object["type"] == "ITEM_VARIATION" && object["id"] == json!(id) {
            let item_id = object["item_variation_data"]["item_id"].as_str();
            let item = catalog
                .iter()
                .find(|o| item_id.is_some() && o["id"].as_str() == item_id);
            return Some((object, item));
        }
        if object["type"] == "ITEM"
            && let Some(vars) = object["item_data"]["variations"].as_array()
            && let Some(v) = vars.iter().find(|v| v["id"] == json!(id))
        {
            return Some((v, Some(object)));
        }
    }
    None
}
