//! Zoho Inventory's items (`GET /items`, 200 a page until `page_context.has_more_page` is
//! false), read for item mapping. Inactive items are left out.

use serde_json::Value;

use super::client::{Failed, ZohoClient, id_text};
use crate::crypto::Secret;
use crate::domain::Currency;
use crate::providers::Outcome;
use crate::providers::catalog::{CatalogError, CatalogItem, PosCatalog, minor_units};
use crate::store::Integration;

/// Zoho's largest page.
const PER_PAGE: &str = "200";
/// 200,000 items: beyond any restaurant; a `has_more_page` that never ends is Zoho's fault.
const MAX_PAGES: usize = 1_000;

/// Zoho's items, through the push client's connection and data-centre choice.
pub struct ZohoItems(pub ZohoClient);

impl PosCatalog for ZohoItems {
    fn items(
        &self,
        integration: &Integration,
        access_token: &Secret,
        currency: Currency,
    ) -> Result<Vec<CatalogItem>, CatalogError> {
        let mut items = Vec::new();
        for page in 1..=MAX_PAGES {
            let page_text = page.to_string();
            let query = [("page", page_text.as_str()), ("per_page", PER_PAGE)];
            let (_, body) = self
                .0
                .call_for(integration, access_token, "GET", "/items", &query, None)
                .map_err(|Failed(result)| match result.outcome {
                    Outcome::AuthFailed { error } | Outcome::Forbidden { error } => {
                        CatalogError::Unauthorized(error)
                    }
                    Outcome::Transient { error }
                    | Outcome::Ambiguous { error }
                    | Outcome::RateLimited { error, .. }
                    | Outcome::Rejected { error }
                    | Outcome::Stale { error }
                    | Outcome::Fallback { error } => CatalogError::Failed(error),
                    Outcome::Success => CatalogError::Failed("Zoho answered without items".into()),
                })?;
            items.extend(active_items(&body, currency));
            let more = body
                .pointer("/page_context/has_more_page")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            if !more {
                return Ok(items);
            }
        }
        Err(CatalogError::Failed(format!(
            "Zoho's item list did not end after {MAX_PAGES} pages"
        )))
    }
}

fn active_items(body: &Value, currency: Currency) -> Vec<CatalogItem> {
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    body.get("items")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|i| text(i, "status").as_deref() != Some("inactive"))
        .filter_map(|i| {
            Some(CatalogItem {
                pos_item_id: i.get("item_id").map(id_text)?,
                name: text(i, "name").unwrap_or_default(),
                variation_name: None,
                price: i
                    .get("rate")
                    .and_then(Value::as_f64)
                    .and_then(|r| minor_units(r, currency)),
                currency: Some(currency.code().to_string()),
                sku: text(i, "sku").filter(|s| !s.is_empty()),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::domain::Currency;

    #[test]
    fn inactive_items_are_left_out_and_rates_become_minor_units() {
        let body = json!({"code": 0, "items": [
            {"item_id": 4815000000044100_u64, "name": "Dal Makhani", "rate": 250.5,
             "status": "active", "sku": "DM"},
            {"item_id": "4815000000044101", "name": "Old Special", "rate": 100,
             "status": "inactive"},
            {"item_id": "4815000000044102", "name": "Lassi", "rate": 80, "sku": ""}
        ]});
        let got = super::active_items(&body, Currency::INR);
        let ids: Vec<&str> = got.iter().map(|i| i.pos_item_id.as_str()).collect();
        assert_eq!(ids, ["4815000000044100", "4815000000044102"]);
        assert_eq!(got[0].price, Some(25050));
        assert_eq!(got[1].price, Some(8000));
        assert_eq!(got[1].sku, None);
    }
}
