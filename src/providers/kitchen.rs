//! The words every POS ticket carries about how an order leaves the kitchen and whether its money
//! is still to be collected (providers §F3, §F4b, §F5). Pure: the same order gives the same text.

use crate::domain::money::major_units;
use crate::domain::{FulfillmentType, Millis, Order};

/// `"Delivery: <address>"` or `"Table <table>"`; `None` for a pickup.
pub fn destination(order: &Order) -> Option<String> {
    let f = &order.fulfillment;
    match f.kind {
        FulfillmentType::Pickup => None,
        FulfillmentType::Delivery => Some(format!(
            "Delivery: {}",
            f.delivery_address.as_deref().unwrap_or_default()
        )),
        FulfillmentType::DineIn => {
            Some(format!("Table {}", f.table.as_deref().unwrap_or_default()))
        }
    }
}

/// The order's total in major units, without the currency: `615.00`.
pub fn total_text(order: &Order) -> String {
    major_units(order.total, order.currency.exponent())
}

/// `"UNPAID: collect <total>"` for an order still to be paid.
pub fn unpaid_marker(order: &Order) -> Option<String> {
    order
        .payment
        .is_unpaid()
        .then(|| format!("UNPAID: collect {}", total_text(order)))
}

/// `YYYY-MM-DD HH:MM` in the business's time zone (UTC when the zone is unknown).
pub fn local_time(at: Millis, timezone: &str) -> String {
    let tz = jiff::tz::TimeZone::get(timezone).unwrap_or(jiff::tz::TimeZone::UTC);
    jiff::Timestamp::from_millisecond(at)
        .map(|ts| ts.to_zoned(tz).strftime("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

/// The start of a Dine or Zoho note (§F5, §F4b): `"Pickup ASAP"`, `"Pickup at <local time>"`,
/// `"Delivery: <address>"` or `"Table <table>"` (these two with `", ready at <local time>"`
/// when a time was given), then `". UNPAID: collect <total>"` for an unpaid order.
pub fn note_head(order: &Order, timezone: &str) -> String {
    let at = order.fulfillment.pickup_at.map(|t| local_time(t, timezone));
    let mut head = match (destination(order), at) {
        (None, None) => "Pickup ASAP".to_string(),
        (None, Some(at)) => format!("Pickup at {at}"),
        (Some(place), None) => place,
        (Some(place), Some(at)) => format!("{place}, ready at {at}"),
    };
    if let Some(marker) = unpaid_marker(order) {
        head.push_str(". ");
        head.push_str(&marker);
    }
    head
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::domain::{
        Charges, Currency, Fulfillment, OrderItem, Payment, PaymentMethod, PaymentStatus,
    };

    /// 2 × Paneer at 30000 for Rahul, with `fulfillment` and `payment`, discount 5000, delivery
    /// fee 4000, tip 2500: total 61500 (615.00 INR).
    pub(crate) fn kitchen_order(fulfillment: Fulfillment, payment: Payment) -> Order {
        Order {
            id: "0193a1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b".into(),
            business_id: "b".into(),
            customer_name: "Rahul Kumar".into(),
            customer_phone: Some("+919876543210".into()),
            special_instructions: Some("Ring twice".into()),
            currency: Currency::INR,
            items: vec![OrderItem {
                dish_id: "dish-paneer".into(),
                name: "Paneer Butter Masala".into(),
                quantity: 2,
                unit_price: 30000,
                note: None,
            }],
            subtotal: 60000,
            charges: Charges {
                discount: 5000,
                delivery_fee: 4000,
                tip: 2500,
            },
            total: 61500,
            fulfillment,
            payment,
            created_at: 0,
            life: Default::default(),
            is_test: false,
        }
    }

    pub(crate) fn fulfillment(
        kind: FulfillmentType,
        pickup_at: Option<Millis>,
        place: Option<&str>,
    ) -> Fulfillment {
        Fulfillment {
            kind,
            pickup_at,
            delivery_address: (kind == FulfillmentType::Delivery)
                .then(|| place.unwrap_or_default().to_string()),
            table: (kind == FulfillmentType::DineIn).then(|| place.unwrap_or_default().to_string()),
        }
    }

    /// 2026-12-01T14:00:00Z: 19:30 in Kolkata.
    pub(crate) const AT: Millis = 1_796_133_600_000;

    #[test]
    fn the_note_head_says_how_and_when_and_what_to_collect() {
        use FulfillmentType::{Delivery, DineIn, Pickup};
        let paid = Payment::default();
        let unpaid = Payment {
            status: PaymentStatus::Unpaid,
            method: PaymentMethod::Cash,
        };
        for (f, payment, want) in [
            (fulfillment(Pickup, None, None), paid, "Pickup ASAP"),
            (
                fulfillment(Pickup, Some(AT), None),
                paid,
                "Pickup at 2026-12-01 19:30",
            ),
            (
                fulfillment(Delivery, None, Some("12 MG Road")),
                paid,
                "Delivery: 12 MG Road",
            ),
            (
                fulfillment(Delivery, Some(AT), Some("12 MG Road")),
                paid,
                "Delivery: 12 MG Road, ready at 2026-12-01 19:30",
            ),
            (fulfillment(DineIn, None, Some("T4")), paid, "Table T4"),
            (
                fulfillment(Pickup, None, None),
                unpaid,
                "Pickup ASAP. UNPAID: collect 615.00",
            ),
            (
                fulfillment(DineIn, None, Some("T4")),
                unpaid,
                "Table T4. UNPAID: collect 615.00",
            ),
        ] {
            let order = kitchen_order(f.clone(), payment);
            assert_eq!(note_head(&order, "Asia/Kolkata"), want, "{f:?} {payment:?}");
        }
        assert_eq!(local_time(AT, "Nowhere/Unknown"), "2026-12-01 14:00");
    }
}
