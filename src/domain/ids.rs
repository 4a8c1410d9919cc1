//! Ids of the things possync keeps, one type each, so an order id cannot be passed where a sync
//! log id belongs. Each is the lower-case UUID text stored in its table, and a plain string on
//! the wire. They do not deref to `&str`: where text is really needed, `as_str()` says so.

use std::fmt;

use rusqlite::types::{FromSql, FromSqlResult, ToSql, ToSqlOutput, ValueRef};

macro_rules! string_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        /// A path or query parameter parsed as a UUID, in the lower-case form the tables keep.
        impl From<uuid::Uuid> for $name {
            fn from(id: uuid::Uuid) -> Self {
                $name(id.to_string())
            }
        }

        impl From<String> for $name {
            fn from(id: String) -> Self {
                $name(id)
            }
        }

        impl From<&str> for $name {
            fn from(id: &str) -> Self {
                $name(id.to_string())
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl ToSql for $name {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(ToSqlOutput::from(self.0.as_str()))
            }
        }

        impl FromSql for $name {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
                Ok($name(value.as_str()?.to_string()))
            }
        }
    };
}

string_id! {
    /// A sync log: one push of one order to the POS.
    SyncLogId
}

string_id! {
    /// An order from MenuMaker.
    OrderId
}

string_id! {
    /// A business's connection to one POS.
    IntegrationId
}

string_id! {
    /// A seller's business (a restaurant).
    BusinessId
}
