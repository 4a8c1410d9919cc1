//! Reading a POS on the seller's behalf: its sellable items (for item mapping) and, for Square,
//! its locations (to check a `location_id`). Blocking, like every provider call.

use crate::crypto::Secret;
use crate::domain::Currency;
use crate::store::Integration;
pub use crate::store::catalog::CatalogItem;

/// A place of business the POS knows (Square locations).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub id: String,
    pub name: String,
    /// Whether it can take orders (Square `status: ACTIVE`).
    pub active: bool,
}

/// Why a catalog could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CatalogError {
    /// The POS answered 401/403: a token refresh may cure it.
    Unauthorized(String),
    /// Any other failure: no answer, 5xx, a refusal, an answer that is not a catalog. The text
    /// says what the POS answered.
    Failed(String),
}

impl CatalogError {
    /// What went wrong, in words for the seller.
    pub fn message(&self) -> &str {
        match self {
            CatalogError::Unauthorized(m) | CatalogError::Failed(m) => m,
        }
    }
}

/// A POS whose catalog possync can read.
pub trait PosCatalog: Send + Sync {
    /// Every sellable entry, all pages read. Blocking.
    fn items(
        &self,
        integration: &Integration,
        access_token: &Secret,
        currency: Currency,
    ) -> Result<Vec<CatalogItem>, CatalogError>;

    /// The POS's locations, when it has such a list (Square); `None` when it has not. Blocking.
    fn locations(&self, _access_token: &Secret) -> Option<Result<Vec<Location>, String>> {
        None
    }
}

/// A decimal amount in major units (Zoho's `rate: 12.5`) in minor units of `currency`.
pub fn minor_units(amount: f64, currency: Currency) -> Option<i64> {
    let scaled = (amount * 10f64.powi(i32::from(currency.exponent()))).round();
    (0.0..9.0e15).contains(&scaled).then_some(scaled as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_become_minor_units_of_the_currency() {
        let jpy = Currency::parse("JPY").unwrap();
        let kwd = Currency::parse("KWD").unwrap();
        for (amount, currency, want) in [
            (300.0, Currency::INR, Some(30000)),
            (12.5, Currency::INR, Some(1250)),
            (0.1 + 0.2, Currency::INR, Some(30)),
            (450.0, jpy, Some(450)),
            (1.234, kwd, Some(1234)),
            (-1.0, Currency::INR, None),
            (f64::NAN, Currency::INR, None),
        ] {
            assert_eq!(minor_units(amount, currency), want, "{amount}");
        }
    }
}
