//! Businesses and their dishes as the wire shows them.

use poem_openapi::Object;

use super::PageInfo;
use crate::api::formats::{Id, Timestamp};
use crate::store;

/// A business (restaurant).
#[derive(Debug, Object)]
#[oai(rename = "Business")]
pub struct BusinessOut {
    pub id: Id,
    /// The owning seller.
    pub seller_id: Id,
    pub name: String,
    /// ISO 4217 code; prices are integers in its minor unit.
    pub currency: String,
    /// IANA time zone.
    pub timezone: String,
    /// Where failure emails go (else the seller's email).
    #[oai(nullable)]
    pub notification_email: Option<String>,
    /// WhatsApp number for alerts, E.164.
    #[oai(nullable)]
    pub whatsapp_number: Option<String>,
    pub whatsapp_enabled: bool,
    pub created_at: Timestamp,
}

impl From<store::Business> for BusinessOut {
    fn from(b: store::Business) -> Self {
        BusinessOut {
            id: Id::of(b.id),
            seller_id: Id::of(b.seller_id),
            name: b.name,
            currency: b.currency.code().to_string(),
            timezone: b.timezone,
            notification_email: b.notification_email,
            whatsapp_number: b.whatsapp_number,
            whatsapp_enabled: b.whatsapp_enabled,
            created_at: b.created_at.into(),
        }
    }
}

/// `data` holding one business.
#[derive(Debug, Object)]
pub struct BusinessData {
    pub business: BusinessOut,
}

/// A page of businesses.
#[derive(Debug, Object)]
pub struct BusinessList {
    pub businesses: Vec<BusinessOut>,
    #[oai(flatten)]
    pub page: PageInfo,
}

/// A dish on a business's menu.
#[derive(Debug, Object)]
#[oai(rename = "Dish")]
pub struct DishOut {
    pub id: Id,
    pub business_id: Id,
    pub name: String,
    /// Minor units of `currency` (30000 = ₹300.00).
    pub price: i64,
    pub currency: String,
    pub created_at: Timestamp,
}

impl From<store::Dish> for DishOut {
    fn from(d: store::Dish) -> Self {
        DishOut {
            id: Id::of(d.id),
            business_id: Id::of(d.business_id),
            name: d.name,
            price: d.price,
            currency: d.currency.code().to_string(),
            created_at: d.created_at.into(),
        }
    }
}

/// `data` holding one dish.
#[derive(Debug, Object)]
pub struct DishData {
    pub dish: DishOut,
}

/// A page of dishes.
#[derive(Debug, Object)]
pub struct DishList {
    pub dishes: Vec<DishOut>,
    #[oai(flatten)]
    pub page: PageInfo,
}
