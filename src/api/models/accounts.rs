//! A seller account as the wire shows it.

use poem_openapi::Object;

use crate::api::formats::{Id, Timestamp};
use crate::store;

/// A seller account.
#[derive(Debug, Object)]
#[oai(rename = "Seller")]
pub struct SellerOut {
    /// Seller id (UUID).
    pub id: Id,
    /// Login email, lower-cased.
    pub email: String,
    /// Display name.
    #[oai(nullable)]
    pub name: Option<String>,
    /// RFC 3339, UTC.
    pub created_at: Timestamp,
}

impl From<store::Seller> for SellerOut {
    fn from(s: store::Seller) -> Self {
        SellerOut {
            id: Id::of(s.id),
            email: s.email,
            name: s.name,
            created_at: s.created_at.into(),
        }
    }
}

/// `data` of register and me.
#[derive(Debug, Object)]
pub struct SellerData {
    pub seller: SellerOut,
}

/// `data` of login.
#[derive(Debug, Object)]
pub struct LoginData {
    /// The bearer token. Shown once; send it as `Authorization: Bearer <token>`.
    pub token: String,
    /// When the token stops working (RFC 3339, UTC).
    pub expires_at: Timestamp,
    pub seller: SellerOut,
}
