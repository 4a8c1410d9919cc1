//! Money: integers in minor units everywhere inside possync; major units only at the edge of a
//! provider that wants them (Zoho `rate`, Dine `price`), by the currency's ISO 4217 exponent.

use serde_json::{Number, Value};

/// `amount` minor units as a decimal string in major units: 30000 INR → `300.00`,
/// 500 JPY → `500`, 1234 KWD → `1.234`.
pub fn major_units(amount: i64, exponent: u8) -> String {
    if exponent == 0 {
        return amount.to_string();
    }
    let scale = 10i64.pow(u32::from(exponent));
    let sign = if amount < 0 { "-" } else { "" };
    let abs = amount.unsigned_abs();
    let scale = scale.unsigned_abs();
    format!(
        "{sign}{}.{:0width$}",
        abs / scale,
        abs % scale,
        width = usize::from(exponent)
    )
}

/// The same amount as a JSON number (the decimal string read once at the edge; JSON numbers
/// print in their shortest exact form, so 1999 paise is `19.99`).
pub fn major_units_json(amount: i64, exponent: u8) -> Value {
    if exponent == 0 {
        return Value::from(amount);
    }
    let text = major_units(amount, exponent);
    text.parse::<f64>()
        .ok()
        .and_then(Number::from_f64)
        .map_or(Value::String(text), Value::Number)
}

/// A POS's amount in major units (a JSON number or numeric string such as `615`, `615.5` or
/// `"615.00"`) as exact minor units: `None` when it is not a plain decimal, or has more decimals
/// than the currency's exponent (then it cannot equal any amount possync sent).
pub fn minor_units(value: &Value, exponent: u8) -> Option<i64> {
    let text = match value {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.trim().to_string(),
        _ => return None,
    };
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.as_str()),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !all_digits(whole) || !all_digits(fraction) {
        return None;
    }
    // Trailing zeros are exact (`615.0` in a two-decimal currency); other extra digits are not.
    let fraction = fraction.trim_end_matches('0');
    let width = usize::from(exponent);
    if fraction.len() > width {
        return None;
    }
    let scale = 10i64.checked_pow(u32::from(exponent))?;
    let whole: i64 = whole.parse().ok()?;
    let fraction: i64 = if fraction.is_empty() {
        0
    } else {
        format!("{fraction:0<width$}").parse().ok()?
    };
    let amount = whole.checked_mul(scale)?.checked_add(fraction)?;
    Some(if negative { -amount } else { amount })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Currency;
    use serde_json::json;

    #[test]
    fn converts_minor_units_by_the_currency_exponent() {
        for (amount, code, text, json) in [
            (30000, "INR", "300.00", "300.0"),
            (1999, "INR", "19.99", "19.99"),
            (5, "INR", "0.05", "0.05"),
            (0, "INR", "0.00", "0.0"),
            (500, "JPY", "500", "500"),
            (1234, "KWD", "1.234", "1.234"),
            (1000, "BHD", "1.000", "1.0"),
            (123456789, "USD", "1234567.89", "1234567.89"),
            (-250, "EUR", "-2.50", "-2.5"),
        ] {
            let exponent = Currency::parse(code).unwrap().exponent();
            assert_eq!(major_units(amount, exponent), text, "{amount} {code}");
            assert_eq!(
                major_units_json(amount, exponent).to_string(),
                json,
                "{amount} {code}"
            );
        }
    }

    #[test]
    fn reads_major_units_back_exactly_or_not_at_all() {
        for (value, exponent, want) in [
            (json!(615), 2, Some(61500)),
            (json!(615.0), 2, Some(61500)),
            (json!(615.5), 2, Some(61550)),
            (json!(19.99), 2, Some(1999)),
            (json!(0.05), 2, Some(5)),
            (json!("615.00"), 2, Some(61500)),
            (json!(" 615.10 "), 2, Some(61510)),
            (json!(500), 0, Some(500)),
            (json!(500.0), 0, Some(500)),
            (json!(1.234), 3, Some(1234)),
            (json!(-2.5), 2, Some(-250)),
            (json!(615.005), 2, None),
            (json!(0.5), 0, None),
            (json!("6.15e2"), 2, None),
            (json!("abc"), 2, None),
            (json!(""), 2, None),
            (json!(".5"), 2, None),
            (json!(null), 2, None),
            (json!(true), 2, None),
            (json!("99999999999999999999"), 2, None),
        ] {
            assert_eq!(minor_units(&value, exponent), want, "{value} ^{exponent}");
        }
        // What possync sends comes back to the same amount.
        for amount in [0, 1, 5, 1999, 61500, 123_456_789] {
            assert_eq!(minor_units(&major_units_json(amount, 2), 2), Some(amount));
        }
    }
}
