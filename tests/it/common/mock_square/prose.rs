//! The prose rules of §A2/§A7 that the schemas cannot say: the order and its line items.

use std::collections::HashSet;

use serde_json::{Value, json};

use super::helpers::parse_decimal;
use super::orders::find_variation;
use super::prose_fields::{fulfillment_rules, walk_order};
use super::state::State;

/// A rule broken by a request.
#[derive(Debug, Clone)]
pub(super) struct Violation {
    pub(super) field: String,
    pub(super) code: &'static str,
    pub(super) detail: String,
    /// Square refuses the request (else it is only noted as a problem).
    pub(super) reject: bool,
}

impl Violation {
    pub(super) fn reject(field: &str, code: &'static str, detail: impl Into<String>) -> Violation {
        Violation {
            field: field.to_string(),
            code,
            detail: detail.into(),
            reject: true,
        }
    }

    pub(super) fn note(field: &str, code: &'static str, detail: impl Into<String>) -> Violation {
        Violation {
            reject: false,
            ..Violation::reject(field, code, detail)
        }
    }
}

pub(super) fn dedupe(found: Vec<Violation>) -> Vec<Violation> {
    let mut seen = HashSet::new();
    found
        .into_iter()
        .filter(|v| seen.insert((v.field.clone(), v.code)))
        .collect()
}

pub(super) fn or_root(field: &str) -> &str {
    if field.is_empty() { "(body)" } else { field }
}

/// A present, non-null value.
pub(super) fn present<'a>(obj: &'a Value, key: &str) -> Option<&'a Value> {
    obj.get(key).filter(|v| !v.is_null())
}

pub(super) fn chars(s: &str) -> usize {
    s.chars().count()
}

/// `field` as a string no longer than `max` (when present).
pub(super) fn check_string(
    out: &mut Vec<Violation>,
    obj: &Value,
    key: &str,
    path: &str,
    max: usize,
) {
    let field = format!("{path}.{key}");
    match present(obj, key) {
        None => {}
        Some(Value::String(s)) if chars(s) > max => out.push(Violation::reject(
            &field,
            "VALUE_TOO_LONG",
            format!("Must be at most {max} characters long; it is {}.", chars(s)),
        )),
        Some(Value::String(_)) => {}
        Some(_) => out.push(Violation::reject(
            &field,
            "EXPECTED_STRING",
            "Expected a string.",
        )),
    }
}

pub(super) fn prose_rules(body: &Value, st: &State) -> Vec<Violation> {
    let mut out = Vec::new();
    let Some(top) = body.as_object() else {
        out.push(Violation::reject(
            "",
            "EXPECTED_OBJECT",
            "The body must be a JSON object.",
        ));
        return out;
    };
    for key in top.keys() {
        if key != "order" && key != "idempotency_key" {
            out.push(Violation::reject(
                key,
                "UNKNOWN_BODY_PARAMETER",
                "If `order` is set, the only other top-level field that can be set is `idempotency_key`.",
            ));
        }
    }
    match present(body, "idempotency_key") {
        None => out.push(Violation::note(
            "idempotency_key",
            "MISSING_REQUIRED_PARAMETER",
            "no idempotency key: a retry could duplicate the order (§A2, §F3); Square accepts it",
        )),
        Some(Value::String(k)) if k.is_empty() => out.push(Violation::reject(
            "idempotency_key",
            "VALUE_TOO_SHORT",
            "Must be at least 1 character long.",
        )),
        Some(Value::String(k)) if chars(k) > 192 => out.push(Violation::reject(
            "idempotency_key",
            "VALUE_TOO_LONG",
            format!("Must be at most 192 characters long; it is {}.", chars(k)),
        )),
        Some(Value::String(_)) => {}
        Some(_) => out.push(Violation::reject(
            "idempotency_key",
            "EXPECTED_STRING",
            "Expected a string.",
        )),
    }
    let Some(order) = present(body, "order") else {
        out.push(Violation::reject(
            "order",
            "MISSING_REQUIRED_PARAMETER",
            "Field must be set.",
        ));
        return out;
    };
    if !order.is_object() {
        out.push(Violation::reject(
            "order",
            "EXPECTED_OBJECT",
            "Expected an object.",
        ));
        return out;
    }

    // Location: required, known, active; its currency is the order's.
    let mut currency: Option<String> = None;
    match present(order, "location_id") {
        None => out.push(Violation::reject(
            "order.location_id",
            "MISSING_REQUIRED_PARAMETER",
            "Field must be set.",
        )),
        Some(Value::String(id)) if id.is_empty() => out.push(Violation::reject(
            "order.location_id",
            "VALUE_TOO_SHORT",
            "Must be at least 1 character long.",
        )),
        Some(Value::String(id)) => match st.location(id) {
            None => out.push(Violation::reject(
                "order.location_id",
                "NOT_FOUND",
                format!("Location `{id}` not found."),
            )),
            Some(location) => {
                if location["status"].as_str().is_some_and(|s| s != "ACTIVE") {
                    out.push(Violation::reject(
                        "order.location_id",
                        "INVALID_VALUE",
                        format!("Location `{id}` is not active."),
                    ));
                }
                currency = location["currency"].as_str().map(str::to_string);
            }
        },
        Some(_) => out.push(Violation::reject(
            "order.location_id",
            "EXPECTED_STRING",
            "Expected a string.",
        )),
    }
    check_string(&mut out, order, "reference_id", "order", 40);
    check_string(&mut out, order, "customer_id", "order", 191);
    check_string(&mut out, order, "ticket_name", "order", 30);
    if let Some(state) = present(order, "state")
        && !["OPEN", "COMPLETED", "CANCELED", "DRAFT"].contains(&state.as_str().unwrap_or(""))
    {
        out.push(Violation::reject(
            "order.state",
            "INVALID_ENUM_VALUE",
            format!("{state} is not OPEN, COMPLETED, CANCELED or DRAFT."),
        ));
    }

    // Line items.
    match present(order, "line_items") {
        None => {}
        Some(Value::Array(lines)) => {
            for (i, line) in lines.iter().enumerate() {
                line_item_rules(&mut out, line, &format!("order.line_items[{i}]"), st);
            }
        }
        Some(_) => out.push(Violation::reject(
            "order.line_items",
            "EXPECTED_ARRAY",
            "Expected an array.",
        )),
    }

    // Fulfillments: at most one on create.
    match present(order, "fulfillments") {
        None => {}
        Some(Value::Array(fulfillments)) => {
            if fulfillments.len() > 1 {
                out.push(Violation::reject(
                    "order.fulfillments",
                    "INVALID_VALUE",
                    "Orders can only be created with at most one fulfillment.",
                ));
            }
            for (i, f) in fulfillments.iter().enumerate() {
                fulfillment_rules(&mut out, f, &format!("order.fulfillments[{i}]"));
            }
        }
        Some(_) => out.push(Violation::reject(
            "order.fulfillments",
            "EXPECTED_ARRAY",
            "Expected an array.",
        )),
    }

    // Metadata maps and money, wherever they are in the order.
    walk_order(&mut out, order, "order", currency.as_deref());
    out
}

fn line_item_rules(out: &mut Vec<Violation>, line: &Value, path: &str, st: &State) {
    if !line.is_object() {
        out.push(Violation::reject(
            path,
            "EXPECTED_OBJECT",
            "Expected an object.",
        ));
        return;
    }
    let has_unit = present(line, "quantity_unit").is_some();
    let precision = line["quantity_unit"]["precision"].as_u64();
    match present(line, "quantity") {
        None => out.push(Violation::reject(
            &format!("{path}.quantity"),
            "MISSING_REQUIRED_PARAMETER",
            "Field must be set.",
        )),
        Some(Value::String(q)) => quantity_rules(
            out,
            q,
            &format!("{path}.quantity"),
            true,
            has_unit,
            precision,
        ),
        Some(_) => out.push(Violation::reject(
            &format!("{path}.quantity"),
            "EXPECTED_STRING",
            "The quantity must be a string, e.g. \"2\".",
        )),
    }
    check_string(out, line, "uid", path, 60);
    check_string(out, line, "name", path, 512);
    check_string(out, line, "note", path, 2000);
    check_string(out, line, "catalog_object_id", path, 192);
    check_string(out, line, "variation_name", path, 400);
    let catalog_id = present(line, "catalog_object_id").and_then(Value::as_str);
    let name = present(line, "name").and_then(Value::as_str);
    match (catalog_id, name) {
        (None, None) => out.push(Violation::reject(
            &format!("{path}.name"),
            "MISSING_REQUIRED_PARAMETER",
            "A line item needs a `name` (ad hoc) or a `catalog_object_id`.",
        )),
        (None, Some(_)) => {
            if present(line, "base_price_money").is_none() {
                out.push(Violation::reject(
                    &format!("{path}.base_price_money"),
                    "MISSING_REQUIRED_PARAMETER",
                    "An ad hoc line item needs `base_price_money`.",
                ));
            }
        }
        (Some(id), _) => {
            if let Some(catalog) = &st.catalog {
                match find_variation(catalog, id) {
                    Some(_) => {}
                    None if catalog.iter().any(|o| o["id"] == json!(id)) => {
                        out.push(Violation::reject(
                            &format!("{path}.catalog_object_id"),
                            "INVALID_VALUE",
                            format!("Object `{id}` is not an ITEM_VARIATION."),
                        ))
                    }
                    None => out.push(Violation::reject(
                        &format!("{path}.catalog_object_id"),
                        "NOT_FOUND",
                        format!("Item variation with catalog object ID `{id}` not found."),
                    )),
                }
            }
        }
    }
    match present(line, "modifiers") {
        None => {}
        Some(Value::Array(mods)) => {
            for (j, m) in mods.iter().enumerate() {
                let mpath = format!("{path}.modifiers[{j}]");
                if !m.is_object() {
                    out.push(Violation::reject(
                        &mpath,
                        "EXPECTED_OBJECT",
                        "Expected an object.",
                    ));
                    continue;
                }
                check_string(out, m, "uid", &mpath, 60);
                check_string(out, m, "name", &mpath, 255);
                check_string(out, m, "catalog_object_id", &mpath, 192);
                let has_catalog = present(m, "catalog_object_id").is_some();
                if !has_catalog && present(m, "name").is_none() {
                    out.push(Violation::reject(
                        &format!("{mpath}.name"),
                        "MISSING_REQUIRED_PARAMETER",
                        "A modifier needs a `catalog_object_id` or an ad hoc `name`.",
                    ));
                }
                if !has_catalog && present(m, "base_price_money").is_none() {
                    out.push(Violation::reject(
                        &format!("{mpath}.base_price_money"),
                        "MISSING_REQUIRED_PARAMETER",
                        "`base_price_money` is required for ad hoc modifiers.",
                    ));
                }
                match present(m, "quantity") {
                    None => {}
                    Some(Value::String(q)) => {
                        quantity_rules(out, q, &format!("{mpath}.quantity"), false, true, None)
                    }
                    Some(_) => out.push(Violation::reject(
                        &format!("{mpath}.quantity"),
                        "EXPECTED_STRING",
                        "The quantity must be a string.",
                    )),
                }
            }
        }
        Some(_) => out.push(Violation::reject(
            &format!("{path}.modifiers"),
            "EXPECTED_ARRAY",
            "Expected an array.",
        )),
    }
}

/// A quantity: a string of 1–12 characters holding a number (positive for line items, ≥ 0 for
/// modifiers); decimals only with a `quantity_unit`, and no more digits than its `precision`.
fn quantity_rules(
    out: &mut Vec<Violation>,
    q: &str,
    field: &str,
    positive: bool,
    decimals_allowed: bool,
    precision: Option<u64>,
) {
    if q.is_empty() {
        out.push(Violation::reject(
            field,
            "VALUE_TOO_SHORT",
            "Must be at least 1 character long.",
        ));
        return;
    }
    if chars(q) > 12 {
        out.push(Violation::reject(
            field,
            "VALUE_TOO_LONG",
            "Must be at most 12 characters long.",
        ));
        return;
    }
    let Some((mantissa, scale)) = parse_decimal(q) else {
        out.push(Violation::reject(
            field,
            "INVALID_VALUE",
            format!("{q:?} is not a number."),
        ));
        return;
    };
    if positive && mantissa <= 0 {
        out.push(Violation::reject(
            field,
            "INVALID_VALUE",
            "The quantity must be positive.",
        ));
    }
    if scale > 0 && !decimals_allowed {
        out.push(Violation::reject(
            field,
            "INVALID_VALUE",
            "A decimal quantity needs a `quantity_unit`.",
        ));
    }
    if let Some(p) = precision
        && u64::from(scale) > p
    {
        out.push(Violation::reject(
            field,
            "INVALID_VALUE",
            format!("The quantity has more decimal places than the unit's precision {p}."),
        ));
    }
}
