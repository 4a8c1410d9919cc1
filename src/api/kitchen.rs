//! An order's fulfillment and payment on the wire (API.md "Orders the kitchen sees"): what a
//! client sends, what an order answers, and the step from one to the domain's checked types.

use poem_openapi::{Enum, Object};

use super::formats::Timestamp;
use super::text::Text;
use crate::Result;
use crate::domain::{
    Fulfillment, FulfillmentType, Millis, Payment, PaymentMethod, PaymentStatus, parse_rfc3339,
};

/// How the order leaves the kitchen: `pickup` (the default), `delivery` (needs
/// `delivery_address`) or `dine_in` (needs `table`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Enum)]
#[oai(rename = "FulfillmentType", rename_all = "snake_case")]
pub enum FulfillmentKind {
    #[default]
    Pickup,
    Delivery,
    DineIn,
}

/// Whether the customer paid MenuMaker (`paid`, the default) or pays on collection (`unpaid`:
/// the POS ticket tells staff to collect the total).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Enum)]
#[oai(rename = "PaymentStatus", rename_all = "lowercase")]
pub enum PaymentState {
    #[default]
    Paid,
    Unpaid,
}

/// How the customer paid (or will pay); `other` by default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Enum)]
#[oai(rename = "PaymentMethod", rename_all = "lowercase")]
pub enum PayMethod {
    Card,
    Upi,
    Wallet,
    Cash,
    #[default]
    Other,
}

/// How and when the order leaves the kitchen. Absent: a pickup as soon as possible.
#[derive(Debug, Object)]
#[oai(rename = "FulfillmentRequest")]
pub struct FulfillmentIn {
    // Optional rather than `default`: a default on an enum field wraps it in an `allOf`, which
    // openapi-python-client refuses.
    #[oai(rename = "type")]
    pub kind: Option<FulfillmentKind>,
    /// When to have the order ready (RFC 3339): in the future, at most 7 days ahead. Absent or
    /// null: as soon as possible.
    #[oai(nullable)]
    pub pickup_at: Option<Timestamp>,
    /// Where to deliver: required for `delivery`, only for it; at most 500 characters.
    #[oai(nullable, validator(max_length = 500))]
    pub delivery_address: Option<Text>,
    /// The table: required for `dine_in`, only for it; at most 20 characters.
    #[oai(nullable, validator(max_length = 20))]
    pub table: Option<Text>,
}

/// How the order was paid. Absent: paid, method `other`.
#[derive(Debug, Object)]
#[oai(rename = "PaymentRequest")]
pub struct PaymentIn {
    pub status: Option<PaymentState>,
    pub method: Option<PayMethod>,
}

/// How and when the order leaves the kitchen, with the defaults filled in.
#[derive(Debug, Object)]
#[oai(rename = "Fulfillment")]
pub struct FulfillmentOut {
    #[oai(rename = "type")]
    pub kind: FulfillmentKind,
    /// When to have it ready; null: as soon as possible.
    #[oai(nullable)]
    pub pickup_at: Option<Timestamp>,
    #[oai(nullable)]
    pub delivery_address: Option<String>,
    #[oai(nullable)]
    pub table: Option<String>,
}

/// How the order was paid.
#[derive(Debug, Object)]
#[oai(rename = "Payment")]
pub struct PaymentOut {
    pub status: PaymentState,
    pub method: PayMethod,
}

/// The checked fulfillment of a request (the default when it has none).
pub fn fulfillment(given: Option<&FulfillmentIn>, now: Millis) -> Result<Fulfillment> {
    let Some(given) = given else {
        return Ok(Fulfillment::default());
    };
    let pickup_at = given
        .pickup_at
        .as_ref()
        .map(|t| parse_rfc3339("fulfillment.pickup_at", &t.0))
        .transpose()?;
    Fulfillment::check(
        given.kind.unwrap_or_default().into(),
        pickup_at,
        given.delivery_address.as_ref().map(Text::as_str),
        given.table.as_ref().map(Text::as_str),
        now,
    )
}

/// The payment of a request (the default when it has none).
pub fn payment(given: Option<&PaymentIn>) -> Payment {
    given.map_or_else(Payment::default, |p| Payment {
        status: p.status.unwrap_or_default().into(),
        method: p.method.unwrap_or_default().into(),
    })
}

impl From<Fulfillment> for FulfillmentOut {
    fn from(f: Fulfillment) -> Self {
        FulfillmentOut {
            kind: f.kind.into(),
            pickup_at: f.pickup_at.map(Timestamp::from),
            delivery_address: f.delivery_address,
            table: f.table,
        }
    }
}

impl From<Payment> for PaymentOut {
    fn from(p: Payment) -> Self {
        PaymentOut {
            status: p.status.into(),
            method: p.method.into(),
        }
    }
}

/// Both directions between a wire enum and its domain twin, variant by variant.
macro_rules! twins {
    ($wire:ident <-> $domain:ident { $($variant:ident),+ }) => {
        impl From<$wire> for $domain {
            fn from(v: $wire) -> Self {
                match v { $($wire::$variant => $domain::$variant),+ }
            }
        }
        impl From<$domain> for $wire {
            fn from(v: $domain) -> Self {
                match v { $($domain::$variant => $wire::$variant),+ }
            }
        }
    };
}

twins!(FulfillmentKind <-> FulfillmentType { Pickup, Delivery, DineIn });
twins!(PaymentState <-> PaymentStatus { Paid, Unpaid });
twins!(PayMethod <-> PaymentMethod { Card, Upi, Wallet, Cash, Other });
