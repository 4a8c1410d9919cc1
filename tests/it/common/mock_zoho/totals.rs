//! A sales order's money as Zoho computes it (§F4b): the lines' sub total, minus an
//! entity-level discount taken before tax, plus the shipping charge and the adjustment, plus any
//! tax the organisation adds on its own. Each amount possync sends is checked: a number in major
//! units no finer than the currency, ≥ 0 (the adjustment may be any sign in Zoho; possync's is a
//! tip), a discount no larger than the sub total and sent with its type.

use serde_json::{Value, json};

use super::MockZoho;
use super::helpers::{decimals, round_to};

/// The order-level amounts of a request, and the total they make.
pub(super) struct Money {
    pub(super) discount: f64,
    pub(super) shipping_charge: f64,
    pub(super) adjustment: f64,
    pub(super) total: f64,
}

/// Read and check the order-level money of `body` over `sub_total`; what breaks §F4b goes to
/// `bad`.
pub(super) fn money(
    body: &Value,
    sub_total: f64,
    exponent: usize,
    unasked_tax: f64,
    bad: &mut Vec<String>,
) -> Money {
    let mut amount = |field: &str| match body.get(field) {
        None => 0.0,
        Some(Value::Number(n)) if n.as_f64().is_some_and(|x| x >= 0.0) => {
            if decimals(n) > exponent {
                bad.push(format!(
                    "{field} {n} has more decimals than the currency allows: minor units?"
                ));
            }
            n.as_f64().unwrap_or(0.0)
        }
        Some(other) => {
            bad.push(format!("{field} {other} is not a non-negative number"));
            0.0
        }
    };
    let discount = amount("discount");
    let shipping_charge = amount("shipping_charge");
    let adjustment = amount("adjustment");
    if body.get("discount").is_some() {
        if body["discount_type"] != "entity_level" {
            bad.push(format!(
                "discount without discount_type \"entity_level\" ({})",
                body["discount_type"]
            ));
        }
        if body["is_discount_before_tax"] != true {
            bad.push("discount without is_discount_before_tax: true".into());
        }
        if discount > sub_total + 1e-9 {
            bad.push(format!(
                "discount {discount} is above the sub total {sub_total}"
            ));
        }
    }
    if body.get("adjustment").is_some() && body["adjustment_description"] != "Tip" {
        bad.push(format!(
            "adjustment without adjustment_description \"Tip\" ({})",
            body["adjustment_description"]
        ));
    }
    let total = round_to(
        sub_total - discount + shipping_charge + adjustment + unasked_tax,
        exponent,
    );
    Money {
        discount,
        shipping_charge,
        adjustment,
        total,
    }
}

/// The money fields of the sales order Zoho answers.
pub(super) fn answer_fields(
    money: &Money,
    body: &Value,
    unasked_tax: f64,
) -> Vec<(&'static str, Value)> {
    vec![
        ("discount", json!(money.discount)),
        ("discount_amount", json!(money.discount)),
        ("shipping_charge", json!(money.shipping_charge)),
        ("adjustment", json!(money.adjustment)),
        (
            "adjustment_description",
            json!(body["adjustment_description"].as_str().unwrap_or_default()),
        ),
        ("tax_total", json!(unasked_tax)),
        ("total", json!(money.total)),
    ]
}

impl MockZoho {
    /// Add `amount` (major units) of tax to every sales order from now on, whatever the request
    /// says (an organisation tax possync was not told of): Zoho's total then differs.
    pub fn add_unasked_tax(&self, amount: f64) {
        self.inner.lock().unasked_tax = amount;
    }
}
