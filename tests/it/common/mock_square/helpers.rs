//! Ids, timestamps and money arithmetic shared by the endpoints.

use serde_json::{Value, json};

use super::BASE62;

pub(super) fn random_string(len: usize) -> String {
    let mut bytes = vec![0u8; len];
    getrandom::fill(&mut bytes).expect("random bytes");
    bytes
        .iter()
        .map(|b| BASE62[usize::from(*b) % BASE62.len()] as char)
        .collect()
}

pub(super) fn rfc3339_ms(at: jiff::Timestamp) -> String {
    at.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

pub(super) fn rfc3339_seconds(at: jiff::Timestamp) -> String {
    at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

pub(super) fn now_rfc3339_ms() -> String {
    rfc3339_ms(jiff::Timestamp::now())
}

pub(super) fn days_from_now(days: i64) -> jiff::Timestamp {
    jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24 * days)
}

pub(super) fn money(amount: i64, currency: &str) -> Value {
    json!({"amount": amount, "currency": currency})
}

pub(super) fn first_currency(value: &Value) -> Option<String> {
    match value {
        Value::Object(map) => {
            if let (Some(Value::String(c)), true) =
                (map.get("currency"), map.contains_key("amount"))
            {
                return Some(c.clone());
            }
            map.values().find_map(first_currency)
        }
        Value::Array(items) => items.iter().find_map(first_currency),
        _ => None,
    }
}

/// `"12"` → (12, 0), `"2.25"` → (225, 2); digits with at most one dot.
pub(super) fn parse_decimal(s: &str) -> Option<(i128, u32)> {
    let (whole, frac) = match s.split_once('.') {
        Some((w, f)) => (w, f),
        None => (s, ""),
    };
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || (s.contains('.') && !digits(frac)) {
        return None;
    }
    let mantissa: i128 = format!("{whole}{frac}").parse().ok()?;
    Some((mantissa, u32::try_from(frac.len()).ok()?))
}

/// `amount × quantity` in integer minor units, rounded half away from zero.
pub(super) fn times(amount: i64, (mantissa, scale): (i128, u32)) -> i64 {
    let product = i128::from(amount) * mantissa;
    let divisor = 10i128.pow(scale);
    let rounded = if product >= 0 {
        (product + divisor / 2) / divisor
    } else {
        (product - divisor / 2) / divisor
    };
    i64::try_from(rounded).unwrap_or(i64::MAX)
}
