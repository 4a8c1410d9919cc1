//! Closed sets of values; each matches a CHECK constraint in schema.sql. Every one is written
//! with `string_enum!`, so each has one spelling for the database, the wire and messages.

use std::fmt;
use std::str::FromStr;

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};

macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident {
        $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)?
    }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored and wire spelling.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(format!(
                        "must be one of {}",
                        [$($text),+].join(", ")
                    )),
                }
            }
        }

        impl ToSql for $name {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(ToSqlOutput::from(self.as_str()))
            }
        }

        impl FromSql for $name {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
                value
                    .as_str()?
                    .parse()
                    .map_err(|e: String| FromSqlError::Other(e.into()))
            }
        }
    };
}

string_enum! {
    /// A point-of-sale system possync can push orders into.
    ProviderKind { Square => "square", Zoho => "zoho", Dine => "dine" }
}

string_enum! {
    /// Where a sync log is in its life.
    SyncStatus {
        Pending => "pending",
        Syncing => "syncing",
        Retry => "retry",
        Success => "success",
        Failed => "failed",
    }
}

string_enum! {
    /// What a sync log does in the POS: make the order there, or cancel it there.
    SyncAction { Create => "create", Cancel => "cancel" }
}

string_enum! {
    /// Whether an order still stands (`open`) or the seller canceled it.
    OrderStatus { Open => "open", Canceled => "canceled" }
}

string_enum! {
    /// How an order leaves the kitchen (API.md "Orders the kitchen sees").
    FulfillmentType { Pickup => "pickup", Delivery => "delivery", DineIn => "dine_in" }
}

string_enum! {
    /// Whether the customer has paid MenuMaker, or pays at the counter.
    PaymentStatus { Paid => "paid", Unpaid => "unpaid" }
}

string_enum! {
    /// How the customer paid (or will pay).
    PaymentMethod {
        Card => "card",
        Upi => "upi",
        Wallet => "wallet",
        Cash => "cash",
        Other => "other",
    }
}

string_enum! {
    /// What a notification is about (API.md).
    NotificationKind {
        SyncFailing => "sync_failing",
        SyncFailed => "sync_failed",
        ReconnectRequired => "reconnect_required",
        TokenExpiring => "token_expiring",
        PossibleDuplicate => "possible_duplicate",
        CancelByHand => "cancel_by_hand",
        CanceledInPos => "canceled_in_pos",
        PosUnreachable => "pos_unreachable",
    }
}

string_enum! {
    /// Where a notification is delivered besides the in-app list.
    Channel { Email => "email", WhatsApp => "whatsapp" }
}

string_enum! {
    /// Where one channel delivery of a notification is.
    DeliveryStatus { Pending => "pending", Sent => "sent", Failed => "failed" }
}

string_enum! {
    /// What a bearer token is for.
    TokenKind {
        /// From a login; expires after `--session-ttl`.
        Session => "session",
        /// Long-lived, made by `possync token create` for machine clients.
        Api => "api",
    }
}

string_enum! {
    /// How one push attempt ended, as its `sync_attempts` row records it.
    AttemptOutcome {
        Success => "success",
        Retry => "retry",
        RateLimited => "rate_limited",
        AuthFailed => "auth_failed",
        Failed => "failed",
        Ambiguous => "ambiguous",
    }
}

string_enum! {
    /// One call of a push to its POS. A push is a short sequence of steps, each idempotent,
    /// each with its own result stored the moment it is known (DESIGN.md Part two).
    Step {
        /// Create the order (every POS).
        CreateOrder => "create_order",
        /// Record how the order was paid, so the POS shows it (Square's CreatePayment).
        RecordPayment => "record_payment",
        /// Mark an order whose total is 0 paid, so the POS shows it (Square's PayOrder with no
        /// payments: Square takes no payment of 0).
        PayOrder => "pay_order",
        /// Cancellation: give back the payment possync recorded (Square's RefundPayment).
        RefundPayment => "refund_payment",
        /// Cancellation: read the order as the POS holds it now (Square's RetrieveOrder, for
        /// its version and fulfillments; Zoho's lookup by reference number, when a push that
        /// got no answer left no sales order id on record).
        ReadOrder => "read_order",
        /// Cancellation: cancel the order in the POS (Square's UpdateOrder to `CANCELED`, Zoho's
        /// void; Dine POS has no way to).
        CancelOrder => "cancel_order",
        /// Cancellation, when Square refuses `CANCELED` on the order itself: cancel its
        /// fulfillments alone (UpdateOrder without the order's `state`; providers §F6).
        CancelFulfillment => "cancel_fulfillment",
    }
}

impl AttemptOutcome {
    /// Whether another attempt of the log follows (the retries-scheduled metric counts these).
    pub fn is_retried(self) -> bool {
        matches!(
            self,
            AttemptOutcome::Retry | AttemptOutcome::RateLimited | AttemptOutcome::Ambiguous
        )
    }
}

impl ProviderKind {
    /// The name a seller knows it by, for messages.
    pub fn display_name(self) -> &'static str {
        match self {
            ProviderKind::Square => "Square",
            ProviderKind::Zoho => "Zoho Inventory",
            ProviderKind::Dine => "Dine POS",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_value_and_rejects_others() {
        for p in ProviderKind::ALL {
            assert_eq!(p.as_str().parse::<ProviderKind>().unwrap(), *p);
        }
        for s in SyncStatus::ALL {
            assert_eq!(s.as_str().parse::<SyncStatus>().unwrap(), *s);
        }
        for k in NotificationKind::ALL {
            assert_eq!(k.as_str().parse::<NotificationKind>().unwrap(), *k);
        }
        for a in SyncAction::ALL {
            assert_eq!(a.as_str().parse::<SyncAction>().unwrap(), *a);
        }
        for o in OrderStatus::ALL {
            assert_eq!(o.as_str().parse::<OrderStatus>().unwrap(), *o);
        }
        for f in FulfillmentType::ALL {
            assert_eq!(f.as_str().parse::<FulfillmentType>().unwrap(), *f);
        }
        for p in PaymentStatus::ALL {
            assert_eq!(p.as_str().parse::<PaymentStatus>().unwrap(), *p);
        }
        for m in PaymentMethod::ALL {
            assert_eq!(m.as_str().parse::<PaymentMethod>().unwrap(), *m);
        }
        for c in Channel::ALL {
            assert_eq!(c.as_str().parse::<Channel>().unwrap(), *c);
        }
        for d in DeliveryStatus::ALL {
            assert_eq!(d.as_str().parse::<DeliveryStatus>().unwrap(), *d);
        }
        for t in TokenKind::ALL {
            assert_eq!(t.as_str().parse::<TokenKind>().unwrap(), *t);
        }
        for s in Step::ALL {
            assert_eq!(s.as_str().parse::<Step>().unwrap(), *s);
        }
        for o in AttemptOutcome::ALL {
            assert_eq!(o.as_str().parse::<AttemptOutcome>().unwrap(), *o);
        }
        assert_eq!(
            "toast".parse::<ProviderKind>().unwrap_err(),
            "must be one of square, zoho, dine"
        );
        assert!("Square".parse::<ProviderKind>().is_err());
    }
}
