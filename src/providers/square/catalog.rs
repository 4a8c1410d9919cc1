//! Square's catalog (`GET /v2/catalog/list?types=ITEM`, every page) and locations
//! (`GET /v2/locations`), read for item mapping and to check a `location_id`.

use std::time::Duration;

use serde_json::Value;

use super::classify::describe_errors;
use crate::crypto::Secret;
use crate::domain::{Currency, ProviderKind};
use crate::providers::catalog::{CatalogError, CatalogItem, Location, PosCatalog};
use crate::providers::http;
use crate::store::Integration;

/// More pages than any real catalog has (100 objects a page): a cursor that never ends is a
/// fault of the POS, not a reason to loop for ever.
const MAX_PAGES: usize = 1_000;

/// Square's Catalog and Locations APIs.
pub struct SquareCatalog {
    agent: http::PosAgent,
    base_url: String,
    version: String,
}

impl SquareCatalog {
    /// A reader for `base_url` and API `version`.
    pub fn new(base_url: &str, version: &str, timeout: Duration) -> SquareCatalog {
        SquareCatalog {
            agent: http::pos_agent(timeout, ProviderKind::Square),
            base_url: base_url.trim_end_matches('/').to_string(),
            version: version.to_string(),
        }
    }

    /// `GET path` with Square's headers: the parsed body of a 2xx answer.
    fn get(
        &self,
        path: &str,
        query: &[(&str, &str)],
        access_token: &Secret,
    ) -> Result<Value, CatalogError> {
        let mut req = self
            .agent
            .shard()
            .get(format!("{}{path}", self.base_url))
            .header("Authorization", format!("Bearer {}", access_token.expose()))
            .header("Square-Version", &self.version)
            .header("Accept", "application/json");
        for (k, v) in query {
            req = req.query(*k, *v);
        }
        let answer = req
            .call()
            .map_err(|e| http::describe(&e))
            .and_then(http::read)
            .map_err(|e| CatalogError::Failed(format!("Square could not be reached: {e}")))?;
        if !(200..300).contains(&answer.status) {
            let (message, _) = describe_errors(answer.status, &answer.body);
            return Err(match answer.status {
                401 | 403 => CatalogError::Unauthorized(message),
                _ => CatalogError::Failed(message),
            });
        }
        serde_json::from_str(&answer.body).map_err(|e| {
            CatalogError::Failed(format!(
                "Square answered HTTP {} with no JSON: {e}",
                answer.status
            ))
        })
    }
}

impl PosCatalog for SquareCatalog {
    fn items(
        &self,
        _integration: &Integration,
        access_token: &Secret,
        _currency: Currency,
    ) -> Result<Vec<CatalogItem>, CatalogError> {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut query = vec![("types", "ITEM")];
            if let Some(c) = cursor.as_deref() {
                query.push(("cursor", c));
            }
            let page = self.get("/v2/catalog/list", &query, access_token)?;
            items.extend(variations(&page));
            match page.get("cursor").and_then(Value::as_str) {
                Some(next) if !next.is_empty() && Some(next) != cursor.as_deref() => {
                    cursor = Some(next.to_string());
                }
                _ => return Ok(items),
            }
        }
        Err(CatalogError::Failed(format!(
            "Square's catalog did not end after {MAX_PAGES} pages"
        )))
    }

    fn locations(&self, access_token: &Secret) -> Option<Result<Vec<Location>, String>> {
        let answer = self
            .get("/v2/locations", &[], access_token)
            .map_err(|e| e.message().to_string());
        Some(answer.map(|body| locations(&body)))
    }
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_string)
}

/// One entry per ITEM_VARIATION of the page's (not deleted) ITEMs.
fn variations(page: &Value) -> Vec<CatalogItem> {
    let objects = page.get("objects").and_then(Value::as_array);
    let live = |o: &&Value| o.get("is_deleted").and_then(Value::as_bool) != Some(true);
    objects
        .into_iter()
        .flatten()
        .filter(live)
        .filter(|o| o.get("type").and_then(Value::as_str) == Some("ITEM"))
        .flat_map(|item| {
            let data = &item["item_data"];
            let name = text(data, "name").unwrap_or_default();
            data.get("variations")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter(live)
                .filter_map(move |v| {
                    let vd = &v["item_variation_data"];
                    let fixed =
                        vd.get("pricing_type").and_then(Value::as_str) != Some("VARIABLE_PRICING");
                    let money = &vd["price_money"];
                    Some(CatalogItem {
                        pos_item_id: text(v, "id")?,
                        name: name.clone(),
                        variation_name: text(vd, "name"),
                        price: money
                            .get("amount")
                            .and_then(Value::as_i64)
                            .filter(|_| fixed),
                        currency: text(money, "currency"),
                        sku: text(vd, "sku"),
                    })
                })
        })
        .collect()
}

fn locations(body: &Value) -> Vec<Location> {
    body.get("locations")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|l| {
            Some(Location {
                id: text(l, "id")?,
                name: text(l, "name").unwrap_or_default(),
                active: text(l, "status").as_deref() == Some("ACTIVE"),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn one_entry_per_live_variation() {
        let page = json!({"objects": [
            {"type": "ITEM", "id": "I1", "item_data": {"name": "Paneer Tikka", "variations": [
                {"type": "ITEM_VARIATION", "id": "V1", "item_variation_data": {
                    "name": "Half", "pricing_type": "FIXED_PRICING", "sku": "PT-H",
                    "price_money": {"amount": 18000, "currency": "INR"}}},
                {"type": "ITEM_VARIATION", "id": "V2", "item_variation_data": {
                    "name": "Market price", "pricing_type": "VARIABLE_PRICING"}},
                {"type": "ITEM_VARIATION", "id": "V3", "is_deleted": true,
                 "item_variation_data": {"name": "Gone"}}]}},
            {"type": "ITEM", "id": "I2", "is_deleted": true, "item_data": {"name": "Old",
                "variations": [{"type": "ITEM_VARIATION", "id": "V9"}]}},
            {"type": "MODIFIER_LIST", "id": "M1"}
        ]});
        let got = super::variations(&page);
        let ids: Vec<&str> = got.iter().map(|i| i.pos_item_id.as_str()).collect();
        assert_eq!(ids, ["V1", "V2"]);
        assert_eq!(got[0].price, Some(18000));
        assert_eq!(got[0].variation_name.as_deref(), Some("Half"));
        assert_eq!(got[0].sku.as_deref(), Some("PT-H"));
        assert_eq!(got[1].price, None, "variable pricing has no price");
    }
}
