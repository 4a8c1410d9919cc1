//! Closed sets of values; each matches a CHECK constraint in schema.sql.

use std::fmt;
use std::str::FromStr;

macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }

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
        assert_eq!(
            "toast".parse::<ProviderKind>().unwrap_err(),
            "must be one of square, zoho, dine"
        );
        assert!("Square".parse::<ProviderKind>().is_err());
    }
}
