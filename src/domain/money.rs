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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Currency;

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
}
