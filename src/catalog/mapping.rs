//! The mapping view: each dish's mapping status against the POS catalog, coverage counts, and
//! a name-match suggestion for each dish that is unmapped or mapped to a missing item. Pure.

use std::collections::{BTreeMap, HashMap};

use super::matching;
use crate::store::Dish;
use crate::store::catalog::CatalogItem;

/// Where a dish stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MappingStatus {
    /// Mapped to an item the catalog has (or no catalog to check against).
    Mapped,
    /// Not mapped: sent as an ad hoc line by name.
    Unmapped,
    /// Mapped to an id the catalog no longer has: the POS would reject it.
    Missing,
    /// Mapped, and the POS price differs from the dish price (the dish price is still sent).
    PriceDiffers,
}

/// A suggested catalog entry for a dish.
#[derive(Debug, Clone, PartialEq)]
pub struct Suggestion {
    pub pos_item_id: String,
    pub name: String,
    pub variation_name: Option<String>,
    /// 1.0 for an exact normalised match; below 1 otherwise, never below 0.8.
    pub score: f64,
}

/// One dish in the view.
#[derive(Debug, Clone, PartialEq)]
pub struct DishMapping {
    pub dish_id: String,
    pub name: String,
    pub price: i64,
    pub pos_item_id: Option<String>,
    /// The catalog entry's name (`"<item> (<variation>)"`), when the catalog has it.
    pub pos_item_name: Option<String>,
    pub status: MappingStatus,
    pub suggestion: Option<Suggestion>,
}

/// Dishes per status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Coverage {
    pub total: i64,
    pub mapped: i64,
    pub unmapped: i64,
    pub missing: i64,
    pub price_differs: i64,
}

/// How an entry is shown: `"<item> (<variation>)"`, or the item name alone.
pub fn display_name(entry: &CatalogItem) -> String {
    match entry.variation_name.as_deref().filter(|v| !v.is_empty()) {
        Some(v) => format!("{} ({v})", entry.name),
        None => entry.name.clone(),
    }
}

/// The view of `dishes` under `mapping`, against `catalog` when there is one (without one,
/// statuses are only mapped/unmapped and there are no suggestions).
pub fn view(
    dishes: &[Dish],
    mapping: &BTreeMap<String, String>,
    catalog: Option<&[CatalogItem]>,
) -> (Vec<DishMapping>, Coverage) {
    let by_id: HashMap<&str, &CatalogItem> = catalog
        .unwrap_or_default()
        .iter()
        .map(|e| (e.pos_item_id.as_str(), e))
        .collect();
    let mut coverage = Coverage::default();
    let rows = dishes
        .iter()
        .map(|dish| {
            let pos_item_id = mapping.get(&dish.id).cloned();
            let entry = pos_item_id.as_deref().and_then(|id| by_id.get(id).copied());
            let status = match (&pos_item_id, catalog, entry) {
                (None, _, _) => MappingStatus::Unmapped,
                (Some(_), None, _) => MappingStatus::Mapped,
                (Some(_), Some(_), None) => MappingStatus::Missing,
                (Some(_), Some(_), Some(e)) if e.price.is_some_and(|p| p != dish.price) => {
                    MappingStatus::PriceDiffers
                }
                (Some(_), Some(_), Some(_)) => MappingStatus::Mapped,
            };
            let suggestion = match (status, catalog) {
                (MappingStatus::Unmapped | MappingStatus::Missing, Some(catalog)) => {
                    matching::best(&dish.name, catalog).map(|(e, score)| Suggestion {
                        pos_item_id: e.pos_item_id.clone(),
                        name: e.name.clone(),
                        variation_name: e.variation_name.clone(),
                        score,
                    })
                }
                _ => None,
            };
            coverage.total += 1;
            *match status {
                MappingStatus::Mapped => &mut coverage.mapped,
                MappingStatus::Unmapped => &mut coverage.unmapped,
                MappingStatus::Missing => &mut coverage.missing,
                MappingStatus::PriceDiffers => &mut coverage.price_differs,
            } += 1;
            DishMapping {
                dish_id: dish.id.clone(),
                name: dish.name.clone(),
                price: dish.price,
                pos_item_id,
                pos_item_name: entry.map(display_name),
                status,
                suggestion,
            }
        })
        .collect();
    (rows, coverage)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Currency;

    fn dish(id: &str, name: &str, price: i64) -> Dish {
        Dish {
            id: id.into(),
            business_id: "b".into(),
            name: name.into(),
            price,
            currency: Currency::INR,
            created_at: 0,
        }
    }

    fn entry(id: &str, name: &str, variation: Option<&str>, price: Option<i64>) -> CatalogItem {
        CatalogItem {
            pos_item_id: id.into(),
            name: name.into(),
            variation_name: variation.map(str::to_string),
            price,
            currency: Some("INR".into()),
            sku: None,
        }
    }

    #[test]
    fn each_dish_gets_its_status_and_the_unmapped_a_suggestion() {
        let dishes = [
            dish("d1", "Paneer Tikka", 30000),
            dish("d2", "Butter Naan", 6000),
            dish("d3", "Dal Makhani", 25000),
            dish("d4", "Masala Dosa", 12000),
            dish("d5", "Chole Bhature", 15000),
            dish("d6", "Lassi", 8000),
        ];
        let catalog = [
            entry("V1", "Paneer Tikka", Some("Regular"), Some(30000)),
            entry("V2", "Butter Naan", None, Some(6500)),
            entry("V3", "Dal Makhni", None, Some(25000)),
            entry("V4", "Masala Dosa", None, None),
            entry("V5", "Lassi", Some("Sweet"), Some(8000)),
        ];
        let mapping = BTreeMap::from([
            ("d1".to_string(), "V1".to_string()),
            ("d2".to_string(), "V2".to_string()),
            ("d3".to_string(), "GONE".to_string()),
            ("d4".to_string(), "V4".to_string()),
        ]);
        let (rows, coverage) = view(&dishes, &mapping, Some(&catalog));
        type Row<'a> = (
            &'a str,
            MappingStatus,
            Option<&'a str>,
            Option<(&'a str, f64)>,
        );
        let got: Vec<Row<'_>> = rows
            .iter()
            .map(|r| {
                (
                    r.dish_id.as_str(),
                    r.status,
                    r.pos_item_name.as_deref(),
                    r.suggestion
                        .as_ref()
                        .map(|s| (s.pos_item_id.as_str(), s.score)),
                )
            })
            .collect();
        use MappingStatus::*;
        assert_eq!(
            got,
            [
                ("d1", Mapped, Some("Paneer Tikka (Regular)"), None),
                ("d2", PriceDiffers, Some("Butter Naan"), None),
                ("d3", Missing, None, Some(("V3", 0.982))),
                // Variable pricing has no price to differ from.
                ("d4", Mapped, Some("Masala Dosa"), None),
                ("d5", Unmapped, None, None),
                ("d6", Unmapped, None, Some(("V5", 1.0))),
            ]
        );
        assert_eq!(
            coverage,
            Coverage {
                total: 6,
                mapped: 2,
                unmapped: 2,
                missing: 1,
                price_differs: 1
            }
        );
    }

    #[test]
    fn without_a_catalog_dishes_are_only_mapped_or_unmapped() {
        let dishes = [dish("d1", "Paneer Tikka", 30000), dish("d2", "Lassi", 8000)];
        let mapping = BTreeMap::from([("d1".to_string(), "ANY".to_string())]);
        let (rows, coverage) = view(&dishes, &mapping, None);
        let got: Vec<_> = rows
            .iter()
            .map(|r| (r.status, r.suggestion.is_none()))
            .collect();
        assert_eq!(
            got,
            [
                (MappingStatus::Mapped, true),
                (MappingStatus::Unmapped, true)
            ]
        );
        assert_eq!(
            (coverage.mapped, coverage.unmapped, coverage.total),
            (1, 1, 2)
        );
    }
}
