//! Body, number, date and id rules shared by the endpoints.

use serde_json::{Value, json};

use super::dispatch::zoho_error;
use super::state::State;
use crate::common::mock_http::{Request, Response};

/// The body of a POST: JSON with `Content-Type: application/json` (§B1), else 400 code 1038.
pub(super) fn json_body(st: &mut State, ctx: &str, req: &Request) -> Result<Value, Response> {
    let content_type = req.header("content-type").unwrap_or_default();
    if !content_type
        .to_ascii_lowercase()
        .starts_with("application/json")
    {
        st.problem(
            ctx,
            format!("Content-Type is {content_type:?}, not application/json"),
        );
    }
    match serde_json::from_slice::<Value>(&req.body) {
        Ok(value @ Value::Object(_)) => Ok(value),
        Ok(other) => {
            st.problem(ctx, format!("the body is not a JSON object: {other}"));
            Err(zoho_error(400, 1038, "JSON is not well formed"))
        }
        Err(e) => {
            st.problem(ctx, format!("the body is not JSON ({e})"));
            Err(zoho_error(400, 1038, "JSON is not well formed"))
        }
    }
}

/// Keys of `obj` that `allowed` does not list.
pub(super) fn unknown_keys(obj: &Value, allowed: &[String]) -> Vec<String> {
    obj.as_object()
        .map(|m| {
            m.keys()
                .filter(|k| !allowed.iter().any(|a| a == *k))
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}

/// Decimal places of a JSON number as written (`300.0` → 1, `300.5` → 1, `1.234` → 3, `500` → 0),
/// ignoring trailing zeros (an exponent counts as too many).
pub fn decimals(n: &serde_json::Number) -> usize {
    let text = n.to_string();
    if text.contains(['e', 'E']) {
        return 99;
    }
    match text.split_once('.') {
        Some((_, frac)) => frac.trim_end_matches('0').len(),
        None => 0,
    }
}

/// ISO 4217 exponent of the currencies the tests use.
pub fn currency_exponent(code: &str) -> usize {
    match code {
        "JPY" | "KRW" | "VND" | "CLP" | "ISK" | "UGX" | "XAF" | "XOF" => 0,
        "KWD" | "BHD" | "OMR" | "JOD" | "TND" | "LYD" | "IQD" => 3,
        _ => 2,
    }
}

pub(super) fn valid_date(s: &str) -> bool {
    s.len() == 10 && s.parse::<jiff::civil::Date>().is_ok()
}

pub(super) fn page_context(_count: usize, report: &str) -> Value {
    json!({
        "page": 1, "per_page": 200, "has_more_page": false,
        "report_name": report, "applied_filter": "Status.All",
        "sort_column": "created_time", "sort_order": "D",
    })
}

pub(super) fn round_to(x: f64, exponent: usize) -> f64 {
    let scale = 10f64.powi(i32::try_from(exponent).unwrap_or(2));
    (x * scale).round() / scale
}

/// Zoho's timestamp style: `2026-11-25T10:15:30+0530`.
pub(super) fn now_zoho() -> String {
    jiff::Zoned::now()
        .with_time_zone(jiff::tz::TimeZone::get("Asia/Kolkata").unwrap_or(jiff::tz::TimeZone::UTC))
        .strftime("%Y-%m-%dT%H:%M:%S%z")
        .to_string()
}

pub(super) fn hex(bytes: usize) -> String {
    let mut raw = vec![0u8; bytes];
    getrandom::fill(&mut raw).expect("random bytes");
    raw.iter().map(|b| format!("{b:02x}")).collect()
}
