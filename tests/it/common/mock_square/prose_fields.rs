//! The prose rules of §A2/§A7 for fulfillments, timestamps, metadata and money.

use serde_json::Value;

use super::prose::{Violation, chars, check_string, present};

pub(super) fn fulfillment_rules(out: &mut Vec<Violation>, f: &Value, path: &str) {
    if !f.is_object() {
        out.push(Violation::reject(
            path,
            "EXPECTED_OBJECT",
            "Expected an object.",
        ));
        return;
    }
    check_string(out, f, "uid", path, 60);
    let Some(kind) = present(f, "type") else {
        out.push(Violation::reject(
            &format!("{path}.type"),
            "MISSING_REQUIRED_PARAMETER",
            "A fulfillment needs a `type`.",
        ));
        return;
    };
    let details_key = match kind.as_str() {
        Some("PICKUP") => "pickup_details",
        Some("DELIVERY") => "delivery_details",
        Some("SHIPMENT") => "shipment_details",
        _ => {
            out.push(Violation::reject(
                &format!("{path}.type"),
                "INVALID_ENUM_VALUE",
                format!("{kind} is not a fulfillment type."),
            ));
            return;
        }
    };
    let dpath = format!("{path}.{details_key}");
    let Some(details) = present(f, details_key) else {
        out.push(Violation::reject(
            &dpath,
            "MISSING_REQUIRED_PARAMETER",
            format!("`{details_key}` is required for a {kind} fulfillment."),
        ));
        return;
    };
    if !details.is_object() {
        out.push(Violation::reject(
            &dpath,
            "EXPECTED_OBJECT",
            "Expected an object.",
        ));
        return;
    }
    let schedule = present(details, "schedule_type")
        .and_then(Value::as_str)
        .unwrap_or("SCHEDULED");
    match details_key {
        "pickup_details" => {
            check_string(out, details, "note", &dpath, 500);
            check_string(out, details, "cancel_reason", &dpath, 100);
            if schedule == "SCHEDULED" && present(details, "pickup_at").is_none() {
                out.push(Violation::reject(
                    &format!("{dpath}.pickup_at"),
                    "MISSING_REQUIRED_PARAMETER",
                    "A SCHEDULED pickup (the default schedule_type) needs `pickup_at`.",
                ));
            }
            for key in ["pickup_at", "expires_at"] {
                check_timestamp(out, details, key, &dpath);
            }
            for key in [
                "prep_time_duration",
                "pickup_window_duration",
                "auto_complete_duration",
            ] {
                check_duration(out, details, key, &dpath);
            }
        }
        "delivery_details" => {
            check_string(out, details, "note", &dpath, 550);
            if schedule == "SCHEDULED" && present(details, "deliver_at").is_none() {
                out.push(Violation::reject(
                    &format!("{dpath}.deliver_at"),
                    "MISSING_REQUIRED_PARAMETER",
                    "A SCHEDULED delivery (the default schedule_type) needs `deliver_at`.",
                ));
            }
            if schedule == "ASAP" && present(details, "prep_time_duration").is_none() {
                out.push(Violation::reject(
                    &format!("{dpath}.prep_time_duration"),
                    "MISSING_REQUIRED_PARAMETER",
                    "An ASAP delivery needs `prep_time_duration`.",
                ));
            }
            for key in ["deliver_at", "courier_pickup_at"] {
                check_timestamp(out, details, key, &dpath);
            }
            for key in [
                "prep_time_duration",
                "delivery_window_duration",
                "courier_pickup_window_duration",
            ] {
                check_duration(out, details, key, &dpath);
            }
        }
        _ => {}
    }
    if let Some(recipient) = present(details, "recipient") {
        let rpath = format!("{dpath}.recipient");
        check_string(out, recipient, "display_name", &rpath, 255);
        check_string(out, recipient, "phone_number", &rpath, 17);
        check_string(out, recipient, "email_address", &rpath, 255);
        check_string(out, recipient, "customer_id", &rpath, 191);
    }
}

fn check_timestamp(out: &mut Vec<Violation>, obj: &Value, key: &str, path: &str) {
    if let Some(v) = present(obj, key) {
        let ok = v
            .as_str()
            .is_some_and(|s| s.contains('T') && s.parse::<jiff::Timestamp>().is_ok());
        if !ok {
            out.push(Violation::reject(
                &format!("{path}.{key}"),
                "INVALID_TIME",
                format!("{v} is not an RFC 3339 timestamp (e.g. 2016-09-04T23:59:33.123Z)."),
            ));
        }
    }
}

fn check_duration(out: &mut Vec<Violation>, obj: &Value, key: &str, path: &str) {
    if let Some(v) = present(obj, key) {
        let ok = v
            .as_str()
            .is_some_and(|s| s.starts_with('P') && s.parse::<jiff::Span>().is_ok());
        if !ok {
            out.push(Violation::reject(
                &format!("{path}.{key}"),
                "INVALID_VALUE",
                format!("{v} is not an RFC 3339 duration (e.g. PT20M, P1W3D)."),
            ));
        }
    }
}

/// Every `metadata` map (keys ≤ 60 of `[a-zA-Z0-9_-]`, values ≤ 255, ≤ 10 entries) and every
/// `*_money` (integer amount ≥ 0, currency of 3 upper-case letters = the location's).
pub(super) fn walk_order(
    out: &mut Vec<Violation>,
    value: &Value,
    path: &str,
    currency: Option<&str>,
) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let cpath = format!("{path}.{key}");
                if child.is_null() {
                    continue;
                }
                if key == "metadata" {
                    metadata_rules(out, child, &cpath);
                } else if key.ends_with("_money") && child.is_object() {
                    money_rules(out, child, &cpath, currency);
                } else {
                    walk_order(out, child, &cpath, currency);
                }
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                walk_order(out, child, &format!("{path}[{i}]"), currency);
            }
        }
        _ => {}
    }
}

fn metadata_rules(out: &mut Vec<Violation>, value: &Value, path: &str) {
    let Some(map) = value.as_object() else {
        out.push(Violation::reject(
            path,
            "EXPECTED_OBJECT",
            "Metadata is a map of strings.",
        ));
        return;
    };
    if map.len() > 10 {
        out.push(Violation::reject(
            path,
            "INVALID_VALUE",
            format!(
                "An application can have up to 10 metadata entries; there are {}.",
                map.len()
            ),
        ));
    }
    for (key, v) in map {
        let kpath = format!("{path}.{key}");
        let key_ok = !key.is_empty()
            && chars(key) <= 60
            && key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !key_ok {
            out.push(Violation::reject(
                &kpath,
                "INVALID_VALUE",
                "Metadata keys must be 1–60 characters of [a-zA-Z0-9_-].",
            ));
        }
        match v {
            Value::String(s) if chars(s) > 255 => out.push(Violation::reject(
                &kpath,
                "VALUE_TOO_LONG",
                "Metadata values have a maximum length of 255 characters.",
            )),
            Value::String(_) => {}
            _ => out.push(Violation::reject(
                &kpath,
                "EXPECTED_STRING",
                "Metadata values are strings.",
            )),
        }
    }
}

fn money_rules(out: &mut Vec<Violation>, money: &Value, path: &str, currency: Option<&str>) {
    match present(money, "amount") {
        None => out.push(Violation::reject(
            &format!("{path}.amount"),
            "MISSING_REQUIRED_PARAMETER",
            "Money needs an `amount` in the currency's smallest unit.",
        )),
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => {
            if n.as_i64().is_some_and(|a| a < 0) {
                out.push(Violation::reject(
                    &format!("{path}.amount"),
                    "VALUE_TOO_LOW",
                    "The amount must not be negative.",
                ));
            }
        }
        Some(_) => out.push(Violation::reject(
            &format!("{path}.amount"),
            "EXPECTED_INTEGER",
            "The amount is an integer in the currency's smallest unit.",
        )),
    }
    match present(money, "currency") {
        None => out.push(Violation::reject(
            &format!("{path}.currency"),
            "MISSING_REQUIRED_PARAMETER",
            "Money needs a `currency`.",
        )),
        Some(Value::String(c)) => {
            if c.len() != 3 || !c.bytes().all(|b| b.is_ascii_uppercase()) {
                out.push(Violation::reject(
                    &format!("{path}.currency"),
                    "INVALID_ENUM_VALUE",
                    format!("{c:?} is not an ISO 4217 currency code."),
                ));
            } else if let Some(want) = currency
                && c != want
            {
                out.push(Violation::reject(
                    &format!("{path}.currency"),
                    "INVALID_VALUE",
                    format!("The currency {c} does not match the location's currency {want}."),
                ));
            }
        }
        Some(_) => out.push(Violation::reject(
            &format!("{path}.currency"),
            "EXPECTED_STRING",
            "Expected a string.",
        )),
    }
}
