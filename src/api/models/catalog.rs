//! The POS catalog and the item mapping as the wire shows them: catalog pages, each dish's
//! mapping status with its suggestion, coverage, and what apply-suggestions takes and answers.

use poem_openapi::{Enum, Object};
use uuid::Uuid;

use super::{IntegrationOut, PageInfo};
use crate::api::formats::{Id, Timestamp};
use crate::catalog::mapping::{Coverage, DishMapping, MappingStatus};
use crate::store::catalog::CatalogItem;

/// One sellable entry of the POS catalog.
#[derive(Debug, Object)]
#[oai(rename = "CatalogItem")]
pub struct CatalogItemOut {
    /// What `item_mapping` takes: a Square ITEM_VARIATION id, a Zoho `item_id`.
    pub pos_item_id: String,
    pub name: String,
    /// The variation's name (Square).
    #[oai(nullable)]
    pub variation_name: Option<String>,
    /// Minor units; null when the POS prices it at sale time.
    #[oai(nullable)]
    pub price: Option<i64>,
    #[oai(nullable)]
    pub currency: Option<String>,
    #[oai(nullable)]
    pub sku: Option<String>,
}

impl From<CatalogItem> for CatalogItemOut {
    fn from(i: CatalogItem) -> Self {
        CatalogItemOut {
            pos_item_id: i.pos_item_id,
            name: i.name,
            variation_name: i.variation_name,
            price: i.price,
            currency: i.currency,
            sku: i.sku,
        }
    }
}

/// A page of the POS catalog.
#[derive(Debug, Object)]
pub struct CatalogData {
    pub items: Vec<CatalogItemOut>,
    #[oai(flatten)]
    pub page: PageInfo,
    /// When possync read this catalog from the POS.
    pub fetched_at: Timestamp,
}

/// A dish's mapping status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum MappingStatusOut {
    /// Mapped to an item the catalog has (or there is no catalog to check against).
    Mapped,
    /// Not mapped: sent as an ad hoc line by name.
    Unmapped,
    /// Mapped to an id the catalog no longer has: the POS would reject it.
    Missing,
    /// Mapped, and the POS price differs from the dish price (the dish price is sent).
    PriceDiffers,
}

impl From<MappingStatus> for MappingStatusOut {
    fn from(s: MappingStatus) -> Self {
        match s {
            MappingStatus::Mapped => MappingStatusOut::Mapped,
            MappingStatus::Unmapped => MappingStatusOut::Unmapped,
            MappingStatus::Missing => MappingStatusOut::Missing,
            MappingStatus::PriceDiffers => MappingStatusOut::PriceDiffers,
        }
    }
}

/// A catalog entry whose name matches the dish's.
#[derive(Debug, Object)]
pub struct SuggestionOut {
    pub pos_item_id: String,
    pub name: String,
    #[oai(nullable)]
    pub variation_name: Option<String>,
    /// 1.0 for an exact match of the normalised names; otherwise below 1, never below 0.8.
    pub score: f64,
}

/// A dish and its mapping.
#[derive(Debug, Object)]
pub struct DishMappingOut {
    pub dish_id: Id,
    pub name: String,
    /// Minor units.
    pub price: i64,
    #[oai(nullable)]
    pub pos_item_id: Option<String>,
    /// The catalog entry's name, `"<item> (<variation>)"`, when the catalog has it.
    #[oai(nullable)]
    pub pos_item_name: Option<String>,
    pub status: MappingStatusOut,
    /// For an unmapped or missing dish, the best name match in the catalog.
    #[oai(nullable)]
    pub suggestion: Option<SuggestionOut>,
}

impl From<DishMapping> for DishMappingOut {
    fn from(d: DishMapping) -> Self {
        DishMappingOut {
            dish_id: Id::of(d.dish_id),
            name: d.name,
            price: d.price,
            pos_item_id: d.pos_item_id,
            pos_item_name: d.pos_item_name,
            status: d.status.into(),
            suggestion: d.suggestion.map(|s| SuggestionOut {
                pos_item_id: s.pos_item_id,
                name: s.name,
                variation_name: s.variation_name,
                score: s.score,
            }),
        }
    }
}

/// Dishes per mapping status.
#[derive(Debug, Object)]
pub struct CoverageOut {
    pub total: i64,
    pub mapped: i64,
    pub unmapped: i64,
    pub missing: i64,
    pub price_differs: i64,
}

impl From<Coverage> for CoverageOut {
    fn from(c: Coverage) -> Self {
        CoverageOut {
            total: c.total,
            mapped: c.mapped,
            unmapped: c.unmapped,
            missing: c.missing,
            price_differs: c.price_differs,
        }
    }
}

/// Every dish of a business with its mapping status.
#[derive(Debug, Object)]
pub struct MappingData {
    pub dishes: Vec<DishMappingOut>,
    pub coverage: CoverageOut,
    /// When the catalog compared against was read; null without a catalog (Dine, or the POS
    /// unreachable with nothing cached).
    #[oai(nullable)]
    pub catalog_fetched_at: Option<Timestamp>,
}

/// Which suggestions to write into `item_mapping`.
#[derive(Debug, Object)]
pub struct ApplySuggestionsRequest {
    /// Only suggestions scoring at least this (0.8 to 1.0, default 1.0: exact matches).
    #[oai(validator(minimum(value = "0.8"), maximum(value = "1.0")))]
    pub min_score: Option<f64>,
    /// Only these dishes (default: every unmapped or missing dish).
    #[oai(validator(max_items = 1000))]
    pub dish_ids: Option<Vec<Uuid>>,
}

/// What apply-suggestions wrote.
#[derive(Debug, Object)]
pub struct AppliedData {
    /// How many dishes were mapped.
    pub applied: i64,
    pub integration: IntegrationOut,
}
