//! What the kitchen needs beside the lines (API.md "Orders the kitchen sees"): how the order
//! leaves the kitchen, how it was paid, and the order-level money. The checks are pure (the
//! clock comes in as `now`), so each rule has its table test.

use super::{FulfillmentType, Millis, PaymentMethod, PaymentStatus, limits, optional_bounded};
use crate::{Error, Result};

/// How far ahead a pickup time may lie: seven days.
pub const PICKUP_AHEAD_MAX_MS: Millis = 7 * 24 * 60 * 60 * 1000;

/// How the order leaves the kitchen, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fulfillment {
    pub kind: FulfillmentType,
    /// When to have it ready; `None` is as soon as possible.
    pub pickup_at: Option<Millis>,
    /// Where to deliver it (delivery orders only).
    pub delivery_address: Option<String>,
    /// The table it is served at (dine-in orders only).
    pub table: Option<String>,
}

impl Default for Fulfillment {
    /// A pickup, as soon as possible: what every order was before fulfillments existed.
    fn default() -> Self {
        Fulfillment {
            kind: FulfillmentType::Pickup,
            pickup_at: None,
            delivery_address: None,
            table: None,
        }
    }
}

impl Fulfillment {
    /// Check a fulfillment as a client gave it: a `pickup_at` in the future and at most seven
    /// days ahead, an address for a delivery and only there, a table for dine-in and only there.
    /// Blank text counts as absent. Each refusal names its field.
    pub fn check(
        kind: FulfillmentType,
        pickup_at: Option<Millis>,
        delivery_address: Option<&str>,
        table: Option<&str>,
        now: Millis,
    ) -> Result<Fulfillment> {
        if let Some(at) = pickup_at {
            if at <= now {
                return Err(Error::invalid(
                    "fulfillment.pickup_at",
                    "must be in the future (leave it out for as soon as possible)",
                ));
            }
            if at - now > PICKUP_AHEAD_MAX_MS {
                return Err(Error::invalid(
                    "fulfillment.pickup_at",
                    "must be at most 7 days ahead",
                ));
            }
        }
        let delivery_address = optional_bounded(
            "fulfillment.delivery_address",
            delivery_address,
            limits::DELIVERY_ADDRESS,
        )?;
        let table = optional_bounded("fulfillment.table", table, limits::TABLE)?;
        match (kind, &delivery_address, &table) {
            (FulfillmentType::Delivery, None, _) => {
                return Err(Error::invalid(
                    "fulfillment.delivery_address",
                    "is required for a delivery",
                ));
            }
            (FulfillmentType::DineIn, _, None) => {
                return Err(Error::invalid(
                    "fulfillment.table",
                    "is required for dine_in",
                ));
            }
            (FulfillmentType::Pickup | FulfillmentType::DineIn, Some(_), _) => {
                return Err(Error::invalid(
                    "fulfillment.delivery_address",
                    "is only for a delivery",
                ));
            }
            (FulfillmentType::Pickup | FulfillmentType::Delivery, _, Some(_)) => {
                return Err(Error::invalid("fulfillment.table", "is only for dine_in"));
            }
            _ => {}
        }
        Ok(Fulfillment {
            kind,
            pickup_at,
            delivery_address,
            table,
        })
    }
}

/// Whether the customer paid MenuMaker, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Payment {
    pub status: PaymentStatus,
    pub method: PaymentMethod,
}

impl Default for Payment {
    /// Paid, by a method MenuMaker did not say: what every order was before payments existed.
    fn default() -> Self {
        Payment {
            status: PaymentStatus::Paid,
            method: PaymentMethod::Other,
        }
    }
}

impl Payment {
    /// Whether staff must collect the money (the POS ticket says so).
    pub fn is_unpaid(self) -> bool {
        self.status == PaymentStatus::Unpaid
    }
}

/// The order-level money beside the lines, in minor units, each ≥ 0.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Charges {
    pub discount: i64,
    pub delivery_fee: i64,
    pub tip: i64,
}

impl Charges {
    /// The order's total: `subtotal − discount + delivery_fee + tip`. A negative amount, a
    /// discount above the subtotal, or a total beyond 64 bits is refused naming the field.
    pub fn total(self, subtotal: i64) -> Result<i64> {
        for (field, amount) in [
            ("discount", self.discount),
            ("delivery_fee", self.delivery_fee),
            ("tip", self.tip),
        ] {
            if amount < 0 {
                return Err(Error::invalid(field, "must be 0 or more"));
            }
        }
        if self.discount > subtotal {
            return Err(Error::invalid(
                "discount",
                format!("must not be above the subtotal ({subtotal})"),
            ));
        }
        (subtotal - self.discount)
            .checked_add(self.delivery_fee)
            .and_then(|t| t.checked_add(self.tip))
            .ok_or_else(|| Error::invalid("total", "the order total is too large"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Millis = 1_795_550_400_000;
    const HOUR: Millis = 60 * 60 * 1000;

    fn refusal(result: Result<impl std::fmt::Debug>) -> String {
        result.unwrap_err().to_string()
    }

    #[test]
    fn totals_subtract_the_discount_and_add_fee_and_tip() {
        let charges = |discount, delivery_fee, tip| Charges {
            discount,
            delivery_fee,
            tip,
        };
        for (subtotal, c, want) in [
            (60000, charges(0, 0, 0), 60000),
            (60000, charges(5000, 0, 0), 55000),
            (60000, charges(0, 4000, 2500), 66500),
            (60000, charges(5000, 4000, 2500), 61500),
            (60000, charges(60000, 0, 0), 0),
            (60000, charges(60000, 4000, 0), 4000),
            (0, charges(0, 0, 100), 100),
        ] {
            assert_eq!(c.total(subtotal).unwrap(), want, "{subtotal} {c:?}");
        }
        for (subtotal, c, field) in [
            (60000, charges(60001, 0, 0), "discount"),
            (0, charges(1, 0, 0), "discount"),
            (60000, charges(-1, 0, 0), "discount"),
            (60000, charges(0, -1, 0), "delivery_fee"),
            (60000, charges(0, 0, -1), "tip"),
            (i64::MAX, charges(0, 1, 0), "total"),
            (i64::MAX - 1, charges(0, 1, 1), "total"),
        ] {
            let text = refusal(c.total(subtotal));
            assert!(
                text.starts_with(&format!("{field}:")),
                "{subtotal} {c:?}: {text}"
            );
        }
        assert!(refusal(charges(60001, 0, 0).total(60000)).contains("60000"));
    }

    #[test]
    fn fulfillments_need_their_details_and_a_near_future_time() {
        use FulfillmentType::{Delivery, DineIn, Pickup};
        let ok = |kind, at, address, table| Fulfillment::check(kind, at, address, table, NOW);
        let asap = ok(Pickup, None, None, None).unwrap();
        assert_eq!(asap, Fulfillment::default());
        let later = ok(Pickup, Some(NOW + HOUR), None, None).unwrap();
        assert_eq!(later.pickup_at, Some(NOW + HOUR));
        let edge = ok(Pickup, Some(NOW + PICKUP_AHEAD_MAX_MS), None, None).unwrap();
        assert_eq!(edge.pickup_at, Some(NOW + PICKUP_AHEAD_MAX_MS));
        let delivery = ok(Delivery, None, Some("  12 MG Road, Bengaluru "), Some(" ")).unwrap();
        assert_eq!(
            delivery.delivery_address.as_deref(),
            Some("12 MG Road, Bengaluru")
        );
        assert_eq!(delivery.table, None, "blank is absent");
        let table = ok(DineIn, Some(NOW + 1), None, Some("T4")).unwrap();
        assert_eq!((table.kind, table.table.as_deref()), (DineIn, Some("T4")));

        let long_address = "a".repeat(501);
        let long_table = "t".repeat(21);
        for (kind, at, address, table, field, why) in [
            (Pickup, Some(NOW), None, None, "pickup_at", "future"),
            (Pickup, Some(NOW - HOUR), None, None, "pickup_at", "future"),
            (
                Pickup,
                Some(NOW + PICKUP_AHEAD_MAX_MS + 1),
                None,
                None,
                "pickup_at",
                "7 days",
            ),
            (Delivery, None, None, None, "delivery_address", "required"),
            (
                Delivery,
                None,
                Some("   "),
                None,
                "delivery_address",
                "required",
            ),
            (DineIn, None, None, None, "table", "required"),
            (
                Pickup,
                None,
                Some("12 MG Road"),
                None,
                "delivery_address",
                "only",
            ),
            (
                DineIn,
                None,
                Some("12 MG Road"),
                Some("T4"),
                "delivery_address",
                "only",
            ),
            (Pickup, None, None, Some("T4"), "table", "only"),
            (
                Delivery,
                None,
                Some("12 MG Road"),
                Some("T4"),
                "table",
                "only",
            ),
            (
                Delivery,
                None,
                Some(long_address.as_str()),
                None,
                "delivery_address",
                "500",
            ),
            (DineIn, None, None, Some(long_table.as_str()), "table", "20"),
        ] {
            let text = refusal(ok(kind, at, address, table));
            assert!(
                text.starts_with(&format!("fulfillment.{field}:")) && text.contains(why),
                "{kind} {at:?} {address:?} {table:?}: {text}"
            );
        }
    }

    #[test]
    fn payments_default_to_paid_by_another_method() {
        let p = Payment::default();
        assert_eq!(
            (p.status, p.method),
            (PaymentStatus::Paid, PaymentMethod::Other)
        );
        assert!(!p.is_unpaid());
        let unpaid = Payment {
            status: PaymentStatus::Unpaid,
            method: PaymentMethod::Cash,
        };
        assert!(unpaid.is_unpaid());
    }
}
